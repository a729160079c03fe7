"""The sensor `ssm_changes` against the SSM sandbox as a process: a cheap poll, a run only for
what a rep changed."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest

from assets.inbox.assets import QUOTES_KEY
from pipelines import quotes, reverse
from resources.ssm import SSMResource
from resources.ssm.client import SSMClient
from sandbox.ssm.testing import SandboxProcess, running_sandbox


@pytest.fixture
def ssm(tmp_path: Path) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path, rate=200) as sandbox:
        reverse._POLL_CLIENTS.clear()
        yield sandbox


def _tick(ssm: SandboxProcess, instance: dg.DagsterInstance, cursor: str | None, sensor=None):
    resource = SSMResource(
        base_url=ssm.base_url, public_key=ssm.public_key, private_key=ssm.private_key,
        requests_per_second=200,
    )  # fmt: skip
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"ssm": resource}
    ) as context:
        result = (sensor or reverse.ssm_changes)(context)
        return result, context.cursor


def _requests(ssm: SandboxProcess) -> int:
    return int(httpx.get(ssm.control_url + "/stats", timeout=10).json()["total"])


def test_an_idle_poll_costs_one_call_per_resource_and_only_a_reps_change_launches_a_run(
    ssm: SandboxProcess,
) -> None:
    with dg.instance_for_test() as instance:
        first, cursor = _tick(ssm, instance, None)
        assert isinstance(first, dg.SkipReason)  # the sync reads what came before

        before = _requests(ssm)
        idle, cursor = _tick(ssm, instance, cursor)
        assert isinstance(idle, dg.SkipReason)
        # accounts and contacts, and (no read-only account yet, so no connector user to leave
        # out) a look for one: no login, no paging
        assert _requests(ssm) - before == 3

        # The connector's own writes (a push: a read-only account and a contact) are echoes.
        with SSMClient(ssm.base_url, ssm.public_key, ssm.private_key) as connector:
            pushed = connector.create("accounts", {
                "name": "Pushed Ltd", "extId": "PUSH001", "readOnly": True, "statusId": 2,
                "branchId": 1, "salesRepId1": 2,
            })  # fmt: skip
            connector.create("contacts", {
                "firstName": "Echo", "lastName": "Only", "accountId": pushed, "extId": "PUSH001/1",
                "branchId": 1, "salesRepId": 2,
            })  # fmt: skip
        echo, cursor = _tick(ssm, instance, cursor)
        assert isinstance(echo, dg.SkipReason), echo

        created = httpx.post(
            f"{ssm.control_url}/act-as/2/accounts",
            json={"name": "Sensor Test Ltd", "statusId": 2, "branchId": 1, "salesRepId1": 2},
            timeout=10,
        )
        assert created.is_success, created.text
        changed, cursor = _tick(ssm, instance, cursor)
        assert isinstance(changed, dg.RunRequest)
        assert changed.tags["sync/reason"] == f"accounts {created.json()['id']}"

        again, cursor = _tick(ssm, instance, cursor)  # the same version is not news twice
        assert isinstance(again, dg.SkipReason)
        assert json.loads(cursor or "{}")["connector_user"] == 1

        # Known now, the connector's user is left out by SSM: a push of 120 accounts (three
        # pages of SSM's 50) costs the next tick one call per resource, not the pages.
        with SSMClient(ssm.base_url, ssm.public_key, ssm.private_key) as connector:
            connector.bulk_create("accounts", [
                {"name": f"Bulk {n}", "extId": f"BULK{n:03d}", "readOnly": True, "statusId": 2,
                 "branchId": 1, "salesRepId1": 2} for n in range(120)
            ])  # fmt: skip
        before = _requests(ssm)
        quiet, cursor = _tick(ssm, instance, cursor)
        assert isinstance(quiet, dg.SkipReason) and _requests(ssm) - before == 2


def test_the_quote_poll_costs_one_call_and_launches_only_for_a_quote(ssm: SandboxProcess) -> None:
    with dg.instance_for_test() as instance:
        # No quote status in SSM yet (the sync creates them): nothing to look for.
        first, cursor = _tick(ssm, instance, None, quotes.ssm_quotes)
        assert isinstance(first, dg.SkipReason) and "the next sync creates it" in str(
            first.skip_message
        )
        with SSMClient(ssm.base_url, ssm.public_key, ssm.private_key) as connector:
            pending = connector.create("salesorderStatuses", {"descriptionEN": "Quote - pending"})

        found, cursor = _tick(ssm, instance, cursor, quotes.ssm_quotes)  # looks the status up once
        assert isinstance(found, dg.SkipReason)
        assert json.loads(cursor or "{}")["status_id"] == pending
        before = _requests(ssm)
        idle, cursor = _tick(ssm, instance, cursor, quotes.ssm_quotes)
        assert isinstance(idle, dg.SkipReason)
        assert _requests(ssm) - before == 1  # one list of orders in the quote status

        account = httpx.post(
            f"{ssm.control_url}/act-as/2/accounts",
            json={"name": "Quoted Ltd", "statusId": 2, "branchId": 1, "salesRepId1": 2},
            timeout=10,
        ).json()["id"]
        order = {"reference": "Q", "accountId": account, "salesRepId": 2, "branchId": 1}
        other = httpx.post(f"{ssm.control_url}/act-as/2/salesorders", json=order, timeout=10)
        assert other.is_success, other.text
        not_a_quote, cursor = _tick(ssm, instance, cursor, quotes.ssm_quotes)
        assert isinstance(not_a_quote, dg.SkipReason)  # an order in another status

        quote = httpx.post(
            f"{ssm.control_url}/act-as/2/salesorders", json={**order, "statusId": pending},
            timeout=10,
        )  # fmt: skip
        assert quote.is_success, quote.text
        changed, cursor = _tick(ssm, instance, cursor, quotes.ssm_quotes)
        assert isinstance(changed, dg.RunRequest)
        assert changed.tags["sync/reason"] == f"quote {quote.json()['id']}"
        again, cursor = _tick(ssm, instance, cursor, quotes.ssm_quotes)
        assert isinstance(again, dg.SkipReason)


def test_quotes_a_run_left_for_the_next_run_are_run_again_once(ssm: SandboxProcess) -> None:
    with dg.instance_for_test() as instance:
        with SSMClient(ssm.base_url, ssm.public_key, ssm.private_key) as connector:
            connector.create("salesorderStatuses", {"descriptionEN": "Quote - pending"})
        idle, cursor = _tick(ssm, instance, None, quotes.ssm_quotes)
        assert isinstance(idle, dg.SkipReason)
        # The last quote writer could not give SSM its prices (SSM answered 429): run again now,
        # not at the next sync, and only once for that run.
        instance.report_runless_asset_event(
            dg.AssetMaterialization(QUOTES_KEY, metadata={"retry_later": 1})
        )
        retry, cursor = _tick(ssm, instance, cursor, quotes.ssm_quotes)
        assert isinstance(retry, dg.RunRequest), retry
        assert "1 quotes left by run" in retry.tags["sync/reason"]
        again, cursor = _tick(ssm, instance, cursor, quotes.ssm_quotes)
        assert isinstance(again, dg.SkipReason)


def test_after_a_first_read_of_an_empty_tenant_the_first_push_is_not_read_back(
    ssm: SandboxProcess, tmp_path: Path
) -> None:
    """A first sync into a fresh tenant reads nothing, then pushes: its watermark starts at that
    first read, so the next sync asks for changes since then, without what the push created
    (before, it read everything again: 50,000 accounts, 358 s, on the large company)."""
    import duckdb

    from assets.inbox import feed
    from assets.ssm.settings import SyncSettings

    overlap, sync = timedelta(seconds=300), SyncSettings()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con, SSMClient(
        ssm.base_url, ssm.public_key, ssm.private_key
    ) as connector:  # fmt: skip
        held = functools.partial(contextlib.nullcontext, con)
        first = feed.read_feed(held, connector, "accounts", overlap, "run-1", sync=sync)
        assert (first.read, first.since) == (0, None)
        assert first.watermark is not None
        connector.bulk_create("accounts", [
            {"name": f"Pushed {n}", "extId": f"PUSH{n:03d}", "readOnly": True, "statusId": 2,
             "branchId": 1, "salesRepId1": 2} for n in range(120)
        ])  # fmt: skip
        second = feed.read_feed(held, connector, "accounts", overlap, "run-2", sync=sync)
        # one call for the connector's user, one empty page: not the 120 over three pages
        assert (second.since, second.read, second.api_calls) == (first.watermark, 0, 2)


def test_the_feed_does_not_read_back_what_the_connector_created(
    ssm: SandboxProcess, tmp_path: Path
) -> None:
    """After a push of 120 accounts the job's feed reads none of them back (one call, not three
    pages), but an edit of one of them, even one the connector made later, is read."""
    import duckdb

    from assets.inbox import feed
    from assets.ssm.settings import SyncSettings

    overlap, sync = timedelta(seconds=300), SyncSettings()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con, SSMClient(
        ssm.base_url, ssm.public_key, ssm.private_key
    ) as connector:  # fmt: skip
        rep = httpx.post(f"{ssm.control_url}/act-as/2/accounts", json={
            "name": "Rep's Own Ltd", "statusId": 2, "branchId": 1, "salesRepId1": 2}, timeout=10)  # fmt: skip
        assert rep.is_success, rep.text
        held = functools.partial(contextlib.nullcontext, con)  # the warehouse kept open
        first = feed.read_feed(held, connector, "accounts", overlap, "run-1", sync=sync)
        assert first.read == 1  # the first read: everything, the rep's account
        ids = connector.bulk_create("accounts", [
            {"name": f"Pushed {n}", "extId": f"PUSH{n:03d}", "readOnly": n != 8,  # a prospect
             "statusId": 2, "branchId": 1, "salesRepId1": 2} for n in range(120)
        ])  # fmt: skip
        pushed = [r.id for r in ids]
        after_push = feed.read_feed(held, connector, "accounts", overlap, "run-2", sync=sync)
        # the connector's user looked up once (then kept), and one page: the rep's account
        # again (within the overlap window, not news), none of the 120
        assert (after_push.read, after_push.new_versions, after_push.api_calls) == (1, 0, 2)
        connector.update("accounts", pushed[7], {"phone": "0113 000 0007"})  # the push again
        edited = httpx.put(f"{ssm.control_url}/act-as/2/accounts/{pushed[8]}",
                           json={"phone": "0113 000 0008"}, timeout=10)  # fmt: skip
        assert edited.is_success, edited.text
        later = feed.read_feed(held, connector, "accounts", overlap, "run-3", sync=sync)
        assert later.api_calls == 1
        assert sorted(int(r[0]) for r in con.execute("SELECT id FROM inbox.accounts "
                      "WHERE run_id = 'run-3'").fetchall()) == sorted(pushed[7:9])  # fmt: skip
