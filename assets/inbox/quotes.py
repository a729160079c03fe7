"""Quotations: a rep's quote in SSM priced by Sage 50, posted as a Sage quotation, back read-only.

A quote is an SSM sales order in the quote status (`SSM_QUOTE_STATUS`) whose lines name products
and quantities. The same engine as the rest of the reverse flow (`engine.ReverseRun`: inbox →
decision → outbox ledger `inbox.written_salesorders` → acknowledgement, dead letters):

1. **Checks** (nothing is posted otherwise; the reason goes to `sync.dead_letters` and to the
   order's `Z_SageSync` field, and the quote is tried again when the rep saves it again): the
   account has a Sage code and is not a prospect, Sage knows it and it is not on stop or
   inactive; every line names a product Sage knows (no free-text line) with a quantity > 0.
2. **Price**: Sage's own calculator (`SageWriter.price_quote`: SDO's `invoice` object on
   Windows, the stand-in's rules here); nothing is priced by the connector.
3. **Post** (`SageWriter.post_quote`): a sales-order quotation (SopPost, ORDER_TYPE 9, open)
   whose CUST_ORDER_NUMBER is `SSM:<order id>`. The ledger row is `pending_write` before the
   call; a run that dies before the answer looks the quotation up by that marker
   (`find_quote`) and never posts twice.
4. **Read back** that quotation's SALES_ORDER / SOP_ITEM rows over ODBC (a targeted read, not a
   cycle) and update SSM: each line's price, discount, total; the order's total, net, tax, the
   Sage number (extId and reference), the priced status, read-only. The push's ledger is told
   what SSM now holds, so the next sync sends only what Sage changes later (edits, conversion
   into an order, delete), nothing back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import duckdb

from assets.inbox import feed
from assets.inbox.engine import (
    ACKNOWLEDGED,
    PENDING_WRITE,
    WRITTEN,
    ReverseReport,
    ReverseRun,
    SageWriter,
    SSMRecords,
    Version,
    Warehouse,
    flat,
)
from assets.inbox.rules import ReverseSettings, clean, ssm_marker
from assets.ssm import ledger
from assets.ssm.contract import pushed
from assets.ssm.plan import ssm_name, sync_stamp
from assets.ssm.settings import SyncSettings
from assets.ssm.value_lists import rows_of
from resources.sage.quotes import Quotation
from resources.ssm import where as w
from resources.ssm.errors import SSMError

QUOTATIONS = "quotations"
LINES = "salesordersLines"
STATUS_LIST = "salesorderStatuses"
# SalesRecord fields that stop a quote: Sage's "account on hold" and "inactive" flags.
HOLD_FIELDS = ("ACCOUNT_ON_HOLD", "INACTIVE_FLAG")


class QuoteWriter(SageWriter, Protocol):
    def price_quote(
        self, account_ref: str, lines: Sequence[tuple[str, Decimal]]
    ) -> list[dict[str, Any]]: ...

    def post_quote(
        self,
        account_ref: str,
        marker: str,
        lines: Sequence[Mapping[str, Any]],
        *,
        order_date: date,
        taken_by: str,
    ) -> int: ...

    def find_quote(self, marker: str) -> int | None: ...


class QuoteRecords(SSMRecords, Protocol):
    def list(
        self, resource: str, where: str | None = None, order: str | None = None
    ) -> Iterable[dict[str, Any]]: ...

    def bulk_update(self, resource: str, items: Sequence[tuple[int, dict]]) -> list[Any]: ...

    def create(self, resource: str, data: dict, *, check_existing: bool = False) -> int: ...


ReadQuotation = Callable[[int], Quotation | None]


def _fk(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def status_ids(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> dict[str, int]:
    """The SSM ids of the sales-order statuses named (description, any case) in the lists."""
    wanted = {n.strip().lower(): n for n in names}
    rows = con.execute(
        "SELECT key, min(id) FROM ssm.value_lists WHERE list_name = ? AND list_contains(?, key) "
        "GROUP BY key",
        [STATUS_LIST, list(wanted)],
    ).fetchall()
    return {wanted[k]: int(i) for k, i in rows}


def ensure_statuses(
    con: duckdb.DuckDBPyConnection, client: QuoteRecords, sync: SyncSettings
) -> dict[str, int]:
    """The quote statuses' SSM ids, created in SSM when missing (they are settings, not SSM's
    defaults). Costs nothing once `ssm.value_lists` knows them."""
    from assets.ssm.value_lists import DDL

    con.execute(DDL)
    names = [sync.quote_status, sync.quote_priced_status]
    if sync.quote_ordered_status:
        names.append(sync.quote_ordered_status)
    known = status_ids(con, names)
    if len(known) == len(names):
        return known
    items = list(client.list(STATUS_LIST))
    by_name = {str(i.get("descriptionEN") or i.get("description") or "").strip().lower(): i
               for i in items if not i.get("deleted")}  # fmt: skip
    for name in names:
        if name.strip().lower() not in by_name:
            try:
                new_id = client.create(STATUS_LIST, {"descriptionEN": name, "description": name})
            except SSMError as exc:
                # The vendor's OpenAPI lists statuses read-only: a tenant may refuse the create.
                raise SSMError(
                    f"SSM has no sales-order status {name!r} and did not let the connector create "
                    f"it ({exc.message}): create it in SSM's settings, or name an existing status "
                    "in SSM_QUOTE_STATUS / SSM_QUOTE_PRICED_STATUS / SSM_QUOTE_ORDERED_STATUS",
                    status=exc.status,
                    code=exc.code,
                    resource=STATUS_LIST,
                ) from exc
            by_name[name.strip().lower()] = {"id": new_id, "descriptionEN": name}
    rows = rows_of(STATUS_LIST, list(by_name.values()))
    con.execute("DELETE FROM ssm.value_lists WHERE list_name = ?", [STATUS_LIST])
    con.executemany("INSERT INTO ssm.value_lists VALUES (?, ?, ?, ?, ?, ?)", rows)
    return status_ids(con, names)


def quote_filter(status_id: int) -> str:
    """The `where` of the quote feed: only orders in the quote status."""
    return w.eq("statusId", status_id)


class QuoteRun(ReverseRun):
    """The quotes of one run (resource `salesorders`, contract entry `quotations`)."""

    def __init__(
        self,
        warehouse: Warehouse,
        client: QuoteRecords,
        writer: Callable[[], QuoteWriter],
        sync: SyncSettings,
        settings: ReverseSettings,
        run_id: str,
        read_quotation: ReadQuotation,
        *,
        clock: Callable[[], datetime] = ledger.now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(warehouse, client, writer, sync, settings, run_id, "salesorders")
        self.client: QuoteRecords = client
        self.entity = QUOTATIONS
        self.report = ReverseReport(resource=QUOTATIONS, run_id=run_id)
        self.read_quotation = read_quotation
        self.clock, self.sleep = clock, sleep
        self._quote_lookups: tuple[dict[str, int], dict[int, str], dict[int, str]] | None = None

    @property
    def quote_writer(self) -> QuoteWriter:
        return self.writer  # type: ignore[return-value]

    def _lookups(self) -> tuple[dict[str, int], dict[int, str], dict[int, str]]:
        """(status ids by name, Sage stock code by SSM product id, currency ISO by SSM id)."""
        if self._quote_lookups is None:
            with self._con() as con:
                ledger.ensure_tables(con, ["products"])
                statuses = status_ids(
                    con,
                    [s for s in (self.sync.quote_status, self.sync.quote_priced_status,
                                 self.sync.quote_ordered_status) if s],
                )  # fmt: skip
                products = dict(
                    con.execute(
                        "SELECT ssm_id, ext_id FROM ssm.synced_products "
                        "WHERE state IN ('synced', 'from_ssm')"
                    ).fetchall()
                )
                currencies = dict(
                    con.execute(
                        "SELECT id, any_value(item_value) FROM ssm.value_lists "
                        "WHERE list_name = 'currencies' AND item_field = 'isoCode' GROUP BY id"
                    ).fetchall()
                )
            self._quote_lookups = (statuses, products, currencies)
        return self._quote_lookups

    # --- one quote

    def _handle(self, v: Version) -> None:
        r = v.record
        statuses, products, _ = self._lookups()
        written = self.lookups_written(v.ssm_id)
        if r.get("deleted"):
            self.decide(v, "skipped", "deleted in SSM: an SSM delete never reaches Sage")
            return
        if written is not None and written[1] in (WRITTEN, ACKNOWLEDGED):
            self.decide(v, "echo", f"Sage quotation {written[0]}: nothing more to write")
            return
        if clean(r.get("extId")) is not None or r.get("readOnly"):
            self.decide(v, "skipped", f"Sage-owned ({r.get('extId')}): SSM edits never reach Sage")
            return
        pending = statuses.get(self.sync.quote_status)
        status = _fk(r.get("statusId"))
        if pending is None or status is None or int(status) != pending:
            self.decide(v, "skipped", f"status {status} is not the quote status")
            return
        if not self._claims(r):
            self.decide(v, "skipped", "another company's quote: its account is another company's")
            return
        lines = self._settled_lines(v)
        if not lines:
            self.decide(v, "deferred", "the quote has no lines yet")
            return
        account = self.lookups.sage_ref_of_account(_fk(r.get("accountId")))
        codes = [products.get(int(_fk(line.get("productId")) or 0)) for line in lines]
        values = {
            "account": account,
            "lines": [
                [code, line.get("quantity")] for code, line in zip(codes, lines, strict=True)
            ],
        }
        reason = self._open_dead_letter(v, values)
        if reason is not None:
            self.decide(v, "dead_letter", f"unchanged since it failed: {reason}")
            return
        problems = self._problems(r, account, lines, codes)
        if not problems and account is not None:
            sage = self.writer.customer(account, HOLD_FIELDS)
            if sage is None:
                problems.append(f"account {account} is not in Sage")
            else:
                if sage.get("ACCOUNT_ON_HOLD") not in (None, 0, False, "0", ""):
                    problems.append(f"account {account} is on stop in Sage")
                if sage.get("INACTIVE_FLAG") not in (None, 0, False, "0", ""):
                    problems.append(f"account {account} is inactive in Sage")
        if problems:
            self.dead_letter(v, "create", "; ".join(problems), "invalid", values)
            return
        assert account is not None  # noqa: S101 - a problem otherwise
        self._post(v, account, lines, [str(c) for c in codes], values)

    def _claims(self, r: dict[str, Any]) -> bool:
        """Whether this company prices a quote: one on another company's account (another
        prefix, or a rep's new account another company takes) is left to that company. With
        shared keys (no prefix) every company knows the account: the owning one prices it."""
        account, look = _fk(r.get("accountId")), self.lookups
        if (
            account is not None
            and look.sage_ref_of_account(account) is None
            and int(account) not in look.inbox_accounts
        ):
            # Not landed by the accounts feed yet (the quote job runs on its own): one read.
            for record in self.client.list("accounts", where=w.eq("id", int(account))):
                branch = _fk(record.get("branchId"))
                look.inbox_accounts[int(account)] = (
                    clean(record.get("extId")),
                    None if branch is None else int(branch),
                )
        if look.another_companys_account(account):
            return False
        return bool(self.sync.ext_id_prefix) or self.sync.shared_keys_owner

    def lookups_written(self, ssm_id: int) -> tuple[str, str] | None:
        with self._con() as con:
            row = con.execute(
                "SELECT sage_key, state FROM inbox.written_salesorders WHERE ssm_id = ?",
                [ssm_id],
            ).fetchall()
        return (row[0][0], row[0][1]) if row else None

    def _problems(
        self, r: dict[str, Any], account: str | None, lines: list[dict], codes: list[str | None]
    ) -> list[str]:
        problems: list[str] = []
        if account is None:
            problems.append(
                "its account has no Sage account code yet (a company Sage has not created: "
                "set it to Client first)"
            )
        elif account in self.lookups.prospects:
            problems.append(f"its account {account} is a prospect: Sage quotes customers only")
        for n, (line, code) in enumerate(zip(lines, codes, strict=True), 1):
            product = _fk(line.get("productId"))
            if product is None:
                problems.append(f"line {n} is free text: Sage prices products only")
            elif code is None:
                problems.append(f"line {n}: product {product} is not a Sage product")
            quantity = line.get("quantity")
            if not isinstance(quantity, int | float) or quantity <= 0:
                problems.append(f"line {n}: quantity {quantity} must be more than 0")
        return problems

    def _lines(self, order_id: int) -> list[dict[str, Any]]:
        lines = [
            flat(line)
            for line in self.client.list(LINES, where=w.eq("salesOrderId", order_id))
            if not line.get("deleted")
        ]
        return sorted(lines, key=lambda line: (line.get("order") or 0, int(line["id"])))

    def _settled_lines(self, v: Version) -> list[dict[str, Any]]:
        """The quote's lines once neither it nor they changed for SSM_QUOTE_SETTLE_SECONDS: a
        rep's client creates the order first, then its lines one by one."""
        settle = self.settings.quote_settle_seconds
        lines = self._lines(v.ssm_id)
        for _ in range(3):
            newest = max([v.version, *filter(None, (feed.version_of(line) for line in lines))])
            wait = settle - (self.clock() - newest).total_seconds()
            if wait <= 0:
                break
            self.sleep(min(wait, settle))
            lines = self._lines(v.ssm_id)
        return lines

    def _post(
        self, v: Version, account: str, lines: list[dict], codes: list[str], values: dict
    ) -> None:
        self.report.planned += 1
        writer = self.quote_writer
        priced = writer.price_quote(
            account,
            [
                (code, Decimal(str(line["quantity"])))
                for code, line in zip(codes, lines, strict=True)
            ],
        )
        rep = _fk(v.record.get("salesRepId"))
        taken_by = self.lookups.user_name.get(int(rep), "") if rep is not None else ""
        key = self._write_once(
            v, "quotation", values,
            lambda: writer.post_quote(
                account, ssm_marker(v.ssm_id), priced, order_date=self.clock().date(),
                taken_by=taken_by[:60],
            ),
            key_of=str, payload=json.dumps({**values, "priced": priced}, default=str),
        )  # fmt: skip
        if key is None:
            return
        self.report.created += 1
        self._change(v, "sage_create", "ok", key, f"quotation {key} posted to Sage",
                     [f"{len(priced)} lines"])  # fmt: skip
        if self._acknowledge_quote(v, key, lines):
            self.decide(v, "created", f"Sage quotation {key}")

    # --- back to SSM

    def _acknowledge_quote(self, v: Version, key: str, lines: list[dict] | None = None) -> bool:
        """SSM gets Sage's prices, totals, number, the priced status and read-only."""
        quotation = self.read_quotation(int(key))
        if quotation is None:
            self.decide(v, "retry_later", f"quotation {key} is not readable in Sage yet")
            return False
        statuses, _, currencies = self._lookups()
        lines = self._lines(v.ssm_id) if lines is None else lines
        if len(lines) != len(quotation.lines):
            self.report.samples.append(
                (str(v.ssm_id), "note", f"{len(lines)} SSM lines, {len(quotation.lines)} in Sage")
            )
        error_name = self.sync.custom_name(self.settings.error_field)
        number = self.sync.ssm_ext_id(key)  # as the push sends it: the company's prefix
        order_changes: dict[str, Any] = {
            "extId": number,
            "reference": number,
            # In the order's currency, as the push sends Sage's orders.
            "total": float(quotation.foreign_gross),
            self.sync.custom_name("Z_NetTotal"): float(quotation.foreign_net),
            self.sync.custom_name("Z_TaxTotal"): float(quotation.foreign_tax),
            "statusId": statuses[self.sync.quote_priced_status],
            "readOnly": True,
            **sync_stamp(pushed("sales_orders"), self.sync),
        }
        if quotation.order_date is not None:
            order_changes["salesForcecastDate"] = quotation.order_date.isoformat()
        currency = next(
            (i for i, iso in currencies.items() if str(iso).upper() == str(quotation.currency)),
            None,
        )
        if currency is not None:
            order_changes["currencyId"] = currency
        if v.record.get(error_name):
            order_changes[error_name] = None
        line_stamp = sync_stamp(pushed("sales_order_lines"), self.sync)
        line_changes = [
            (
                int(line["id"]),
                {
                    "price": float(item.foreign_unit_price),
                    "discount1": float(item.discount_rate),
                    "total": float(item.foreign_net_amount),
                    "quantity": int(round(item.quantity)),
                    "description": (item.description or "")[:2000] or line.get("description"),
                    "order": item.item_number,
                    "readOnly": True,
                    **line_stamp,
                },
            )
            for line, item in zip(lines, quotation.lines, strict=False)
        ]
        if line_changes:
            failed = [r for r in self.client.bulk_update(LINES, line_changes) if not r.ok]
            if failed:
                self.decide(v, "retry_later", f"SSM did not take line prices: {failed[0].message}")
                return False
        self.client.update("salesorders", v.ssm_id, order_changes)
        self.report.acknowledged += 1
        self._ledger(v.ssm_id, sage_key=key, kind="quotation", state=ACKNOWLEDGED,
                     ssm_version=v.version, acknowledged_at=ledger.now())  # fmt: skip
        # What SSM holds now, in the push's terms: the push then sends only Sage's later changes.
        order = {**v.record, **order_changes}
        self._acknowledge_push_ledger(
            key, v.ssm_id, self._held(pushed("sales_orders"), order, error_name), "sales_orders"
        )
        for (line_id, changes), line, item in zip(line_changes, lines, quotation.lines,
                                                  strict=False):  # fmt: skip
            held = self._held(pushed("sales_order_lines"), {**line, **changes}, error_name)
            self._acknowledge_push_ledger(
                f"{key}/{item.item_number}", line_id, held, "sales_order_lines"
            )
        self._change(v, "ssm_acknowledge", "ok", key, "SSM carries Sage's prices and number",
                     sorted(order_changes))  # fmt: skip
        self._resolve_dead_letter(v)
        return True

    def _held(self, contract: Any, record: dict[str, Any], skip: str) -> dict[str, Any]:
        names = [ssm_name(rule, self.sync) for rule in contract.fields]
        return {n: _fk(record.get(n)) for n in names if n != skip}

    # --- interrupted runs

    def _finish_interrupted(
        self, ssm_id: int, key: str, kind: str, state: str, payload: dict,
        undecided: dict[int, Version],
    ) -> None:  # fmt: skip
        """A quote whose post or acknowledgement a dead run never recorded: found in Sage by
        its `SSM:<id>` marker, never posted twice."""
        if state == PENDING_WRITE:
            number = self.quote_writer.find_quote(ssm_marker(ssm_id))
            if number is None:
                self._forget(ssm_id)  # Sage never got it: priced and posted again
                self._change(ssm_id, "resolve", "not_found", None, "not in Sage: posted again")
                return
            key = str(number)
            self._ledger(ssm_id, sage_key=key, kind=kind, state=WRITTEN, written_at=ledger.now())
            self._change(ssm_id, "resolve", "ok", key, "found in Sage by its SSM id")
            self.report.resolved += 1
        v = undecided.pop(ssm_id, None)
        if v is None:
            with self._con() as con:
                rows = con.execute(
                    "SELECT id, version, record FROM inbox.salesorders WHERE id = ? "
                    "ORDER BY version DESC LIMIT 1",
                    [ssm_id],
                ).fetchall()
            if not rows:
                return
            v = Version(int(rows[0][0]), rows[0][1], flat(json.loads(rows[0][2])))
        if self._acknowledge_quote(v, key):
            self.decide(v, "created", f"Sage quotation {key} (the interrupted post, finished)")
