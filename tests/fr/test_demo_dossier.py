"""The demo FR dossier, end to end: its export files → the real `sage_ssm_sync` job of a
SAGE_EDITION=fr company → the SSM sandbox as a process. SSM then holds exactly the desired
records, and each document's total and payment status are the dossier's own (computed by the
generator from its lines, not by the reader)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import build_defs
from resources.sage_fr import SageFrExportsResource
from resources.ssm import SSMResource
from resources.warehouse import WarehouseResource
from sandbox.sage_fr import generate
from sandbox.ssm.testing import running_sandbox
from tests.ssm.compare import assert_ssm_holds_desired
from tests.ssm.conftest import ssm_records

pytestmark = pytest.mark.xdist_group("end_to_end")


def test_the_demo_dossier_lands_in_ssm(tmp_path: Path) -> None:
    dossier = generate(tmp_path / "exports", "small", seed=1)
    warehouse = tmp_path / "warehouse.duckdb"
    defs = build_defs("fr")
    with running_sandbox(tmp_path, rate=200) as ssm, dg.DagsterInstance.ephemeral() as instance:
        resources = {
            "warehouse": WarehouseResource(database=str(warehouse)),
            "sage_fr_exports": SageFrExportsResource(
                folder=str(tmp_path / "exports"), settle_seconds=0
            ),
            "ssm": SSMResource(base_url=ssm.base_url, public_key=ssm.public_key,
                               private_key=ssm.private_key, requests_per_second=200),
        }  # fmt: skip
        result = defs.resolve_job_def("sage_ssm_sync").execute_in_process(
            resources=resources, instance=instance, raise_on_error=False
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        held = assert_ssm_holds_desired(warehouse, ssm)
        # 8 clients + 3 prospects; 18 factures (3 not posted) + 3 avoirs; 6 bons de commande
        assert (held["accounts"], held["sales"], held["sales_orders"]) == (11, 21, 6)
        sales = {s["extId"]: s for s in ssm_records(ssm, "sales")}
        for piece in dossier.pieces:
            if piece.type not in ("Facture", "Avoir"):
                continue
            number = int(piece.number[2:]) + (900000000 if piece.type == "Avoir" else 0)
            got = sales[str(number)]
            sign = -1 if piece.type == "Avoir" else 1
            assert Decimal(str(got["total"])) == sign * piece.total_gross, piece.number
            status = (
                "Not posted" if not piece.posted
                else "Paid" if piece.settled
                else "Part paid" if piece.outstanding is not None
                else "Unpaid"
            )  # fmt: skip
            assert got["Z_PaymentStatus"] == status, piece.number
        orders = {o["extId"]: o for o in ssm_records(ssm, "salesorders")}
        for piece in dossier.pieces:
            if piece.type == "Bon de commande":
                total = orders[str(int(piece.number[2:]))]["total"]
                assert Decimal(str(total)) == piece.total_gross, piece.number
        accounts = {a["extId"]: a for a in ssm_records(ssm, "accounts")}
        assert accounts["CL00001"]["readOnly"] is True
        assert accounts["PR00001"]["readOnly"] is False  # a prospect stays editable in SSM
