"""A run's sign of life, so that a run whose process died never holds the run queue.

The queue starts a run only when the pools its steps use (`warehouse`, `ssm_api`) are free of other
runs in progress. A run worker that dies while the process that started it lives on is marked
failed by that process (Dagster's code server watches its children). When both die (the Windows
host reboots, `dagster dev` or the demo is killed), nobody is left to say so: the run stays
STARTED for ever and every sync, backfill and push waits behind it.

So a running job writes the time into its tag `sync/alive_at` every `RUN_HEARTBEAT_SECONDS` (30 s),
in the instance's run storage, which every host of a deployment shares; and `fail_dead_runs` (the
sensor `free_dead_runs`, and the sync schedule before it decides to skip) marks failed, with the
reason, a started run of this code location whose last sign of life is older than
`RUN_DEAD_AFTER_SECONDS` (300 s). A run declared dead that turns out to be alive (its host was
suspended) stops itself at its next heartbeat, so two syncs never overlap.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Collection, Mapping
from datetime import UTC, datetime

import dagster as dg

ALIVE_TAG = "sync/alive_at"
DEFAULT_HEARTBEAT_SECONDS = 30.0
DEFAULT_DEAD_AFTER_SECONDS = 300.0
EXIT_DECLARED_DEAD = 70  # EX_SOFTWARE: the process outlived the run it was executing


def heartbeat_seconds() -> float:
    return float(os.environ.get("RUN_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS))


def dead_after_seconds() -> float:
    """Silence after which a started run counts as dead; several heartbeats, so that a busy
    machine or a slow run storage never fails a live run."""
    return float(os.environ.get("RUN_DEAD_AFTER_SECONDS", DEFAULT_DEAD_AFTER_SECONDS))


def check_seconds() -> int:
    """How often the sensor `free_dead_runs` looks for dead runs."""
    return int(os.environ.get("RUN_DEAD_CHECK_SECONDS", "30"))


def _stamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")


class Heartbeat:
    """Writes the run's `sync/alive_at` tag now and every `every` seconds until `stop`."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, every: float) -> None:
        self._instance = instance
        self._run_id = run_id
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id[:8]}")
        self._thread.daemon = True

    def start(self) -> None:
        self._beat()  # at once: a run killed in its first seconds is still recognised as ours
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._every + 5)

    def _beat(self) -> None:
        self._instance.add_run_tags(self._run_id, {ALIVE_TAG: _stamp(time.time())})

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                run = self._instance.get_run_by_id(self._run_id)
                if run is not None and run.is_finished and not self._stop.is_set():
                    # Declared dead while this process was frozen: another run may hold the
                    # pools by now, so this one must not write anything more.
                    print(
                        f"run {self._run_id} was marked {run.status.value} while this process "
                        "was not answering; stopping it.",
                        file=sys.stderr,
                        flush=True,
                    )
                    os._exit(EXIT_DECLARED_DEAD)
                self._beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried, never fatal
                print(f"run heartbeat not written: {exc}", file=sys.stderr, flush=True)


def start_heartbeat(context: dg.InitResourceContext) -> Heartbeat | None:
    """The heartbeat of the run `context` sets a resource up in (none outside a stored run)."""
    run, instance = context.run, context.instance
    if run is None or instance is None or instance.is_ephemeral:
        return None
    beat = Heartbeat(instance, run.run_id, heartbeat_seconds())
    beat.start()
    return beat


def last_sign_of_life(record: dg.RunRecord) -> float:
    """When the run last showed it was alive: its latest heartbeat, else its start."""
    stamps = [record.start_time or record.create_timestamp.timestamp()]
    tag = record.dagster_run.tags.get(ALIVE_TAG)
    if tag:
        try:
            stamps.append(datetime.fromisoformat(tag).timestamp())
        except ValueError:
            pass
    return max(stamps)


def fail_dead_runs(
    instance: dg.DagsterInstance,
    jobs: Collection[str],
    dead_after: float | None = None,
    now: float | None = None,
    tags: Mapping[str, str] | None = None,
) -> list[str]:
    """Mark failed the started runs of `jobs` silent for longer than `dead_after` seconds; the
    sentences say which and why (the run's event log says the same)."""
    dead_after = dead_after_seconds() if dead_after is None else dead_after
    now = time.time() if now is None else now
    said = []
    # `tags`: one company's runs (several companies share the instance, their job names too)
    started = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags=dict(tags or {}))
    )
    for record in started:
        run = record.dagster_run
        silent = now - last_sign_of_life(record)
        if run.job_name not in jobs or silent <= dead_after:
            continue
        sentence = (
            f"run {run.run_id[:8]} of {run.job_name} gave no sign of life for {silent:.0f} s "
            f"(limit {dead_after:.0f} s, RUN_DEAD_AFTER_SECONDS): its process is gone, so it is "
            "marked failed and its pools are free for the next run."
        )
        instance.report_run_failed(run, sentence)
        said.append(sentence)
    return said
