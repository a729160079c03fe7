"""The warehouse resource: processes take turns on the DuckDB file instead of failing on its lock."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import portalocker
import pytest

from resources.warehouse import WarehouseBusyError, WarehouseResource, waiters

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED, EXCLUSIVE = portalocker.LockFlags.SHARED, portalocker.LockFlags.EXCLUSIVE

EXTRACT_HOLDS_SECONDS = 3.0


def _open_warehouse(
    database: str,
    who: str,
    read_only: bool,
    hold_seconds: float,
    started: Barrier,
    extract_holds: Event,
    results: Any,
) -> None:
    """One process of the test: open the warehouse through the resource, write (or read), hold.

    Every refusal DuckDB gives (its lock conflict) is counted, even one the resource's retry
    would hide: with the file lock, a process waits before DuckDB ever sees a conflict.
    """
    conflicts = 0
    connect = duckdb.connect

    def counting_connect(*args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        nonlocal conflicts
        try:
            return connect(*args, **kwargs)
        except duckdb.IOException:
            conflicts += 1
            raise

    duckdb.connect = counting_connect  # type: ignore[assignment]
    started.wait(timeout=60)
    if who != "extract":
        extract_holds.wait(timeout=60)
    try:
        with WarehouseResource(database=database).get_connection(read_only=read_only) as con:
            if read_only:
                seen = con.execute("SELECT who FROM writes ORDER BY written_at").fetchall()
            else:
                con.execute("CREATE TABLE IF NOT EXISTS writes (who VARCHAR, written_at DOUBLE)")
                con.execute("INSERT INTO writes VALUES (?, ?)", [who, time.time()])
                seen = []
            if who == "extract":
                extract_holds.set()
            time.sleep(hold_seconds)
        results.put((who, "ok", conflicts, seen))
    except Exception as exc:  # reported to the test, which shows it
        results.put((who, f"{type(exc).__name__}: {exc}", conflicts, []))
    finally:
        extract_holds.set()  # a failed extract must not leave the others waiting


def test_processes_take_turns_on_the_warehouse_while_an_extract_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An extract writes and holds the warehouse for a few seconds in its own process; meanwhile
    a push (another writer, pool `ssm_api`: this test's process) and a check (a reader, a third
    process) open it. Both wait for the extract, then succeed; none meets DuckDB's lock."""
    database = str(tmp_path / "warehouse.duckdb")
    spawn = multiprocessing.get_context("spawn")
    started, extract_holds, results = spawn.Barrier(3), spawn.Event(), spawn.Queue()
    others = [
        spawn.Process(
            target=_open_warehouse,
            args=(database, who, read_only, hold, started, extract_holds, results),
        )
        for who, read_only, hold in [
            ("extract", False, EXTRACT_HOLDS_SECONDS),
            ("check", True, 0.0),
        ]
    ]
    for process in others:
        process.start()
    # This process counts its conflicts too: restore the real connect after the test.
    monkeypatch.setattr(duckdb, "connect", duckdb.connect)
    _open_warehouse(database, "push", False, 0.0, started, extract_holds, results)
    outcomes = {who: (status, conflicts, seen) for who, status, conflicts, seen in
                (results.get(timeout=60) for _ in range(3))}  # fmt: skip
    for process in others:
        process.join(timeout=30)
    assert {who: outcome[:2] for who, outcome in outcomes.items()} == {
        "extract": ("ok", 0),
        "push": ("ok", 0),
        "check": ("ok", 0),
    }
    with duckdb.connect(database, read_only=True) as con:
        writes = dict(con.execute("SELECT who, written_at FROM writes").fetchall())
    # The push wrote only once the extract had let go of the file; the check saw the extract's.
    assert writes["push"] - writes["extract"] >= EXTRACT_HOLDS_SECONDS * 0.9
    assert ("extract",) in outcomes["check"][2]


def _lock_file(database: Path) -> int:
    return os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT)


