"""A Sage 50 FR dossier against the SSM sandbox, for the end-to-end FR tests: the real assets of a
SAGE_EDITION=fr company run in process, a rep acting in SSM, and the demo dossier's Sage
(sandbox/sage_fr/sage.py) importing the connector's files and exporting again.

Speed: each step runs the assets it needs only (a subset of the one FR asset graph, built once
and cached by selection), not the whole sync job; quotes are taken without settle waits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from assets.ssm.assets import SSMPushSettings
from pipelines.definitions import build_defs
from resources.sage_fr import SageFrExportsResource, SageFrImportsResource
from resources.ssm import SSMResource
from resources.warehouse import WarehouseResource
from sandbox.sage_fr import generate
from sandbox.sage_fr import sage as fr_sage
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.conftest import act_as_rep, ssm_records

DEFS = build_defs("fr")
EXPORTS = tuple(k.to_user_string() for k in DEFS.resolve_all_asset_keys() if k.path[0] == "sage_fr")
# What a sync runs for accounts and contacts, in its order.
ACCOUNTS = (
    *EXPORTS, "inbox/ssm_accounts", "inbox/ssm_contacts", "inbox/sage_customers",
    "inbox/sage_contacts", "staging/customer_accounts", "staging/contacts", "ssm/value_lists",
    "ssm/desired_accounts", "ssm/desired_contacts", "ssm/push_accounts", "ssm/push_contacts",
)  # fmt: skip
# ... and for articles and sales orders (devis included): the quote writer runs in the sync too.
ORDERS = (
    *ACCOUNTS, "staging/product_items", "staging/product_categories", "staging/vat_rates",
    "staging/currencies", "staging/stock_levels", "derived/vat_rates", "derived/stock",
    "ssm/desired_product_categories", "ssm/push_product_categories", "ssm/desired_products",
    "ssm/push_products", "inbox/sage_quotes", "staging/sales_order_headers",
    "staging/sales_order_lines", "derived/sales_order_totals", "ssm/desired_sales_orders",
    "ssm/push_sales_orders", "ssm/desired_sales_order_lines", "ssm/push_sales_order_lines",
    "derived/quote_price_explanation",
)  # fmt: skip
QUOTES = ("inbox/ssm_salesorders", "inbox/sage_quotes")  # the job ssm_quotes


@cache
def job(selection: tuple[str, ...], upstream: bool = False) -> dg.JobDefinition:
    """The FR asset graph's subset `selection` (with all it reads, `upstream`: the first run,
    which makes every table), as one job built once."""
    graph = DEFS.resolve_asset_graph()
    chosen = dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(k) for k in selection))
    if upstream:
        chosen = chosen.upstream() - dg.AssetSelection.assets(*QUOTES[:1])
    keys = chosen.resolve(graph)
    return DEFS.resolve_implicit_global_asset_job_def().get_subset(asset_selection=keys)


@dataclass
class Dossier:
    exports: Path
    imports: Path
    warehouse: Path
    ssm: SandboxProcess
    instance: dg.DagsterInstance

    def run(
        self, selection: tuple[str, ...] = ACCOUNTS, upstream: bool = False
    ) -> dict[str, dict[str, Any]]:
        """The assets `selection` in one run; each materialization's metadata by asset key."""
        resources = {
            "warehouse": WarehouseResource(database=str(self.warehouse)),
            "sage_fr_exports": SageFrExportsResource(folder=str(self.exports), settle_seconds=0),
            "sage_fr_imports": SageFrImportsResource(folder=str(self.imports)),
            "ssm": SSMResource(base_url=self.ssm.base_url, public_key=self.ssm.public_key,
                               private_key=self.ssm.private_key, requests_per_second=200),
            # one delete of the small dossier's 12 accounts is past the delete breaker's 5 %
            "ssm_push": SSMPushSettings(allow_mass_delete=True),
        }  # fmt: skip
        result = job(selection, upstream).execute_in_process(
            resources=resources, instance=self.instance, raise_on_error=False
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        out = {}
        for event in result.get_asset_materialization_events():
            m = event.event_specific_data.materialization  # type: ignore[union-attr]
            out[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
        return out

    sync = run

    def rep(self, method: str, resource: str, record_id: int | None = None, **body: Any) -> int:
        return act_as_rep(self.ssm, method, resource, record_id, **body)

    def record(self, resource: str, record_id: int) -> dict[str, Any]:
        return next(r for r in ssm_records(self.ssm, resource) if r["id"] == record_id)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()

    def value_id(self, list_name: str, key: str) -> int:
        ((found,),) = self.query(
            "SELECT min(id) FROM ssm.value_lists WHERE list_name = ? AND key = ?",
            list_name, key.lower(),
        )  # fmt: skip
        return int(found)

    def user_name(self, user_id: int) -> str:
        ((label,),) = self.query(
            "SELECT any_value(label) FROM ssm.value_lists WHERE list_name = 'users' AND id = ?",
            user_id,
        )
        return str(label)

    def waiting(self) -> dict[str, bytes]:
        """The import files Sage has not consumed: name -> bytes."""
        return {p.name: p.read_bytes() for p in sorted(self.imports.glob("*.txt"))}

    def sage_import(self) -> fr_sage.Imported:
        return fr_sage.import_files(self.imports, self.exports)


def dossier_for(tmp_path: Path, selection: tuple[str, ...]) -> Iterator[Dossier]:
    """The small demo dossier's exports, the SSM sandbox, and a first run of `selection`."""
    generate(tmp_path / "exports", "small", seed=1)
    with running_sandbox(tmp_path, rate=200) as ssm, dg.DagsterInstance.ephemeral() as instance:
        found = Dossier(tmp_path / "exports", tmp_path / "imports", tmp_path / "wh.duckdb", ssm,
                        instance)  # fmt: skip
        found.run(selection, upstream=True)
        yield found


@pytest.fixture
def dossier(tmp_path: Path) -> Iterator[Dossier]:
    yield from dossier_for(tmp_path, ACCOUNTS)


@pytest.fixture
def ordering_dossier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dossier]:
    """A dossier whose articles and orders are in SSM too; quotes taken without a settle wait
    (the test's lines are all in before the quote job runs)."""
    monkeypatch.setenv("SSM_QUOTE_SETTLE_SECONDS", "0")
    yield from dossier_for(tmp_path, ORDERS)
