"""Quotes for a Sage 50 FR dossier: a rep's SSM quote written as a devis in an import file,
priced by Sage on import, and read back from the next export.

The quote flow is the UK one (assets/inbox/quotes.py `QuoteRun`: checks, dead letters, the
outbox, the SSM update with Sage's prices, number, priced status and read-only); this module is
its Sage side for an FR dossier:

* `FrQuoteWriter.price_quote` prices nothing: Sage 50 FR applies its own tarifs when it imports
  the devis (article price, client's remise, the article's TVA), and the export brings them;
* `post_quote` appends the devis (an E row: client, date, `SSM:<id>` in Réf. commande; L rows:
  article, quantity) to the run's devis import file and answers `QueuedForImport`: the quote
  stays `pending_write` in the quote ledger;
* `find_quote` answers the devis number once an export shows a devis whose Réf. commande holds
  `SSM:<id>`, `QueuedForImport` while its file waits, None when Sage refused it (the quote is
  then a dead letter until the rep changes it, never written again unchanged);
* `read_devis` reads that devis from the exports as staging reads it (the same numbers: a devis
  DE00012 is quotation 500000012, `document_types` in layout.yaml), so the push's ledger and the
  quote flow name it alike.

The rep waits for Sage's next import AND its next export: the latency is Sage's schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import duckdb

from assets.fr.imports import (
    DEVIS,
    REFUSED,
    WAITING,
    Connect,
    FrImportWriter,
    QueuedForImport,
    _Row,
)
from assets.fr.layout import Layout, default_layout
from assets.fr.staging import FR_MACROS, fr_select
from assets.ssm.settings import SyncSettings
from assets.staging.factory import SQL_MACROS
from resources.sage.quotes import Quotation, QuotationLine
from resources.sage.writer import SageWriteError

# The quote flow's hold checks (assets/inbox/quotes.py HOLD_FIELDS) -> the clients export columns.
HOLD_COLUMNS = {"ACCOUNT_ON_HOLD": "bloque", "INACTIVE_FLAG": "en_sommeil"}


def _french(value: Any) -> str:
    """A quantity as Sage 50 FR writes it: "2", "1,5"."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text.replace(".", ",")


class FrQuoteWriter(FrImportWriter):
    """The quote flow's writer for one Sage 50 FR dossier (see the module)."""

    def check_quote_fields(self) -> None:
        if DEVIS not in self.imports.kinds:
            raise SageWriteError(
                None, f"the import layout {self.imports.path.name} has no kind `devis`", False,
                "use field", "devis", advice=f"declare it in {self.imports.path}",
            )  # fmt: skip

    def customer(self, ref: str, fields: Sequence[str]) -> dict[str, Any] | None:
        """A client's hold flags (Bloqué, En sommeil) from the last export; None for a code the
        clients export lacks (a prospect, or unknown): Sage 50 FR quotes its clients here."""
        rows = self._export(self.imports.kinds["clients"].table,
                            "code = ? AND deleted_at IS NULL", [ref])  # fmt: skip
        if not rows:
            return None
        return {name: rows[0].get(HOLD_COLUMNS[name]) if name in HOLD_COLUMNS else None
                for name in fields}  # fmt: skip

    def price_quote(
        self, account_ref: str, lines: Sequence[tuple[str, Decimal]]
    ) -> list[dict[str, Any]]:
        """Nothing priced here: the lines as Sage 50 FR imports them, Sage prices them."""
        return [{"STOCK_CODE": code, "QTY_ORDER": quantity} for code, quantity in lines]

    def post_quote(
        self,
        account_ref: str,
        marker: str,
        lines: Sequence[Mapping[str, Any]],
        *,
        order_date: dt.date,
        taken_by: str,
    ) -> int:
        kind = self.imports.kinds[DEVIS]
        handed = {"ACCOUNT_REF": account_ref, "ORDER_DATE": order_date.strftime("%d/%m/%Y"),
                  "TAKEN_BY": taken_by, self.ssm_id_field: marker}  # fmt: skip
        head = dict(kind.constants)
        for name, value in handed.items():
            for column in self.fields[DEVIS].get(name, ())[:1]:
                head[column] = value
        body = []
        for line in lines:
            values = {**line, "QTY_ORDER": _french(line["QTY_ORDER"])}
            body.append({columns[0]: str(values[name])
                         for name, columns in kind.line_fields.items()
                         if columns and values.get(name) is not None})  # fmt: skip
        row = {"E": head, "L": body}
        label = f"devis {marker}"
        mine = [r for r in self.rows() if r.kind == DEVIS and r.marker == marker]
        waiting = [r for r in mine if r.state in WAITING]
        if waiting:
            raise QueuedForImport(label, waiting[-1].file_name or "this run")
        refused = next((r for r in mine if r.state == REFUSED and r.values == row), None)
        if refused is not None:
            raise SageWriteError(
                None, f"Sage 50 FR did not import it from {refused.file_name!r} (its next export "
                "shows no devis with this reference)", False, "import", label,
                advice="see Sage's import report (an article or client it refuses), then change "
                "the quote in SSM to try again",
            )  # fmt: skip
        self._queue(_Row(DEVIS, "create", marker, marker, row))
        return 0  # not reached: _queue raises

    def find_quote(self, marker: str) -> int | None:
        mine = [r for r in self.rows() if r.kind == DEVIS and r.marker == marker]
        with self.connect() as con:
            pieces = self.devis_pieces(con, marker)
        live = [n for n, is_live, _ in pieces if is_live]
        if live and mine:
            return devis_number(live[-1], self.layout)
        waiting = [r for r in mine if r.state in WAITING]
        if waiting:
            raise QueuedForImport(f"devis {marker}", waiting[-1].file_name)
        return None

    def waiting_devis(self) -> int:
        """How many devis wait for Sage's import or its next export."""
        return sum(1 for r in self.rows() if r.kind == DEVIS and r.state in WAITING)


