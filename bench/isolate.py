"""Run one benchmark task in its own Python process, so peak memory is that task's alone.

The parent starts `python -m bench.worker TASK PARAMS RESULT`, waits for it with `os.wait4`
(whose rusage is that child's and its waited-for descendants', not the sum of every child the
bench ever started) and reads the task's JSON answer. Peak RSS is `ru_maxrss` of that rusage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class TaskFailed(RuntimeError):
    """A task process exited without an answer; the message carries the tail of its log."""


@dataclass
class TaskOutcome:
    task: str
    result: dict[str, Any]
    wall_seconds: float
    peak_rss_bytes: int
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / 2**20


def run_task(
    task: str, params: dict[str, Any], workdir: Path, *, timeout: float | None = None
) -> TaskOutcome:
    """Run `task` (a name in bench.worker.TASKS) with `params` in a fresh process."""
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = f"{task}-{time.time_ns()}"
    params_path = workdir / f"{stamp}.params.json"
    result_path = workdir / f"{stamp}.result.json"
    log_path = workdir / f"{stamp}.log"
    params_path.write_text(json.dumps(params, default=str))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
        "PYTHONWARNINGS": "ignore",
    }
    command = [sys.executable, "-m", "bench.worker", task, str(params_path), str(result_path)]
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    timer: threading.Timer | None = None
    if timeout is not None:
        timer = threading.Timer(timeout, lambda: os.kill(process.pid, signal.SIGKILL))
        timer.start()
    try:
        _, status, rusage = os.wait4(process.pid, 0)
    finally:
        if timer is not None:
            timer.cancel()
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
    if process.returncode != 0 or not result_path.is_file():
        tail = log_path.read_text(errors="replace")[-3000:]
        raise TaskFailed(
            f"bench task {task!r} exited with {process.returncode} after {wall:.0f} s "
            f"(log {log_path}):\n{tail}"
        )
    return TaskOutcome(
        task=task,
        result=json.loads(result_path.read_text()),
        wall_seconds=wall,
        peak_rss_bytes=rusage.ru_maxrss * 1024,  # Linux reports kilobytes
        log_path=log_path,
    )
