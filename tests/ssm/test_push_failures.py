"""The push's failure paths against the sandbox server: updates and deletes SSM refuses or does
not answer, an update of a record deleted in SSM, look-ups SSM does not answer, and lost creates
of records without extId settled with a few list calls."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx

from assets import ssm as ssm_layer
from assets.ssm.apply import PushOptions, _gone_from_ssm
from assets.ssm.assets import SSMPushSettings
from assets.ssm.contract import pushed
from assets.ssm.plan import DeleteBreaker
from resources.ssm.client import BulkResult, SSMClient
from resources.ssm.errors import SSMNotFoundError, SSMValidationError
from resources.ssm.resource import SSMResource
from resources.warehouse import WarehouseResource
from sandbox.ssm.testing import SandboxProcess
from tests.ssm.compare import assert_ssm_holds_desired
from tests.ssm.conftest import deleted_by_a_rep, ssm_records
from tests.ssm.harness import PRIVATE_KEY, PUBLIC_KEY, push_all
from tests.ssm.staging_fixture import add_orders

# The client sends a request at most 6 times (SSMClient's max_attempts): six 500s in a row
# exhaust one request; the push sends a write again in a later round of the same run, and
# tries a read twice (`read_again`) before it leaves its records for the next run.
EXHAUST_ONE_REQUEST = 6
EXHAUST_ONE_READ = 2 * EXHAUST_ONE_REQUEST
TWO_SMALL_COMPANY_DELETES = PushOptions(breaker=DeleteBreaker(allowance=2))


def _sql(warehouse: Path, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(query, params or []).fetchall()


def _queue(ssm: SandboxProcess, *items: dict[str, str]) -> None:
    answer = httpx.put(ssm.control_url + "/faults", json={"queue": list(items)}, timeout=10)
    answer.raise_for_status()


def _fail(method: str, resource: str, times: int) -> list[dict[str, str]]:
    return [{"kind": "500", "method": method, "resource": resource}] * times


def _requests(ssm: SandboxProcess, key: str) -> int:
    """How many requests the sandbox answered (or faulted) for `key`, e.g. `PUT /accounts/bulk`."""
    stats = httpx.get(ssm.control_url + "/stats", timeout=10).json()
    return int(stats["requests"].get(key, 0))


def _account(ssm: SandboxProcess, ext_id: str) -> dict[str, Any] | None:
    return next((a for a in ssm_records(ssm, "accounts") if a["extId"] == ext_id), None)


def _dead_letters(warehouse: Path) -> list[tuple[Any, ...]]:
    return _sql(
        warehouse,
        "SELECT ext_id, operation, status, attempts FROM sync.dead_letters ORDER BY ext_id",
    )


def _run_row(warehouse: Path, resource: str) -> tuple[Any, ...]:
    """(status, message, deletes_held_back, retry_later) of the resource's latest push."""
    return _sql(
        warehouse,
        "SELECT status, message, deletes_held_back, retry_later FROM sync.runs WHERE resource = ? "
        "ORDER BY finished_at DESC LIMIT 1",
        [resource],
    )[0]


def _hash(warehouse: Path, ext_id: str) -> str:
    return _sql(
        warehouse, "SELECT content_hash FROM ssm.synced_accounts WHERE ext_id = ?", [ext_id]
    )[0][0]


