"""Misbehaviour on demand: injected faults, the rate limit, and the request counters.

Fault kinds (each a share of API calls, 0..1; the shares together at most 1):

  5xx          answer 500/502/503 (status drawn from `statuses_5xx`); nothing is written
  408          answer 408 Request Timeout; nothing is written
  hang         wait `hang_seconds` (past the client's timeout), then answer 504; nothing written
  drop         close the connection without any HTTP answer; nothing is written
  slow         wait `slow_seconds`, then handle the call normally
  429          answer 429 with Retry-After although the bucket has tokens (a burst)
  lost_answer  handle the call (the write is committed), then lose the answer as
               `lost_answer_mode` says: "drop" the connection, or answer "500" / "504".
               Drawn only for writes (POST/PUT/DELETE); a queued one applies to any call.

`queue` holds faults for the next matching calls, in order, before any random draw:
each item is a kind (also "500", "502", "503", "504" or "none") or an object
`{"kind": ..., "method": "POST", "resource": "products"}` that waits for a matching call.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = ("5xx", "408", "hang", "drop", "slow", "429", "lost_answer")
QUEUE_KINDS = (*FAULT_KINDS, "500", "502", "503", "504", "none")
LOST_ANSWER_MODES = ("drop", "500", "504")
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class FaultSettingsError(ValueError):
    """A fault configuration the sandbox cannot apply (answered with 400)."""


@dataclass(frozen=True)
class QueuedFault:
    kind: str
    method: str | None = None
    resource: str | None = None

    def matches(self, method: str, resource: str | None) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.resource and (resource is None or self.resource.lower() != resource.lower()):
            return False
        return True


@dataclass
class FaultSettings:
    shares: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0.0))
    hang_seconds: float = 35.0
    slow_seconds: float = 2.0
    lost_answer_mode: str = "drop"
    statuses_5xx: tuple[int, ...] = (500, 502, 503)
    include_login: bool = False
    seed: int | None = None
    queue: list[QueuedFault] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.shares,
            "hang_seconds": self.hang_seconds,
            "slow_seconds": self.slow_seconds,
            "lost_answer_mode": self.lost_answer_mode,
            "statuses_5xx": list(self.statuses_5xx),
            "login": self.include_login,
            "seed": self.seed,
            "queue": [asdict(item) for item in self.queue],
        }


def _share(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultSettingsError(f"'{key}' must be a number between 0 and 1")
    return float(value)


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise FaultSettingsError(f"'{key}' must be a number of seconds between 0 and 3600")
    return float(value)


def _queued(item: Any) -> QueuedFault:
    if isinstance(item, str):
        item = {"kind": item}
    if not isinstance(item, dict) or set(item) - {"kind", "method", "resource"}:
        raise FaultSettingsError("each queue item is a kind or {kind, method?, resource?}")
    kind = item.get("kind")
    if kind not in QUEUE_KINDS:
        raise FaultSettingsError(f"unknown fault kind {kind!r}; one of {', '.join(QUEUE_KINDS)}")
    method, resource = item.get("method"), item.get("resource")
    if method is not None and not isinstance(method, str):
        raise FaultSettingsError("queue item 'method' must be a string")
    if resource is not None and not isinstance(resource, str):
        raise FaultSettingsError("queue item 'resource' must be a string")
    return QueuedFault(kind, method.upper() if method else None, resource)


@dataclass(frozen=True)
class Decision:
    kind: str | None  # None: no fault
    status: int | None = None  # the status for 5xx kinds


class FaultInjector:
    """Draws the fault for each API call from the settings (seeded, so runs repeat)."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self.settings = settings or FaultSettings()
        self.lock = threading.Lock()
        self.random = random.Random(self.settings.seed)

    def update(self, changes: Any) -> FaultSettings:
        """Apply a partial JSON update (`PUT /sandbox/faults`); unknown keys are refused."""
        if not isinstance(changes, dict):
            raise FaultSettingsError("the body must be a JSON object")
        with self.lock:
            shares = dict(self.settings.shares)
            settings = FaultSettings(**{**self.settings.__dict__, "shares": shares})
            for key, value in changes.items():
                if key in FAULT_KINDS:
                    shares[key] = _share(key, value)
                elif key == "hang_seconds":
                    settings.hang_seconds = _seconds(key, value)
                elif key == "slow_seconds":
                    settings.slow_seconds = _seconds(key, value)
                elif key == "lost_answer_mode":
                    if value not in LOST_ANSWER_MODES:
                        raise FaultSettingsError(
                            f"'lost_answer_mode' must be one of {', '.join(LOST_ANSWER_MODES)}"
                        )
                    settings.lost_answer_mode = value
                elif key == "statuses_5xx":
                    if (
                        not isinstance(value, list)
                        or not value
                        or not all(isinstance(s, int) and 500 <= s <= 599 for s in value)
                    ):
                        raise FaultSettingsError("'statuses_5xx' must be a list of 5xx statuses")
                    settings.statuses_5xx = tuple(value)
                elif key == "login":
                    if not isinstance(value, bool):
                        raise FaultSettingsError("'login' must be true or false")
                    settings.include_login = value
                elif key == "seed":
                    if value is not None and (
                        isinstance(value, bool) or not isinstance(value, int)
                    ):
                        raise FaultSettingsError("'seed' must be an integer or null")
                    settings.seed = value
                elif key == "queue":
                    if not isinstance(value, list):
                        raise FaultSettingsError("'queue' must be a list")
                    settings.queue = [_queued(item) for item in value]
                else:
                    raise FaultSettingsError(f"unknown fault setting '{key}'")
            if sum(shares.values()) > 1 + 1e-9:
                raise FaultSettingsError("the fault shares add up to more than 1")
            self.settings = settings
            if "seed" in changes:
                self.random = random.Random(settings.seed)
            return settings

    def clear(self) -> None:
        with self.lock:
            self.settings = FaultSettings(
                hang_seconds=self.settings.hang_seconds, slow_seconds=self.settings.slow_seconds
            )
            self.random = random.Random(None)

    def decide(self, method: str, resource: str | None, is_login: bool) -> Decision:
        with self.lock:
            settings = self.settings
            if is_login and not settings.include_login:
                return Decision(None)
            for index, queued in enumerate(settings.queue):
                if queued.matches(method, resource):
                    del settings.queue[index]
                    return self._decision(queued.kind)
            draw = self.random.random()
            threshold = 0.0
            for kind in FAULT_KINDS:
                share = settings.shares.get(kind, 0.0)
                if share <= 0:
                    continue
                threshold += share
                if draw < threshold:
                    if kind == "lost_answer" and method not in WRITE_METHODS:
                        return Decision(None)
                    return self._decision(kind)
            return Decision(None)

    def _decision(self, kind: str) -> Decision:
        if kind == "none":
            return Decision(None)
        if kind in ("500", "502", "503", "504"):
            return Decision("5xx", int(kind))
        if kind == "5xx":
            return Decision("5xx", self.random.choice(self.settings.statuses_5xx))
        return Decision(kind)


