"""Client-side pacing to the SSM plan's request rate.

SSM plans allow 4 or 13 requests per second per API key. Rather than discover the limit through
429 answers, every request first takes a slot from :class:`RequestPacer`, which spaces slots
``1 / rate`` seconds apart (a token bucket of capacity one: no bursts, so a burst can never
exceed the plan). It is thread-safe: a slot is reserved under the lock and the wait happens
outside it, so concurrent callers queue in order without holding each other up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class RequestPacer:
    def __init__(
        self,
        requests_per_second: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if not requests_per_second > 0:
            raise ValueError(f"requests_per_second must be positive, got {requests_per_second!r}")
        self.requests_per_second = float(requests_per_second)
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
