"""The devis writer of a Sage 50 FR dossier against its export files, without SSM: a devis Sage
refuses is not written again unchanged, a changed one is; the stand-in's pricing by hand; the
hold flags from the clients export."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.fr.devis import FrQuoteWriter, devis_number, read_devis
from assets.fr.imports import QueuedForImport
from assets.fr.layout import default_layout
from assets.fr.source import read_folder
from assets.inbox.quotes import HOLD_FIELDS
from assets.ssm.settings import SyncSettings
from resources.sage.writer import SageWriteError
from sandbox.sage_fr import generate
from sandbox.sage_fr import sage as fr_sage

DAY = dt.date(2026, 3, 2)


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    generate(tmp_path / "exports", "small", seed=1)
    yield tmp_path / "exports", tmp_path / "imports", tmp_path / "wh.duckdb"


def _reader(database: Path):  # noqa: ANN202 - a context-manager factory
    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        with duckdb.connect(str(database)) as con:
            yield con

    return connect


def _read_exports(exports: Path, database: Path) -> None:
    time.sleep(0.01)  # a rewritten export is newer than the import it follows
    with duckdb.connect(str(database)) as con:
        read_folder(con, exports, default_layout(), settle_seconds=0, run_id="test")


def _next_export(exports: Path) -> None:
    """Sage's next scheduled export of pieces, a clerk having edited another devis meanwhile."""
    pieces = fr_sage.read_pieces(exports)
    column = pieces.titles("E").index("Statut devis") + 1
    row = next(r for r in pieces.records[2:] if r[0] == "E" and r[1] == "Devis")
    row[column] = "Accepté"
    fr_sage.write_pieces(exports, pieces)


def _writer(imports: Path, database: Path) -> FrQuoteWriter:
    return FrQuoteWriter(_reader(database), imports, rep_field="ANALYSIS_2",
                         ssm_id_field="ANALYSIS_3", prospect_field="ANALYSIS_1",
                         prospect_value="Prospect")  # fmt: skip


def _post(writer: FrQuoteWriter, code: str, quantity: int) -> None:
    with writer, pytest.raises(QueuedForImport):
        writer.post_quote("CL00004", "SSM:77", [{"STOCK_CODE": code, "QTY_ORDER": Decimal(quantity)}],
                          order_date=DAY, taken_by="Sophie Marchand")  # fmt: skip


def test_a_refused_devis_waits_for_a_change_and_a_priced_one_reads_back(folders) -> None:  # noqa: ANN001
    exports, imports, database = folders
    _read_exports(exports, database)
    _post(_writer(imports, database), "ART0001", 2)
    with pytest.raises(QueuedForImport):
        _writer(imports, database).find_quote("SSM:77")

    # Sage no longer knows the article when it imports: its report refuses the devis.
    fr_sage.delete(exports, "articles", "ART0001")
    imported = fr_sage.import_files(imports, exports)
    assert imported.refused == ["devis SSM:77: ligne 1 : article 'ART0001' inconnu"]
    _read_exports(exports, database)
    # The export Sage wrote with the import may predate what the connector knows of the
    # consumption: the refusal is the verdict of an export written after it noticed.
    with pytest.raises(QueuedForImport):
        _writer(imports, database).find_quote("SSM:77")
    _next_export(exports)
    _read_exports(exports, database)
    writer = _writer(imports, database)
    assert writer.find_quote("SSM:77") is None
    with pytest.raises(SageWriteError, match="did not import it") as refused:
        writer.post_quote("CL00004", "SSM:77", [{"STOCK_CODE": "ART0001", "QTY_ORDER": 2}],
                          order_date=DAY, taken_by="")  # fmt: skip
    assert not refused.value.transient
    writer.close()
    assert list(imports.glob("*.txt")) == []

    # Changed by the rep: written again, imported, priced, read back as staging reads it.
    _post(_writer(imports, database), "ART0003", 3)
    (created,) = fr_sage.import_files(imports, exports).created
    _read_exports(exports, database)
    number = _writer(imports, database).find_quote("SSM:77")
    assert number == devis_number(created.removeprefix("pieces "))
    quote = read_devis(_reader(database), number, SyncSettings.from_env())
    assert quote is not None
    # 3 × 18,90 less the client's 5 % = 53,865 -> 53,87; TVA 5,5 % = 2,96285 -> 2,96.
    ((line),) = quote.lines
    assert (line.stock_code, line.quantity, line.foreign_unit_price, line.discount_rate) == (
        "ART0003", 3, Decimal("18.90"), 5)  # fmt: skip
    assert (line.foreign_net_amount, line.foreign_tax_amount) == (Decimal("53.87"), Decimal("2.96"))
    assert (quote.foreign_net, quote.foreign_tax, quote.foreign_gross) == (
        Decimal("53.87"), Decimal("2.96"), Decimal("56.83"))  # fmt: skip
    assert (quote.account_ref, quote.cust_order_number, quote.order_date) == (
        "CL00004", "SSM:77", DAY)  # fmt: skip
    assert read_devis(_reader(database), number + 1, SyncSettings.from_env()) is None


def test_hold_flags_come_from_the_clients_export(folders) -> None:  # noqa: ANN001
    exports, imports, database = folders
    _read_exports(exports, database)
    writer = _writer(imports, database)
    assert writer.customer("CL00006", HOLD_FIELDS)["ACCOUNT_ON_HOLD"]  # Bloqué: Oui
    assert not writer.customer("CL00004", HOLD_FIELDS)["ACCOUNT_ON_HOLD"]
    assert writer.customer("PR00001", HOLD_FIELDS) is None  # a prospect: not a client