def test_an_update_ssm_refuses_waits_in_dead_letters_and_its_batch_lands(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    acknowledged = _hash(warehouse, "CUST005")
    _sql(
        warehouse,
        "UPDATE staging.customer_accounts SET company_name = repeat('x', 300) "
        "WHERE account_reference = 'CUST005'",
    )
    _sql(
        warehouse,
        "UPDATE staging.customer_accounts SET telephone = '0999' "
        "WHERE account_reference = 'CUST006'",
    )
    accounts = push_all(warehouse, sandbox.base_url)[0]["accounts"]
    assert (accounts.planned, accounts.updated, accounts.failed) == (2, 1, 1)
    assert (accounts.retry_later, accounts.status) == (0, "failed_records")
    assert accounts.failures[0][:2] == ("CUST005", "update")
    assert _account(sandbox, "CUST005")["name"] == "Customer 5 Ltd"  # type: ignore[index]
    assert _account(sandbox, "CUST006")["phone"] == "0999"  # type: ignore[index]
    assert _dead_letters(warehouse) == [("CUST005", "update", "open", 1)]
    # The ledger keeps what SSM acknowledged, so the next run sends the update again.
    assert _hash(warehouse, "CUST005") == acknowledged
    accounts = push_all(warehouse, sandbox.base_url)[0]["accounts"]
    assert (accounts.planned, accounts.failed) == (1, 1)
    assert _dead_letters(warehouse) == [("CUST005", "update", "open", 2)]


def test_updates_ssm_does_not_answer_are_sent_again_in_the_run_or_left_for_the_next(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    change = (
        "UPDATE staging.customer_accounts SET telephone = ? "
        "WHERE account_reference IN ('CUST001', 'CUST002', 'CUST003')"
    )
    # One request out of retries: the second round of the run sends the batch again.
    _sql(warehouse, change, ["0999"])
    _queue(sandbox, *_fail("PUT", "accounts", EXHAUST_ONE_REQUEST))
    sent_before = _requests(sandbox, "PUT /accounts/bulk")
    accounts = push_all(warehouse, sandbox.base_url)[0]["accounts"]
    assert (accounts.updated, accounts.retry_later, accounts.status) == (3, 0, "ok")
    assert _requests(sandbox, "PUT /accounts/bulk") - sent_before == 6 + 1
    assert _account(sandbox, "CUST002")["phone"] == "0999"  # type: ignore[index]

    # Twice out of retries: the round that settles nothing ends it; the next run sends them.
    _sql(warehouse, change, ["0888"])
    acknowledged = _hash(warehouse, "CUST001")
    _queue(sandbox, *_fail("PUT", "accounts", 2 * EXHAUST_ONE_REQUEST))
    reports, _, _ = push_all(warehouse, sandbox.base_url)
    accounts = reports["accounts"]
    assert (accounts.updated, accounts.failed, accounts.retry_later) == (0, 0, 3)
    assert accounts.status == "retry_later"
    assert reports["contacts"].status == "ok"  # the pushes after it went on
    status, message, held, retry_later = _run_row(warehouse, "accounts")
    assert (status, held, retry_later) == ("retry_later", 0, 3)
    assert "3 accounts not confirmed by SSM" in message
    assert _account(sandbox, "CUST002")["phone"] == "0999"  # type: ignore[index]
    assert _hash(warehouse, "CUST001") == acknowledged and _dead_letters(warehouse) == []
    accounts = push_all(warehouse, sandbox.base_url)[0]["accounts"]
    assert (accounts.updated, accounts.retry_later) == (3, 0)
    assert _account(sandbox, "CUST002")["phone"] == "0888"  # type: ignore[index]


@dataclasses.dataclass
class RefusingDeletes:
    """The real client, except that SSM refuses to delete the records of `refused` ids (as it
    does a record another one still depends on): the bulk delete answers them with code 2."""

    client: SSMClient
    refused: set[int]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def bulk_delete(self, resource: str, ids: list[int]) -> list[BulkResult]:
        answered = iter(
            self.client.bulk_delete(resource, [i for i in ids if i not in self.refused])
        )
        results = []
        for index, record_id in enumerate(ids):
            if record_id in self.refused:
                results.append(
                    BulkResult(index, "", False, record_id, 2, "the record is in use", None)
                )
            else:
                results.append(dataclasses.replace(next(answered), index=index))
        return results


def test_a_delete_ssm_refuses_waits_in_dead_letters_and_is_tried_again(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    refused = _account(sandbox, "CUST012")["id"]  # type: ignore[index]
    _sql(
        warehouse,
        "UPDATE staging.customer_accounts SET deleted_at = now() "
        "WHERE account_reference IN ('CUST011', 'CUST012')",
    )
    reports, _, _ = push_all(
        warehouse, sandbox.base_url, options=TWO_SMALL_COMPANY_DELETES,
        wrap=lambda client: RefusingDeletes(client, {refused}),
    )  # fmt: skip
    accounts = reports["accounts"]
    assert (accounts.deleted, accounts.failed, accounts.status) == (1, 1, "failed_records")
    assert accounts.failures == [("CUST012", "delete", "the record is in use")]
    assert _account(sandbox, "CUST011") is None and _account(sandbox, "CUST012") is not None
    assert _dead_letters(warehouse) == [("CUST012", "delete", "open", 1)]
    assert _sql(
        warehouse,
        "SELECT ext_id, state FROM ssm.synced_accounts WHERE ext_id IN ('CUST011', 'CUST012') "
        "ORDER BY 1",
    ) == [("CUST011", "deleted"), ("CUST012", "synced")]
    # SSM lets it go now: the next run deletes it and closes the dead letter.
    accounts = push_all(warehouse, sandbox.base_url, options=TWO_SMALL_COMPANY_DELETES)[0][
        "accounts"
    ]
    assert (accounts.deleted, accounts.failed) == (1, 0)
    assert _account(sandbox, "CUST012") is None
    assert _dead_letters(warehouse) == [("CUST012", "delete", "resolved", 1)]


def test_deletes_ssm_does_not_answer_are_sent_again_in_the_run_or_left_for_the_next(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    delete = "UPDATE staging.customer_accounts SET deleted_at = now() WHERE account_reference = ?"
    _sql(warehouse, delete, ["CUST011"])
    _queue(sandbox, *_fail("DELETE", "accounts", EXHAUST_ONE_REQUEST))
    accounts = push_all(warehouse, sandbox.base_url, options=TWO_SMALL_COMPANY_DELETES)[0][
        "accounts"
    ]
    assert (accounts.deleted, accounts.retry_later, accounts.status) == (1, 0, "ok")
    assert _account(sandbox, "CUST011") is None

    _sql(warehouse, delete, ["CUST012"])
    _queue(sandbox, *_fail("DELETE", "accounts", 2 * EXHAUST_ONE_REQUEST))
    accounts = push_all(warehouse, sandbox.base_url, options=TWO_SMALL_COMPANY_DELETES)[0][
        "accounts"
    ]
    assert (accounts.deleted, accounts.failed, accounts.retry_later) == (0, 0, 1)
    assert _account(sandbox, "CUST012") is not None and _dead_letters(warehouse) == []
    assert _sql(warehouse, "SELECT state FROM ssm.synced_accounts WHERE ext_id = 'CUST012'") == [
        ("synced",)
    ]
    accounts = push_all(warehouse, sandbox.base_url, options=TWO_SMALL_COMPANY_DELETES)[0][
        "accounts"
    ]
    assert (accounts.deleted, accounts.retry_later) == (1, 0)
    assert _account(sandbox, "CUST012") is None


def test_an_update_of_a_record_deleted_in_ssm_is_reported_not_recreated_nor_dead_lettered(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    push_all(warehouse, sandbox.base_url)
    contact = deleted_by_a_rep(sandbox, "contacts", "CUST003/3")
    _sql(warehouse, "UPDATE staging.contacts SET email = 'new@x.example' WHERE address_ref = 3")
    # The read of SSM-side deletes goes unanswered, so the update itself meets the delete.
    _queue(sandbox, *_fail("GET", "contacts", EXHAUST_ONE_READ))
    contacts = push_all(warehouse, sandbox.base_url)[0]["contacts"]
    assert (contacts.updated, contacts.failed, contacts.retry_later) == (0, 0, 0)
    assert (contacts.ssm_deleted, contacts.ssm_deleted_sample) == (1, ["CUST003/3"])
    assert any(note.startswith("SSM-side deletes not checked") for note in contacts.notes)
    assert _sql(
        warehouse, "SELECT state, ssm_id FROM ssm.synced_contacts WHERE ext_id = 'CUST003/3'"
    ) == [("ssm_deleted", contact["id"])]
    assert _sql(
        warehouse,
        "SELECT operation, outcome FROM sync.changes WHERE ext_id = 'CUST003/3' "
        "AND run_id = (SELECT max_by(run_id, finished_at) FROM sync.runs)",
    ) == [("update", "ssm_deleted")]
    assert _dead_letters(warehouse) == []
    # From then on skipped: never re-created, never sent.
    contacts = push_all(warehouse, sandbox.base_url)[0]["contacts"]
    assert (contacts.planned, contacts.skipped, contacts.created) == (0, 1, 0)
    assert "CUST003/3" not in {c["extId"] for c in ssm_records(sandbox, "contacts")}


def test_lost_creates_of_order_lines_are_found_with_a_few_list_calls(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    """200 order lines (no extId) whose bulk create was committed but its answer lost: the push
    finds them with `salesOrderId.id IN (...)` lists, a few calls, not a read per line."""
    add_orders(warehouse, first=1001, orders=50, lines=4)  # 8 + 200 lines: batches of 200 + 8
    _queue(sandbox, {"kind": "lost_answer", "method": "POST", "resource": "salesordersLines"})
    lines = push_all(warehouse, sandbox.base_url)[0]["sales_order_lines"]
    assert (lines.created, lines.retry_later, lines.failed) == (208, 0, 0)
    assert _sql(
        warehouse,
        "SELECT outcome, count(*) FROM sync.changes WHERE resource = 'sales_order_lines' "
        "AND operation = 'resolve' GROUP BY 1",
    ) == [("ok", 200)]
    # No read of what SSM held before the first push (the lines' orders are new in this run),
    # then pages of the 200 lines' orders (up to 40 orders, 160 lines, a list): at most 3
    # calls per 100 lost lines, against 200 reads.
    assert _requests(sandbox, "GET /salesordersLines") <= 2 * 3
    assert_ssm_holds_desired(warehouse, sandbox)


def test_a_look_up_out_of_retries_leaves_its_records_for_the_next_run_without_failing(
    warehouse: Path, sandbox: SandboxProcess
) -> None:
    """The lines' create lands but its answer is lost, and the look-up of them then runs out of
    retries: the push step succeeds, the lines stay pending for the next run, which finds them."""
    _queue(
        sandbox,
        {"kind": "lost_answer", "method": "POST", "resource": "salesordersLines"},
        # (no read of SSM's lines before the first push: their orders are new in this run)
        # The resource's client sends a request at most twice; the read is tried twice.
        *_fail("GET", "salesordersLines", 2 * 2),
    )
    resources = {
        "ssm": SSMResource(
            base_url=sandbox.base_url, public_key=PUBLIC_KEY, private_key=PRIVATE_KEY,
            requests_per_second=200, max_attempts=2,
        ),
        "warehouse": WarehouseResource(database=str(warehouse)),
        "ssm_push": SSMPushSettings(),
    }  # fmt: skip
    assets = [*ssm_layer.defs.assets]  # type: ignore[misc]
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.materialize(assets, resources=resources, instance=instance)
        second = dg.materialize(assets, resources=resources, instance=instance)
    assert first.success and second.success  # no failed step, the run summary included

    def lines_push(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
        (metadata,) = [
            {k: v.value for k, v in event.metadata.items()}
            for event in result.asset_materializations_for_node("ssm__push_sales_order_lines")
        ]
        return metadata

    first_push, second_push = lines_push(first), lines_push(second)
    assert (first_push["status"], first_push["created"], first_push["retry_later"]) == (
        "retry_later", 0, 8,
    )  # fmt: skip
    assert (second_push["status"], second_push["resolved_pending"]) == ("ok", 8)
    assert len(ssm_records(sandbox, "salesordersLines")) == 8  # each line once
    assert_ssm_holds_desired(warehouse, sandbox)


@dataclasses.dataclass
class RecordsById:
    """Just enough of SSM for `_gone_from_ssm`: list by `id IN (...)`, or refuse that filter
    (a tenant that cannot filter on id) and answer GET one by one, 404 for an unknown id."""

    records: dict[int, dict[str, Any]]
    filter_on_id: bool = True
    reads: list[str] = dataclasses.field(default_factory=list)

    def list(self, resource: str, where: str | None = None, order: str | None = None) -> Any:
        self.reads.append(f"list {where}")
        if not self.filter_on_id:
            raise SSMValidationError("SQL not generated correctly", code=901)
        ids = {int(i) for i in (where or "").split("(")[1].rstrip(")").split(",")}
        return iter([r for i, r in self.records.items() if i in ids])

    def get(self, resource: str, id: int) -> dict[str, Any]:
        self.reads.append(f"get {id}")
        if id not in self.records:
            raise SSMNotFoundError(f"no {resource} {id}")
        return self.records[id]


def test_a_record_gone_from_ssm_is_one_it_holds_as_deleted_or_no_longer_knows() -> None:
    """Ids 1 live, 2 deleted, 3 unknown (SSM answers a PUT of it 404 or 400): 2 and 3 are gone,
    found with one list call; a tenant that refuses `id IN` is asked record by record."""
    contacts = pushed("contacts")
    held = {1: {"id": 1, "deleted": False}, 2: {"id": 2, "deleted": True}}
    ssm = RecordsById(held)
    assert _gone_from_ssm(ssm, contacts, [3, 1, 2]) == {2, 3}  # type: ignore[arg-type]
    assert ssm.reads == ["list id IN (1,2,3)"]
    ssm = RecordsById(held, filter_on_id=False)
    assert _gone_from_ssm(ssm, contacts, [3, 1, 2]) == {2, 3}  # type: ignore[arg-type]
    assert ssm.reads == ["list id IN (1,2,3)", "get 1", "get 2", "get 3"]
