"""Crashes and an unreliable API: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from assets.ssm.apply import PushOptions, PushReport
from resources.ssm.errors import SSMError
from sandbox.ssm.testing import PROJECT_ROOT, SandboxProcess, running_sandbox
from tests.ssm.compare import WRITTEN, assert_ssm_holds_desired, desired_rows
from tests.ssm.conftest import ssm_records
from tests.ssm.harness import push_all
from tests.ssm.staging_fixture import add_orders

pytestmark = pytest.mark.slow

HELD_SECONDS = 30  # how long the sandbox holds a call: the kill lands well within it


def _sql(warehouse: Path, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(query).fetchall()


def _not_synced(warehouse: Path) -> dict[str, int]:
    """Ledger rows per resource left in a state other than synced (pending creates above all)."""
    counts = {}
    for name in WRITTEN:
        query = f"SELECT count(*) FROM ssm.synced_{name} WHERE state <> 'synced'"  # noqa: S608
        counts[name] = _sql(warehouse, query)[0][0]
    return counts


def _kill_push_at_fault(ssm: SandboxProcess, warehouse: Path, kind: str) -> None:
    """Run a push in its own process and SIGKILL it once the sandbox has drawn a `kind` fault
    (a queued one holds the call for HELD_SECONDS, so the push is inside that call)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    push = subprocess.Popen(
        [sys.executable, "-m", "tests.ssm.harness", str(warehouse), ssm.base_url, "200"],
        cwd=PROJECT_ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while push.poll() is None and time.monotonic() < deadline:
        faults = httpx.get(ssm.control_url + "/stats", timeout=10).json()["faults"]
        if faults.get(kind, 0):
            break
        time.sleep(0.05)
    push.kill()  # SIGKILL: no cleanup, no flush
    push.wait(timeout=10)
    assert push.returncode == -9, "the push finished before it could be killed"


def _resolve_outcomes(warehouse: Path, resource: str) -> list[tuple[Any, ...]]:
    return _sql(
        warehouse,
        "SELECT outcome, count(*) FROM sync.changes "
        f"WHERE resource = '{resource}' AND operation = 'resolve' GROUP BY 1",  # noqa: S608
    )


@pytest.mark.parametrize(
    ("queue", "outcome"),
    [
        # The bulk create is held when the kill lands: SSM never gets it.
        ([{"kind": "slow", "method": "POST", "resource": "contacts"}], "not_found"),
        # SSM commits the bulk create and loses its answer; the kill lands while the client is
        # looking the contacts up (after the contacts' one read of the first push).
        (
            [
                {"kind": "lost_answer", "method": "POST", "resource": "contacts"},
                {"kind": "none", "method": "GET", "resource": "contacts"},
                {"kind": "slow", "method": "GET", "resource": "contacts"},
            ],
            "ok",
        ),
    ],
    ids=["create-held", "answer-lost"],
)
def test_push_killed_during_a_bulk_create_resumes_without_duplicates(
    tmp_path: Path, warehouse: Path, queue: list[dict[str, str]], outcome: str
) -> None:
    with running_sandbox(tmp_path, rate=200) as ssm:
        faults = {"slow_seconds": HELD_SECONDS, "queue": queue}
        httpx.put(ssm.control_url + "/faults", json=faults, timeout=10).raise_for_status()
        _kill_push_at_fault(ssm, warehouse, "slow")
        contacts = len(desired_rows(warehouse, "contacts"))
        # The create's rows were committed as pending before it left: the rerun looks them up.
        assert _sql(warehouse, "SELECT state, count(*) FROM ssm.synced_contacts GROUP BY 1") == [
            ("pending_create", contacts)
        ]
        landed = len(ssm_records(ssm, "contacts"))
        assert landed == (contacts if outcome == "ok" else 0)

        reports, _, _ = push_all(warehouse, ssm.base_url)
        assert reports["contacts"].resolved == contacts
        assert reports["contacts"].created == contacts - landed
        assert all(r.failed == 0 for r in reports.values())
        assert _resolve_outcomes(warehouse, "contacts") == [(outcome, contacts)]
        assert_ssm_holds_desired(warehouse, ssm)
        assert not any(_not_synced(warehouse).values())


def test_interrupted_create_of_a_restored_record_is_not_taken_for_an_ssm_delete(
    tmp_path: Path, warehouse: Path
) -> None:
    """Sage deletes CUST011 (the connector deletes it in SSM), restores it, and the push that
    re-creates it dies mid-create: the old, deleted SSM record is not the lost create."""
    with running_sandbox(tmp_path, rate=200) as ssm:
        push_all(warehouse, ssm.base_url)
        (old_id,) = _sql(
            warehouse, "SELECT ssm_id FROM ssm.synced_accounts WHERE ext_id = 'CUST011'"
        )[0]
        _sql(warehouse, "UPDATE staging.customer_accounts SET deleted_at = now() WHERE account_reference = 'CUST011'")  # fmt: skip
        reports, _, _ = push_all(
            warehouse, ssm.base_url, options=PushOptions(allow_mass_delete=True)
        )
        assert reports["accounts"].deleted == 1
        _sql(warehouse, "UPDATE staging.customer_accounts SET deleted_at = NULL WHERE account_reference = 'CUST011'")  # fmt: skip
        queue = [{"kind": "slow", "method": "POST", "resource": "accounts"}]
        httpx.put(
            ssm.control_url + "/faults", json={"slow_seconds": HELD_SECONDS, "queue": queue}
        ).raise_for_status()
        _kill_push_at_fault(ssm, warehouse, "slow")
        assert _sql(
            warehouse, "SELECT state FROM ssm.synced_accounts WHERE ext_id = 'CUST011'"
        ) == [("pending_create",)]

        reports, _, _ = push_all(warehouse, ssm.base_url)
        assert (reports["accounts"].created, reports["accounts"].skipped) == (1, 0)
        live = [a for a in ssm_records(ssm, "accounts") if a["extId"] == "CUST011"]
        assert len(live) == 1 and live[0]["id"] != old_id
        assert _sql(
            warehouse, "SELECT state, ssm_id FROM ssm.synced_accounts WHERE ext_id = 'CUST011'"
        ) == [("synced", live[0]["id"])]
        assert _resolve_outcomes(warehouse, "accounts") == [("not_found", 1)]
        # Later runs leave it alone.
        reports, _, _ = push_all(warehouse, ssm.base_url)
        assert reports["accounts"].planned == 0 and reports["accounts"].skipped == 0


def test_lost_creates_without_ext_id_are_settled_in_the_same_run(
    tmp_path: Path, warehouse: Path
) -> None:
    """Order lines and product rates have no extId for the client to settle a lost answer by:
    the push looks them up by their lookup fields and re-sends what SSM never got, in the run."""
    with running_sandbox(tmp_path, rate=200) as ssm:
        queue = [
            {"kind": "500", "method": "POST", "resource": "salesordersLines"},  # nothing kept
            {"kind": "lost_answer", "method": "POST", "resource": "productRates"},  # all kept
        ]
        httpx.put(ssm.control_url + "/faults", json={"queue": queue}).raise_for_status()
        reports, _, _ = push_all(warehouse, ssm.base_url)
        lines, rates = reports["sales_order_lines"], reports["product_rates"]
        assert (lines.created, lines.retry_later, lines.completion_ratio) == (8, 0, 1.0)
        assert (rates.created, rates.retry_later, rates.completion_ratio) == (7, 0, 1.0)
        assert _resolve_outcomes(warehouse, "sales_order_lines") == [("not_found", 8)]
        assert _resolve_outcomes(warehouse, "product_rates") == [("ok", 7)]
        assert_ssm_holds_desired(warehouse, ssm)
        assert not any(_not_synced(warehouse).values())


def test_push_killed_during_look_ups_keeps_the_groups_already_answered(
    tmp_path: Path, warehouse: Path
) -> None:
    """58 order lines (no extId) of 54 orders, one bulk create whose answer is lost: the push
    looks them up by order, 40 orders a list call, and commits each group as it is answered.
    Killed in the second call, it keeps what the first found."""
    add_orders(warehouse, first=1001, orders=50, lines=1)
    # Orders get SSM ids 1..54 in extId order: "1" (2 lines), "1001".."1050", "2", "3", "4"
    # (2 lines each). The first call asks for ids 1..40: order 1 and 1001..1039, 41 lines; the
    # second for ids 41..54: 1040..1050 and orders 2, 3, 4, 17 lines. One page each (< 50).
    queue = [
        {"kind": "lost_answer", "method": "POST", "resource": "salesordersLines"},
        # (no read of SSM's lines before the first push: their orders are new in this run)
        {"kind": "none", "method": "GET", "resource": "salesordersLines"},  # ids 1..40
        {"kind": "slow", "method": "GET", "resource": "salesordersLines"},  # ids 41..54
    ]
    with running_sandbox(tmp_path, rate=200) as ssm:
        faults = {"slow_seconds": HELD_SECONDS, "queue": queue}
        httpx.put(ssm.control_url + "/faults", json=faults, timeout=10).raise_for_status()
        _kill_push_at_fault(ssm, warehouse, "slow")
        assert _sql(
            warehouse,
            "SELECT state, count(*) FROM ssm.synced_sales_order_lines GROUP BY 1 ORDER BY 1",
        ) == [("pending_create", 17), ("synced", 41)]
        assert len(ssm_records(ssm, "salesordersLines")) == 58  # the create had landed

        reports, _, _ = push_all(warehouse, ssm.base_url)
        lines = reports["sales_order_lines"]
        assert (lines.resolved, lines.created, lines.retry_later) == (17, 0, 0)
        assert _resolve_outcomes(warehouse, "sales_order_lines") == [("ok", 58)]
        assert len(ssm_records(ssm, "salesordersLines")) == 58
        assert_ssm_holds_desired(warehouse, ssm)
        assert not any(_not_synced(warehouse).values())


def _converged(reports: dict[str, PushReport]) -> bool:
    return all(r.planned == r.created + r.updated + r.deleted for r in reports.values())


# One seed: test_one_run_converges_under_the_fault_mix below tries four, asserting one run.
@pytest.mark.parametrize("seed", [5])
def test_converges_under_5xx_lost_answers_and_429_bursts(
    tmp_path: Path, warehouse: Path, seed: int
) -> None:
    faults = {"fault_5xx": 0.2, "fault_lost_answer": 0.1, "fault_429": 0.1, "fault_seed": seed}
    with running_sandbox(tmp_path, rate=200, **faults) as ssm:
        # Whatever the seed draws, the cases that need the same-run look-up happen: a plain
        # 5xx and a lost answer on bulk creates of records without extId, and a 429 burst.
        queue = [
            {"kind": "500", "method": "POST", "resource": "salesordersLines"},
            {"kind": "lost_answer", "method": "POST", "resource": "productRates"},
            {"kind": "429", "method": "POST", "resource": "products"},
        ]
        httpx.put(ssm.control_url + "/faults", json={"queue": queue}).raise_for_status()
        converged = False
        for _ in range(3):
            try:
                reports, _, _ = push_all(warehouse, ssm.base_url)
            except SSMError:
                continue  # the API gave up mid-run; the next run picks up from the ledger
            if _converged(reports):
                converged = True
                break
        stats = httpx.get(ssm.control_url + "/stats", timeout=10).json()
        # The faults did happen: answers were lost after SSM committed, and bursts throttled.
        assert stats["faults"].get("lost_answer", 0) > 0, stats["faults"]
        assert stats["rate_limited"] > 0, stats
        assert converged, {n: (r.planned, r.created, r.updated) for n, r in reports.items()}
        assert_ssm_holds_desired(warehouse, ssm)
        assert not any(_not_synced(warehouse).values()), _not_synced(warehouse)


# The fault mix of issue 13's trial: 20 % 5xx, 10 % lost answers (writes), 10 % 429 bursts.
FAULT_MIX = {"fault_5xx": 0.2, "fault_lost_answer": 0.1, "fault_429": 0.1}


# Two seeds: the queue above makes every fault kind happen whatever the seed draws; the
# fault phase of `make bench` runs the mix over whole companies.
@pytest.mark.parametrize("seed", [11, 5])
def test_one_run_converges_under_the_fault_mix(tmp_path: Path, warehouse: Path, seed: int) -> None:
    """One run under the fault mix leaves SSM holding the desired state: a lost bulk create is
    looked up and only what SSM never got is sent again, what SSM did not answer is sent again
    in the run, and no request out of retries fails the push. 258 records (208 order lines,
    without extId, over two bulk batches) instead of the small company's 36,835."""
    add_orders(warehouse, first=1001, orders=50, lines=4)
    with running_sandbox(tmp_path, rate=200, fault_seed=seed, **FAULT_MIX) as ssm:
        # Whatever the seed draws: a lost answer to the first 200 lines' bulk create (committed
        # in SSM), a 500 on the product rates' (nothing kept) and a 429 burst.
        queue = [
            {"kind": "lost_answer", "method": "POST", "resource": "salesordersLines"},
            {"kind": "500", "method": "POST", "resource": "productRates"},
            {"kind": "429", "method": "POST", "resource": "products"},
        ]
        httpx.put(ssm.control_url + "/faults", json={"queue": queue}).raise_for_status()
        reports, _, _ = push_all(warehouse, ssm.base_url)  # one run: no exception
        stats = httpx.get(ssm.control_url + "/stats", timeout=10).json()
        assert stats["faults"].get("lost_answer", 0) > 0 and stats["rate_limited"] > 0, stats
        left = {
            n: (r.retry_later, r.failed) for n, r in reports.items() if r.retry_later or r.failed
        }
        assert left == {}
        assert _converged(reports)
        assert_ssm_holds_desired(warehouse, ssm)
        assert not any(_not_synced(warehouse).values()), _not_synced(warehouse)