def devis_number(numero: str, layout: Layout | None = None) -> int:
    """A devis's quotation number, as staging numbers it (_documents.sql): the piece number's
    digits plus the devis type's number_base."""
    layout = layout or default_layout()
    base = next(t.number_base for t in layout.document_types if t.becomes == "quote")
    digits = "".join(c for c in numero if c.isdigit())
    return int(digits or 0) + base


def read_devis(
    connect: Connect, number: int, settings: SyncSettings, layout: Layout | None = None
) -> Quotation | None:
    """Devis `number` as the last export read shows it (the staging SELECTs of sales orders,
    one document), or None when no live devis has that number."""
    layout = layout or default_layout()
    heads_sql = fr_select("sales_order_headers", layout, settings)
    lines_sql = fr_select("sales_order_lines", layout, settings)
    assert heads_sql and lines_sql  # noqa: S101 - FR has both sections
    with connect() as con:
        con.execute(SQL_MACROS)
        con.execute(FR_MACROS)
        heads = _dicts(con, f"SELECT * FROM ({heads_sql}) WHERE order_number_accounts_id = ? "  # noqa: S608
                       "AND order_type = 'Quotation' AND deleted_at IS NULL", [number])  # fmt: skip
        if not heads:
            return None
        lines = _dicts(con, f"SELECT * FROM ({lines_sql}) WHERE order_number = ? "  # noqa: S608
                       "AND deleted_at IS NULL ORDER BY line_number", [number])  # fmt: skip
    head = heads[0]

    def money(value: Any) -> Decimal:
        return Decimal(str(value)) if value is not None else Decimal(0)

    items = []
    for line in lines:
        net, tax = money(line["line_net_amount_foreign"]), money(line["line_tax_amount_foreign"])
        items.append(
            QuotationLine(
                item_number=int(line["line_number"]), stock_code=line["product_reference"] or "",
                description=line["product_description"] or "",
                quantity=money(line["quantity_ordered"]),
                unit_price=money(line["unit_price_foreign"]),
                foreign_unit_price=money(line["unit_price_foreign"]),
                discount_rate=money(line["discount_rate"]),
                discount_amount=Decimal(0), foreign_discount_amount=Decimal(0),
                net_amount=net, foreign_net_amount=net, tax_amount=tax, foreign_tax_amount=tax,
                gross_amount=money(line["line_gross_amount_foreign"]),
                foreign_gross_amount=money(line["line_gross_amount_foreign"]),
                tax_code="", tax_rate=(tax * 100 / net).quantize(Decimal("0.01")) if net else
                Decimal(0),
            )
        )  # fmt: skip
    return Quotation(
        order_number=number, account_ref=head["customer_account"] or "",
        order_date=head["order_date"], cust_order_number=head["customer_order_reference"] or "",
        currency=head["currency_code"] or layout.currency, currency_number=1,
        foreign_rate=Decimal(1), order_or_quote="Quotation", quote_status_id=1,
        net=money(head["sage_net_value_base"]), tax=money(head["sage_tax_value_base"]),
        gross=money(head["sage_gross_value_base"]),
        foreign_net=money(head["sage_net_value_foreign"]),
        foreign_tax=money(head["sage_tax_value_foreign"]),
        foreign_gross=money(head["sage_gross_value_foreign"]), lines=tuple(items),
    )  # fmt: skip


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
