"""What the reverse-flow and quote tests share: one tiny demo company, one SSM sandbox process
and one warehouse after a first sync (~40 s), for the session; each test works on records of
its own. Both modules run in the xdist group "reverse", so one worker builds it once.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from assets.ssm.assets import SSMPushSettings
from pipelines.definitions import defs
from resources.sage import SageSourceResource
from resources.sage.writer import SageWriterResource
from resources.ssm import SSMResource
from resources.warehouse import WarehouseResource
from sandbox.sage_demo import generate
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.conftest import REP, act_as_rep

CYCLE = [
    "inbox/ssm_accounts", "inbox/ssm_contacts", "inbox/sage_customers", "inbox/sage_contacts",
    "sage/sales_ledger", "sage/sales_del_addr", "staging/customer_accounts", "staging/contacts",
    "ssm/value_lists", "ssm/desired_accounts", "ssm/desired_contacts", "ssm/push_accounts",
    "ssm/push_contacts",
]  # fmt: skip


@dataclass
class World:
    tmp: Path
    company: Path
    warehouse: Path
    ssm: SandboxProcess
    instance: dg.DagsterInstance

    def resources(self) -> dict[str, object]:
        return {
            "warehouse": WarehouseResource(database=str(self.warehouse)),
            "sage": SageSourceResource(database_url=f"sqlite:///{self.company}"),
            "ssm": SSMResource(
                base_url=self.ssm.base_url,
                public_key=self.ssm.public_key,
                private_key=self.ssm.private_key,
                requests_per_second=200,
            ),
            "sage_writer": SageWriterResource(
                data_path=str(self.company), retry_first_wait_seconds=0.01,
                retry_max_wait_seconds=0.05,
            ),
        }  # fmt: skip

    # --- acting as a rep in SSM

    def rep(self, method: str, resource: str, record_id: int | None = None, **body: Any) -> int:
        return act_as_rep(self.ssm, method, resource, record_id, **body)

    def record(self, resource: str, record_id: int) -> dict[str, Any]:
        state = httpx.get(self.ssm.control_url + "/state", params={"resource": resource})
        rows = next(iter(state.json().values()))
        return next(r for r in rows if r["id"] == record_id)

    def value_id(self, list_name: str, description: str) -> int:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            (found,) = con.execute(
                "SELECT min(id) FROM ssm.value_lists WHERE list_name = ? AND key = ?",
                [list_name, description.lower()],
            ).fetchone()  # type: ignore[misc]
        return int(found)

    # --- Sage as the stand-in wrote it

    def sage(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.company) as con:
            return con.execute(sql, params).fetchall()

    def sage_edit(self, sql: str, *params: Any) -> None:
        """An edit keyed in Sage's UI: the row and its RECORD_MODIFY_DATE (now, UTC)."""
        with sqlite3.connect(self.company) as con:
            con.execute(sql, params)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        m = event.event_specific_data.materialization  # type: ignore[union-attr]
        out[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
    return out


def _run(world: World, job: str, selection: list[str] | None = None) -> dict[str, dict]:
    if selection is None:
        job_def = defs.resolve_job_def(job)
        result = job_def.execute_in_process(
            resources=world.resources(), instance=world.instance, raise_on_error=False
        )
    else:
        result = dg.materialize(
            list(defs.assets or []), selection=selection,
            resources={**world.resources(), "ssm_push": SSMPushSettings()},
            instance=world.instance, raise_on_error=False,
        )  # fmt: skip
    failures = [e.message for e in result.all_events if e.is_failure]
    assert result.success, failures
    return _materializations(result)


def _cycle(world: World) -> dict[str, dict]:
    return _run(world, "", CYCLE)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("reverse")
    company = tmp / "sage50-demo.sqlite"
    generate(company, size="tiny", seed=1)
    with running_sandbox(tmp, rate=200) as ssm:
        world = World(tmp, company, tmp / "warehouse.duckdb", ssm, dg.DagsterInstance.ephemeral())
        _run(world, "sage_ssm_sync")
        yield world


def _client(world: World, name: str, **fields: Any) -> int:
    body = {
        "name": name,
        "statusId": world.value_id("accountStatuses", "Client"),
        "countryId": world.value_id("countries", "gb"),
        "salesRepId1": REP,
        "branchId": world.value_id("branches", "__default__"),
        "address1": "1 Quay Street",
        "city": "Bristol",
        "postcode": "BS1 4DJ",
        "phone": "0117 496 0001",
        "email": "office@example.co.uk",
        "website": "https://example.co.uk",
        "vatNumber": "GB123456789",
    }
    body.update(fields)
    return world.rep("POST", "accounts", **{k: v for k, v in body.items() if v is not None})


def _contact(world: World, account: int, first: str, last: str, **fields: Any) -> int:
    return world.rep(
        "POST", "contacts", firstName=first, lastName=last, accountId=account,
        branchId=world.value_id("branches", "__default__"), salesRepId=REP, **fields,
    )  # fmt: skip
