"""The DuckDB warehouse, opened so that a busy file makes a run wait, never fail.

DuckDB lets one process write a database file, and refuses a read-only process while another one
writes. The Dagster pool `warehouse` serialises the sage, staging and derived assets, but the SSM
pushes (pool `ssm_api`), asset checks and sensors open the same file from other processes, and
dagster-duckdb only retries a refused connect for about 100 s (10 backoffs from 0.1 s, doubling).
So every connection first takes an OS lock on `<database>.lock` (exclusive to write, shared to
read) and holds it until the connection closes: the next writer queues behind a long extract.

A run keeps its connection for the whole run (see WarehouseResource), so a short run (a quote,
a sensor's read) would wait for a whole sync. A process that has to wait announces itself with a
locked file in `<database>.lock.waiting/`; a run that sees one lets go of the file as soon as its
current step has closed its cursors, lets the waiter in, and opens the file again on next use.
The lock is portalocker's, so the same code runs on POSIX (flock) and on Windows (LockFileEx, a
mandatory byte-range lock: hence a lock file beside the database, never the database itself).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import portalocker
import tenacity
from dagster import InitResourceContext
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from resources.liveness import Heartbeat, start_heartbeat
from resources.run_scope import RunScope

# Room for the longest writer we expect (a large company's first load or a multi-year backfill).
DEFAULT_LOCK_TIMEOUT_SECONDS = 2 * 3600.0
# Poll interval while waiting: the OS lock has no timeout of its own, and a signal-based timeout
# only works on the main thread (sensors run on others).
_POLL_SECONDS = (0.05, 0.5)
# dagster-duckdb's retries of a refused connect (0.1 s doubling, ~100 s in all), kept for a
# process that opens the file without the lock (a duckdb CLI left open).
_CONNECT_RETRIES = 10
# How long a run that let go of the file for waiters lets them in before it queues again: a
# waiter polls the lock every 0.5 s at most and removes its announcement once it holds the lock.
_GIVE_WAY_SECONDS = 10.0


class WarehouseBusyError(Exception):
    """Another process held the warehouse for longer than the resource was allowed to wait."""


@dataclass
class _FileLock:
    """This process's hold on one warehouse's lock file, shared by all its open connections.

    The OS lock belongs to an open file (flock) or to a handle (Windows), so a second open in the
    same process would wait for itself: a process opens each lock file once and counts its
    connections (nested or threads), and never asks the OS for the same lock twice.
    """

    guard: threading.Lock = field(default_factory=threading.Lock)
    fd: int | None = None
    exclusive: bool = False
    connections: int = 0


# One small entry per warehouse file this process opened; never removed, so threads never race
# on a stale entry.
_file_locks: dict[str, _FileLock] = {}
_registry_guard = threading.Lock()


def _forget_parent_locks() -> None:
    """A forked child owns neither its parent's locks nor a thread lock held at fork time."""
    global _registry_guard
    _file_locks.clear()
    _registry_guard = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX only: Windows starts processes without fork
    os.register_at_fork(after_in_child=_forget_parent_locks)


def lock_path(database: str) -> Path | None:
    """The lock file of a DuckDB database, or None when there is no local file to share
    (in-memory, MotherDuck)."""
    if not database or database == ":memory:" or database.startswith(("md:", "motherduck:")):
        return None
    return Path(f"{database}.lock").resolve()


def _waiting_room(path: Path) -> Path:
    return path.with_name(path.name + ".waiting")


@contextmanager
def _announced(path: Path) -> Iterator[None]:
    """A file in the waiting room, locked for as long as this process waits for `path`: a
    process that dies while waiting leaves an unlocked file, which `waiters` clears."""
    room = _waiting_room(path)
    room.mkdir(parents=True, exist_ok=True)
    mark = room / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    fd = os.open(mark, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        portalocker.lock(fd, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
        yield
    finally:
        os.close(fd)  # closing the file drops its lock on every platform
        mark.unlink(missing_ok=True)


def waiters(database: str) -> int:
    """How many other processes wait for this warehouse's file (stale announcements removed)."""
    path = lock_path(database)
    if path is None:
        return 0
    try:
        marks = list(os.scandir(_waiting_room(path)))
    except FileNotFoundError:
        return 0
    mine = f"{os.getpid()}-"
    live = 0
    for mark in marks:
        if mark.name.startswith(mine):
            continue
        try:
            fd = os.open(mark.path, os.O_RDWR)
        except OSError:  # gone meanwhile, or (Windows) being removed
            continue
        try:
            portalocker.lock(fd, portalocker.LockFlags.SHARED | portalocker.LockFlags.NON_BLOCKING)
        except portalocker.AlreadyLocked:
            live += 1
            os.close(fd)
            continue
        os.close(fd)
        try:  # nobody holds it: its process died while it waited
            os.unlink(mark.path)
        except OSError:
            pass
    return live


def _give_way(database: str) -> None:
    """Let the processes already waiting take the file first (bounded: a waiter that does not
    come within _GIVE_WAY_SECONDS is queued behind again)."""
    deadline = time.monotonic() + _GIVE_WAY_SECONDS
    while waiters(database) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS[0])


def _busy(database: str, timeout_seconds: float) -> WarehouseBusyError:
    return WarehouseBusyError(
        f"The warehouse {database} stayed locked by another run for {timeout_seconds:g} s: let "
        f"that run finish (or raise WAREHOUSE_LOCK_TIMEOUT_SECONDS) and start this one again."
    )


def _take_lock(fd: int, exclusive: bool, database: str, timeout_seconds: float) -> None:
    """Take the OS lock, polling until `timeout_seconds` have passed."""
    kind = portalocker.LockFlags.EXCLUSIVE if exclusive else portalocker.LockFlags.SHARED
    mode = kind | portalocker.LockFlags.NON_BLOCKING
    try:
        portalocker.lock(fd, mode)
        return
    except portalocker.AlreadyLocked:
        pass
    path = lock_path(database)
    assert path is not None  # only files have a lock to wait for
    deadline = time.monotonic() + timeout_seconds
    delay = _POLL_SECONDS[0]
    with _announced(path):  # the holder's run lets go at its next step boundary
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _busy(database, timeout_seconds)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_SECONDS[1])
            try:
                portalocker.lock(fd, mode)
                return
            except portalocker.AlreadyLocked:
                pass