class TokenBucket:
    """The API's rate limit: `rate` requests per second, bursts of up to `burst` requests.

    rate 0 (or None) switches the limit off.
    """

    def __init__(self, rate: float | None, burst: float | None = None) -> None:
        self.lock = threading.Lock()
        self.configure(rate, burst)

    def configure(self, rate: float | None, burst: float | None = None) -> None:
        with self.lock:
            self.rate = float(rate or 0)
            self.burst = float(burst if burst else max(self.rate, 1.0))
            self.tokens = self.burst
            self.updated = time.monotonic()

    def take(self) -> float:
        """Take a token: 0 when allowed, else the seconds until one is available."""
        with self.lock:
            if self.rate <= 0:
                return 0.0
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate

    def as_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "burst": self.burst}


def retry_after_header(wait_seconds: float) -> str:
    """Retry-After in whole seconds, at least 1 (the header takes no fractions)."""
    return str(max(1, math.ceil(wait_seconds)))


class RequestStats:
    """Counters the tests read through `GET /sandbox/stats`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: Counter[str] = Counter()  # "POST /products/bulk" -> n
            self.statuses: Counter[str] = Counter()
            self.bulk_items: Counter[str] = Counter()  # "POST /products/bulk" -> items
            self.rate_limited = 0
            self.unauthorised = 0
            self.faults: Counter[str] = Counter()

    def count_request(self, key: str) -> None:
        with self.lock:
            self.requests[key] += 1

    def count_status(self, status: int) -> None:
        with self.lock:
            self.statuses[str(status)] += 1
            if status == 429:
                self.rate_limited += 1
            elif status == 401:
                self.unauthorised += 1

    def count_fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1

    def count_bulk_items(self, key: str, items: int) -> None:
        with self.lock:
            self.bulk_items[key] += items

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            writes = sum(
                n
                for key, n in self.requests.items()
                if key.split(" ", 1)[0] in WRITE_METHODS and not key.endswith(" /login")
            )
            return {
                "total": sum(self.requests.values()),
                "writes": writes,
                "requests": dict(sorted(self.requests.items())),
                "statuses": dict(sorted(self.statuses.items())),
                "bulk_items": dict(sorted(self.bulk_items.items())),
                "rate_limited": self.rate_limited,
                "unauthorised": self.unauthorised,
                "faults": dict(sorted(self.faults.items())),
            }
