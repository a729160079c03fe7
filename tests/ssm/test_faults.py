"""Crashes and an unreliable API: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from resources.ssm.errors import SSMError
from sandbox.ssm.testing import PROJECT_ROOT, running_sandbox
from tests.ssm.conftest import ssm_records, ssm_writes
from tests.ssm.harness import push_all
from tests.ssm.test_push import EXPECTED, RESOURCE

pytestmark = pytest.mark.slow


def _key(name: str, record: dict) -> object:
    if name == "product_rates":
        return (record["productId"]["id"], record["rateId"]["id"])
    if name == "sales_order_lines":
        return (record["salesOrderId"]["id"], record["order"])
    return record["extId"]


def assert_ssm_holds_exactly_the_desired_records(ssm, warehouse: Path) -> None:  # noqa: ANN001
    for name, resource in RESOURCE.items():
        keys = Counter(_key(name, r) for r in ssm_records(ssm, resource))
        assert len(keys) == EXPECTED[name], name
        assert max(keys.values()) == 1, f"{name} duplicated: {keys.most_common(2)}"
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(
            "SELECT count(*) FROM ssm.synced_accounts WHERE state <> 'synced'"
        ).fetchone() == (0,)


def test_killed_push_resumes_without_duplicates(tmp_path: Path, warehouse: Path) -> None:
    with running_sandbox(tmp_path, rate=8) as ssm:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        push = subprocess.Popen(
            [sys.executable, "-m", "tests.ssm.harness", str(warehouse), ssm.base_url, "8"],
            cwd=PROJECT_ROOT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while ssm_writes(ssm) < 5 and push.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        push.kill()  # SIGKILL: no cleanup, no flush
        push.wait(timeout=10)
        assert push.returncode == -9, "the push finished before it could be killed"
        reports, _, _ = push_all(warehouse, ssm.base_url, requests_per_second=8)
        assert all(r.failed == 0 for r in reports.values())
        assert_ssm_holds_exactly_the_desired_records(ssm, warehouse)


def test_converges_under_5xx_lost_answers_and_429_bursts(tmp_path: Path, warehouse: Path) -> None:
    faults = {"fault_5xx": 0.2, "fault_lost_answer": 0.1, "fault_429": 0.1, "fault_seed": 11}
    with running_sandbox(tmp_path, rate=200, **faults) as ssm:
        for _ in range(3):
            try:
                reports, _, _ = push_all(warehouse, ssm.base_url)
            except SSMError:
                continue  # the API gave up mid-run; the next run picks up from the ledger
            if all(r.planned == r.created + r.updated + r.deleted for r in reports.values()):
                break
        assert_ssm_holds_exactly_the_desired_records(ssm, warehouse)