@contextmanager
def warehouse_lock(
    database: str, *, read_only: bool, timeout_seconds: float, give_way: bool = False
) -> Iterator[None]:
    """Hold `<database>.lock` (shared when `read_only`, else exclusive) for the `with` block;
    with `give_way`, first let the processes waiting for it in."""
    path = lock_path(database)
    if path is None:
        yield
        return
    with _registry_guard:
        lock = _file_locks.setdefault(str(path), _FileLock())
    if not lock.guard.acquire(timeout=max(timeout_seconds, 0)):
        raise _busy(database, timeout_seconds)  # another thread here is still waiting for it
    try:
        if lock.connections:
            if not read_only and not lock.exclusive:
                # DuckDB refuses a writing connection beside a read-only one in one process.
                raise WarehouseBusyError(
                    f"This process reads the warehouse {database} through a read-only "
                    f"connection: close it before opening one that writes."
                )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            if give_way:
                _give_way(database)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _take_lock(fd, not read_only, database, timeout_seconds)
            except BaseException:
                os.close(fd)
                raise
            lock.fd, lock.exclusive = fd, not read_only
        lock.connections += 1
    finally:
        lock.guard.release()
    try:
        yield
    finally:
        with lock.guard:
            lock.connections -= 1
            if not lock.connections and lock.fd is not None:
                try:
                    portalocker.unlock(lock.fd)
                finally:
                    os.close(lock.fd)  # never leak the descriptor, even if the unlock failed
                    lock.fd = None


@tenacity.retry(
    retry=tenacity.retry_if_exception_type((RuntimeError, duckdb.IOException)),
    wait=tenacity.wait_exponential(multiplier=0.1, exp_base=2, max=float("inf")),
    stop=tenacity.stop_after_attempt(_CONNECT_RETRIES + 1),
    reraise=True,
)
def _connect(
    database: str, read_only: bool, config: dict[str, object]
) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, retried while another opener (one without the lock) holds the file."""
    return duckdb.connect(database, read_only=read_only, config=config)


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse; every connection waits for its turn on the file (see the module).

    Inside a Dagster run the resource keeps one connection for the whole run: the first
    `get_connection` opens the file (and takes its lock), later ones get a cursor of it, and the
    run's end closes it. A sync asks for a connection about 160 times, and each open and close of
    the file (with its checkpoint) cost ~30 ms. When another process waits for the file, the run
    closes it once no cursor is in use (between steps) and reopens it after the waiter. Outside a
    run (tests, scripts) every `get_connection` opens and closes its own connection, as before.
    """

    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="How long a connection waits for another process to release the warehouse.",
    )
    _run: RunScope = PrivateAttr(default_factory=RunScope)
    _heartbeat: Heartbeat | None = PrivateAttr(default=None)
    _in_use: int = PrivateAttr(default=0)
    _use_guard: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _let_go: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._run.open()
        # Every job that does real work uses the warehouse: its run shows it is alive.
        self._heartbeat = start_heartbeat(context)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        self._run.close()

    @contextmanager
    def _open(self, read_only: bool, give_way: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        config = {"custom_user_agent": "dagster", **self.connection_config}
        with warehouse_lock(
            self.database,
            read_only=read_only,
            timeout_seconds=self.lock_timeout_seconds,
            give_way=give_way,
        ):
            con = _connect(self.database, read_only, config)
            try:
                yield con
            finally:
                con.close()

    def _run_connection(self) -> duckdb.DuckDBPyConnection:
        """The run's connection, reopened (after the waiters) if the run let go of it."""
        return self._run.shared(lambda: self._open(read_only=False, give_way=self._let_go))

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection that writes (the default) or only reads the warehouse; the file lock is
        held until the connection closes (in a run: until the run ends, or a waiter comes)."""
        if not self._run.active:
            with self._open(read_only) as con:
                yield con
            return
        with self._use_guard:
            self._in_use += 1
        try:
            # The run's connection is a writer; a cursor of it is DuckDB's own connection to the
            # same open database: its own transaction and temp objects, no reopening of the file.
            cursor = self._run_connection().cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            with self._use_guard:
                self._in_use -= 1
                if not self._in_use and waiters(self.database):
                    self._run.release()
                    self._let_go = True
