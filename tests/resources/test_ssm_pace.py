"""The shared pace: processes of one host calling one tenant stay under its rate together."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from resources.ssm.ratelimit import SharedPacer, pace_file

RATE = 20.0  # requests/s: fast enough for a quick test, slow enough to see the spacing


def _send(path: str, count: int, out: multiprocessing.Queue) -> None:
    pacer = SharedPacer(RATE, path)
    stamps = []
    for _ in range(count):
        pacer.acquire()
        stamps.append(time.time())
    pacer.close()
    out.put(stamps)


def test_processes_share_one_rate(tmp_path: Path) -> None:
    path = pace_file(tmp_path, "http://127.0.0.1:9/api/v4", "public")
    context = multiprocessing.get_context("spawn")  # as on Windows: nothing inherited
    out = context.Queue()
    workers = [context.Process(target=_send, args=(str(path), 12, out)) for _ in range(3)]
    for worker in workers:
        worker.start()
    stamps = sorted(s for _ in workers for s in out.get(timeout=60))
    for worker in workers:
        worker.join(timeout=30)

    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    # 36 requests of three processes, one slot each 1/RATE s apart: never two in one slot
    assert len(stamps) == 36
    assert min(gaps) >= 1 / RATE - 0.01
    assert stamps[-1] - stamps[0] >= 35 / RATE - 0.05


def test_a_retry_after_holds_every_process(tmp_path: Path) -> None:
    path = pace_file(tmp_path, "http://127.0.0.1:9/api/v4", "public")
    waits: list[float] = []
    first = SharedPacer(4, path, sleep=waits.append)
    other = SharedPacer(4, path, sleep=waits.append)

    first.hold(2.0)  # SSM said Retry-After: 2 to the first process
    other.acquire()  # the other process waits too

    assert waits and waits[0] == pytest.approx(2.0, abs=0.1)


def test_the_file_names_neither_key_nor_address(tmp_path: Path) -> None:
    path = pace_file(tmp_path, "https://api.example.com/api/v4", "pk-secret")
    assert "secret" not in path.name and "example" not in path.name
    # one file per key: two tenants never slow each other
    assert path != pace_file(tmp_path, "https://api.example.com/api/v4", "other")


def test_a_stale_slot_far_ahead_is_ignored(tmp_path: Path) -> None:
    path = pace_file(tmp_path, "http://x/api/v4", "k")
    waits: list[float] = []
    SharedPacer(4, path, clock=lambda: 10_000.0).acquire()  # a clock far ahead wrote the file
    SharedPacer(4, path, clock=lambda: 1_000.0, sleep=waits.append).acquire()
    assert waits == []