def _can_lock(database: Path, mode: portalocker.LockFlags) -> bool:
    """Whether another open file (as another process would) gets the lock right now; flock locks
    belong to an open file and Windows locks to a handle, so this works inside the test too."""
    fd = _lock_file(database)
    try:
        portalocker.lock(fd, mode | portalocker.LockFlags.NON_BLOCKING)
        portalocker.unlock(fd)
        return True
    except portalocker.AlreadyLocked:
        return False
    finally:
        os.close(fd)


def test_writer_holds_exclusive_reader_shared_and_both_release_on_close(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    warehouse = WarehouseResource(database=str(database))
    with warehouse.get_connection() as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        assert not _can_lock(database, SHARED)
    assert _can_lock(database, EXCLUSIVE)
    with warehouse.get_connection(read_only=True) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
        assert _can_lock(database, SHARED) and not _can_lock(database, EXCLUSIVE)
    assert _can_lock(database, EXCLUSIVE)


def test_nested_connections_of_one_process_do_not_wait_for_themselves(tmp_path: Path) -> None:
    warehouse = WarehouseResource(database=str(tmp_path / "w.duckdb"), lock_timeout_seconds=1)
    with warehouse.get_connection() as outer, warehouse.get_connection() as inner:
        inner.execute("CREATE TABLE t AS SELECT 1 AS x")
        assert outer.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_warehouse_held_too_long_stops_with_one_sentence(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    other_run = _lock_file(database)
    portalocker.lock(other_run, EXCLUSIVE)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError) as caught:
            with WarehouseResource(
                database=str(database), lock_timeout_seconds=0.3
            ).get_connection():
                pass
        assert 0.3 <= time.monotonic() - started < 5
    finally:
        os.close(other_run)
    message = str(caught.value)
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message
    assert str(database) in message and "WAREHOUSE_LOCK_TIMEOUT_SECONDS" in message
    # The lock is not left behind by the failed attempt.
    assert _can_lock(database, EXCLUSIVE)


def test_in_memory_warehouse_needs_no_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with WarehouseResource(database=":memory:").get_connection() as con:
        assert con.execute("SELECT 42").fetchall() == [(42,)]
    assert list(tmp_path.iterdir()) == []


def _hold_warehouse(database: str, read_only: bool, holding: Event, release: Event) -> None:
    """Another process: open the warehouse (to write, or only to read) and hold it until told."""
    with WarehouseResource(database=database).get_connection(read_only=read_only) as con:
        if not read_only:
            con.execute("CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS x")
        holding.set()
        release.wait(timeout=60)


@pytest.mark.parametrize("other_reads", [False, True], ids=["writer", "reader"])
def test_another_process_excludes_writers_and_readers_share(
    tmp_path: Path, other_reads: bool
) -> None:
    """A writer in another process keeps out this process's writer and reader (each stops with
    WarehouseBusyError); a reader there lets this process read, never write."""
    database = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(database) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    spawn = multiprocessing.get_context("spawn")
    holding, release = spawn.Event(), spawn.Event()
    other = spawn.Process(target=_hold_warehouse, args=(database, other_reads, holding, release))
    other.start()
    try:
        assert holding.wait(timeout=60), "the other process never opened the warehouse"
        here = WarehouseResource(database=database, lock_timeout_seconds=0.3)
        with pytest.raises(WarehouseBusyError):
            with here.get_connection():
                pass
        if other_reads:
            with here.get_connection(read_only=True) as con:
                assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
        else:
            with pytest.raises(WarehouseBusyError):
                with here.get_connection(read_only=True):
                    pass
    finally:
        release.set()
        other.join(timeout=30)
    assert other.exitcode == 0
    with WarehouseResource(database=database, lock_timeout_seconds=5).get_connection() as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_a_writer_beside_a_reader_of_this_process_is_refused_with_one_sentence(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "warehouse.duckdb")
    warehouse = WarehouseResource(database=database, lock_timeout_seconds=1)
    with warehouse.get_connection() as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    with warehouse.get_connection(read_only=True):
        with pytest.raises(WarehouseBusyError) as caught:
            with warehouse.get_connection():
                pass
    message = str(caught.value)
    assert message.endswith(".") and message.count(". ") == 0 and "read-only" in message


# Windows has neither fcntl nor os.register_at_fork: the module must neither import the one nor
# call the other unguarded. portalocker itself uses fcntl on POSIX (its own platform branch), so
# the child imports it first, then takes both away, then imports the module and locks with it.
_WITHOUT_POSIX_ONLY_CALLS = """
import os, sys
import portalocker

sys.modules["fcntl"] = None  # `import fcntl` now raises ImportError, as on Windows
del os.register_at_fork
from resources.warehouse import WarehouseResource

database = sys.argv[1]
writer = WarehouseResource(database=database, lock_timeout_seconds=0.3)
with writer.get_connection() as con:
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
with writer.get_connection(read_only=True) as con:
    assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
print("ok")
"""


def test_the_module_needs_no_posix_only_call(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_WITHOUT_POSIX_ONLY_CALLS), str(tmp_path / "w.db")],
        cwd=PROJECT_ROOT,  # `python -c` imports from its working directory
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def _write_when_let_in(database: str, run_holds: Event, results: Any) -> None:
    """Another process (a quote's run): open the warehouse while a sync's run holds it."""
    run_holds.wait(timeout=60)
    asked = time.monotonic()
    with WarehouseResource(database=database, lock_timeout_seconds=60).get_connection() as con:
        con.execute("INSERT INTO writes VALUES ('quote', ?)", [time.time()])
    results.put(time.monotonic() - asked)


