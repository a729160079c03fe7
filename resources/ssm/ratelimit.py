"""Client-side pacing to the SSM plan's request rate.

SSM plans allow 4 or 13 requests per second per API key. Rather than discover the limit through
429 answers, every request first takes a slot from a pacer, which spaces slots ``1 / rate``
seconds apart (a token bucket of capacity one: no bursts, so a burst can never exceed the plan).

* :class:`RequestPacer` paces the callers of one process. It is thread-safe: a slot is reserved
  under the lock and the wait happens outside it, so concurrent callers queue in order.
* :class:`SharedPacer` paces every process of this host that calls the same tenant: the next free
  slot lives in a small file (one per tenant) that each reservation locks for a few microseconds.
  The sync, the quote job, the reverse flow's sensors and the runs of several Sage companies then
  share the tenant's rate instead of each taking all of it, so no run has to hold a Dagster pool
  for its whole length just to stay under the limit.

The lock is portalocker's (flock on POSIX, LockFileEx on Windows). Slots are wall-clock seconds
(``time.time``), the one clock all processes of a host agree on.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

import portalocker

# A slot further ahead than this is stale (a clock stepped back, a file from an old run): the
# longest Retry-After the client honours is 30 s, so nothing legitimate reserves this far ahead.
_STALE_AHEAD_SECONDS = 300.0
_SLOT = struct.Struct("<d")


class Pacer(Protocol):
    def acquire(self) -> None: ...

    def hold(self, seconds: float) -> None: ...


def _checked_rate(requests_per_second: float) -> float:
    if not requests_per_second > 0:
        raise ValueError(f"requests_per_second must be positive, got {requests_per_second!r}")
    return float(requests_per_second)


class RequestPacer:
    """One process's pace (see the module docstring)."""

    def __init__(
        self,
        requests_per_second: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.requests_per_second = _checked_rate(requests_per_second)
        self._interval = 1.0 / self.requests_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = float("-inf")

    def acquire(self) -> None:
        """Block until this caller may send one request."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (SSM asked us to back off with Retry-After)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)


def pace_file(directory: str | Path, base_url: str, public_key: str) -> Path:
    """The file that holds one tenant's next slot: one per API key and address (the rate is per
    key), named by a digest so neither appears in a file name."""
    digest = hashlib.sha256(f"{base_url.rstrip('/')}\n{public_key}".encode()).hexdigest()[:16]
    return Path(directory) / f"ssm-{digest}.pace"


class SharedPacer:
    """Every process of this host calling one tenant, paced together (see the module docstring).

    Each process may set its own rate: a reservation moves the shared slot on by this process's
    interval, so a process configured for 4 requests/s never sends faster than that, whatever
    the others do, and all of them together stay under the fastest one's rate."""

    def __init__(
        self,
        requests_per_second: float,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.requests_per_second = _checked_rate(requests_per_second)
        self._interval = 1.0 / self.requests_per_second
        self.path = Path(path)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()  # the OS lock is per open file, not per thread
        self._file: BinaryIO | None = None

    def _opened(self) -> BinaryIO:
        if self._file is None or self._file.closed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # "a+b" creates the file without truncating what another process wrote
            self._file = open(self.path, "a+b")  # noqa: SIM115 - kept open between reservations
        return self._file

    def _reserve(self, taking: Callable[[float, float], tuple[float, float]]) -> float:
        """Under the thread and file locks: read the next free slot, let `taking(now, slot)`
        say (our slot, the new next slot), write it back; return our slot minus now."""
        with self._lock:
            file = self._opened()
            portalocker.lock(file, portalocker.LOCK_EX)
            try:
                file.seek(0)
                raw = file.read(_SLOT.size)
                now = self._clock()
                slot = _SLOT.unpack(raw)[0] if len(raw) == _SLOT.size else float("-inf")
                if slot > now + _STALE_AHEAD_SECONDS:
                    slot = float("-inf")
                ours, following = taking(now, slot)
                file.seek(0)
                file.truncate()
                file.write(_SLOT.pack(following))
                file.flush()
            finally:
                portalocker.unlock(file)
        return ours - now

    def acquire(self) -> None:
        """Block until this caller may send one request."""
        wait = self._reserve(lambda now, slot: (max(now, slot), max(now, slot) + self._interval))
        if wait > 0:
            self._sleep(wait)

    def hold(self, seconds: float) -> None:
        """Nobody on this host sends to the tenant for ``seconds`` from now (a Retry-After)."""
        self._reserve(lambda now, slot: (now, max(slot, now + seconds)))

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