def test_a_run_lets_a_waiting_process_in_between_its_steps(tmp_path: Path) -> None:
    """A run keeps its connection from step to step while nobody waits; once another process
    waits for the file, the run lets go of it when its step closes its cursor, the waiter gets
    in, and the run's next step reopens the file after it: the waiter never waits for the run's
    end."""
    database = str(tmp_path / "warehouse.duckdb")
    spawn = multiprocessing.get_context("spawn")
    run_holds, results = spawn.Event(), spawn.Queue()
    quote = spawn.Process(target=_write_when_let_in, args=(database, run_holds, results))
    quote.start()
    try:
        with dg.build_resources({"warehouse": WarehouseResource(database=database)}) as run:
            warehouse = run.warehouse
            with warehouse.get_connection() as con:
                con.execute("CREATE TABLE writes (who VARCHAR, written_at DOUBLE)")
            kept = warehouse._run._value
            with warehouse.get_connection() as con:  # nobody waits: the same connection
                assert warehouse._run._value is kept
                con.execute("INSERT INTO writes VALUES ('sync step 1', ?)", [time.time()])
                run_holds.set()
                deadline = time.monotonic() + 60
                while not waiters(database) and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert waiters(database) == 1, "the other process never waited"
            # The step is over: the run let go of the file, and lets the waiter in first.
            with warehouse.get_connection() as con:
                con.execute("INSERT INTO writes VALUES ('sync step 2', ?)", [time.time()])
                rows = con.execute("SELECT who FROM writes ORDER BY written_at").fetchall()
            assert _can_lock(Path(database), EXCLUSIVE) is False  # the run holds it again
        waited = results.get(timeout=60)
    finally:
        quote.join(timeout=30)
    assert [who for (who,) in rows] == ["sync step 1", "quote", "sync step 2"]
    assert waited < 10, f"the waiter waited {waited:.1f} s"
    assert waiters(database) == 0 and _can_lock(Path(database), EXCLUSIVE)


def test_an_announcement_left_by_a_dead_waiter_is_cleared(tmp_path: Path) -> None:
    database = str(tmp_path / "warehouse.duckdb")
    room = Path(f"{database}.lock.waiting")
    room.mkdir()
    (room / "999999-dead").touch()  # a waiter killed while it waited: its lock died with it
    assert waiters(database) == 0
    assert list(room.iterdir()) == []
