"""`generate()`: the whole demo company, in date order, into one SQLite file."""

from __future__ import annotations

import gc
import os
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random

from resources.sage_schema import CRM_TABLES
from sandbox.sage_demo import company
from sandbox.sage_demo.defects import write_defects
from sandbox.sage_demo.money import stamp
from sandbox.sage_demo.rand import DemoRandom
from sandbox.sage_demo.store import (
    DEFECTS_TABLE,
    Db,
    Sink,
    WriterProcess,
    create_tables,
    open_new,
)
from sandbox.sage_demo.trading import OLD_WEIGHTS, RECENT_WEIGHTS, SCENARIOS, Trading

DEFAULT_AS_OF = date(2026, 10, 31)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Size:
    customers: int
    products: int
    suppliers: int
    invoices: int  # invoices raised over the ten years (each has 1–7 lines, 4 on average)
    open_orders: int
    purchase_orders: int
    order_share: float  # share of product invoices raised from a (completed) sales order


SIZES: dict[str, Size] = {
    "tiny": Size(customers=30, products=40, suppliers=6, invoices=150, open_orders=10, purchase_orders=12, order_share=0.25),
    "small": Size(customers=2_000, products=1_000, suppliers=120, invoices=12_500, open_orders=300, purchase_orders=600, order_share=0.25),
    "large": Size(customers=50_000, products=20_000, suppliers=2_000, invoices=262_000, open_orders=4_000, purchase_orders=10_000, order_share=0.1),
}  # fmt: skip

# From this many invoices up, SQLite runs in a second process (`store.WriterProcess`) while this
# one makes the rows: same statements in the same order, so the same bytes, with SQLite's share
# of the work (about a third on `large`) off the critical path. Below it, starting the process
# would cost more than it saves.
WRITER_PROCESS_MIN_INVOICES = 5_000

# SDO FileType numbers, used as DELETED_RECORDS.TABLE_ID.
SDO_INVOICE_DATA, SDO_STOCK_DATA, SDO_SALES_DATA = 1, 4, 8

# The first open orders are fixed so every size has each case; the rest are random.
# (customer index, kind, allocated, despatch, quote status, carriage pence)
FIXED_OPEN_ORDERS = (
    (1, "order", "full", "none", 0, 1500),  # EUR account, carriage
    (2, "order", "part", "none", 0, 2500),  # USD account
    (0, "quote", "none", "none", 1, 0),
    (4, "order", "full", "part", 0, 995),
    (5, "order", "cancelled", "none", 0, 0),
    (3, "proforma", "none", "none", 0, 0),
    (9, "quote", "none", "none", 3, 0),
    (8, "order", "none", "none", 0, 0),
)


def generate(
    out: Path,
    size: str = "tiny",
    seed: int = 1,
    with_bad_rows: bool = False,
    as_of: date = DEFAULT_AS_OF,
) -> dict[str, int]:
    """Write the demo company to `out` (replaced atomically); return row counts per table."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    spec = SIZES[size]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    rng = DemoRandom(f"sage50-demo/{seed}")
    window_start = date(as_of.year - 10, 1, 1)
    # Clear Audit Trail ran once, up to the end of a year well before the current one.
    clear_date = date(as_of.year - 6, 12, 31)

    con: Db = (
        WriterProcess(partial)
        if spec.invoices >= WRITER_PROCESS_MIN_INVOICES
        else open_new(partial)
    )
    # The generator makes no reference cycles worth collecting (objects die by refcount), and
    # with millions of live rows and documents its passes cost ~30 % of the CPU on `large`.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        create_tables(con, CRM_TABLES)
        con.execute("BEGIN")
        counts = company.write_reference(con, as_of, window_start)
        masters = company.build_masters(
            rng,
            customers=spec.customers,
            products=spec.products,
            suppliers=spec.suppliers,
            window_start=window_start,
            as_of=as_of,
        )
        trading = Trading(
            con, rng, masters, as_of=as_of, window_start=window_start, clear_date=clear_date
        )
        deleted_invoices = _trade(rng, trading, masters, spec, as_of, window_start, clear_date)
        _finish_stock(rng, masters)
        for sink in trading.sinks():
            sink.flush()
            counts[sink.table] = counts.get(sink.table, 0) + sink.count
        counts.update(company.write_customers(con, masters.customers, as_of))
        counts.update(company.write_suppliers(con, masters.suppliers))
        counts.update(company.write_products(con, masters.products, as_of))
        counts.update(company.write_prices(con, masters, window_start))
        counts["DELETED_RECORDS"] = _write_deleted(con, masters, deleted_invoices)
        counts[DEFECTS_TABLE] = 0
        if with_bad_rows:
            added = write_defects(
                con, as_of, trading.next_invoice, trading.next_order, trading.next_item_id
            )
            for table, n in added.items():
                counts[table] = counts.get(table, 0) + n
        con.execute("COMMIT")
    finally:
        if gc_was_enabled:
            gc.enable()
        con.close()
    os.replace(partial, out)
    return {t: counts.get(t, 0) for t in (*CRM_TABLES, DEFECTS_TABLE)}


def _trade(
    rng: Random,
    trading: Trading,
    masters: company.Masters,
    spec: Size,
    as_of: date,
    window_start: date,
    clear_date: date,
) -> list[tuple[int, str]]:
    """Ten years of trading; returns the (number, deleted at) of deleted draft invoices."""
    customers = sorted(masters.customers, key=lambda c: (c.opened, c.ref))
    opened = [c.opened.toordinal() for c in customers]
    fixed = masters.customers
    start, end = window_start.toordinal(), as_of.toordinal()
    days = sorted(rng.randint(start, end) for _ in range(spec.invoices))
    on_account_at = {len(days) // 2, len(days) * 3 // 4} | set(range(97, len(days), 211))
    po_every = max(1, spec.invoices // spec.purchase_orders)
    stock_items = [p for p in masters.products if p.kind == "stock"]
    carriages = (495, 695, 995, 1250, 1500, 2500)
    # choices() with weights accumulates them on every call; the same sums, made once.
    old, recent = list(accumulate(OLD_WEIGHTS)), list(accumulate(RECENT_WEIGHTS))

    for k, o in enumerate(days):
        d = date.fromordinal(o)
        trading.run_until(d)
        c = customers[rng.randrange(max(1, bisect_right(opened, o)))]
        age = end - o
        service = rng.random() < 0.08
        extra = "S1" if k == 1 else "M" if k == 2 else ""
        lines = trading.pick_lines(c, d, service, extra)
        carriage = 0 if service or rng.random() < 0.6 else rng.choice(carriages)
        posted = not (age <= 21 and rng.random() < 0.6)
        order_number = None
        if not service and rng.random() < spec.order_share:
            order_day = max(c.opened, d - DAY * rng.randint(1, 10))
            order_number = trading.write_order(
                c, lines, order_day, carriage=carriage, despatch="complete",
                invoice_number=trading.next_invoice,
            )  # fmt: skip
        number, sums = trading.write_invoice(
            c, "service" if service else "product", lines, d, carriage=carriage, posted=posted,
            order_number=order_number,
        )  # fmt: skip
        if posted:
            if k == 0:
                scenario = "paid"
            elif trading.forced and o > clear_date.toordinal() and age > 150:
                scenario = trading.forced.pop(0)
            else:
                scenario = rng.choices(SCENARIOS, cum_weights=old if age > 90 else recent)[0]
            trading.post_invoice(c, number, d, lines, sums, scenario)
        if k in on_account_at and o > clear_date.toordinal():
            trading.on_account(c, d + DAY * rng.randint(1, 20), rng.randint(5, 80) * 1000)
        if k % po_every == 0 and stock_items:
            picks = rng.sample(stock_items, k=min(len(stock_items), rng.randint(1, 4)))
            trading.write_purchase_order(rng.randrange(len(masters.suppliers)), d, picks)
    trading.run_until(None)

    # The freshest documents: unposted paperwork and the open order book.
    for i, kind in ((4, "product"), (0, "product_credit"), (5, "product")):
        c = fixed[i]
        d = as_of - DAY * (2 + i % 3)
        trading.write_invoice(c, kind, trading.pick_lines(c, d, False), d, carriage=0, posted=False)
    order_days = sorted(
        rng.randint((as_of - DAY * 60).toordinal(), end) for _ in range(spec.open_orders)
    )
    for n, o in enumerate(order_days):
        d = date.fromordinal(o)
        if n < len(FIXED_OPEN_ORDERS):
            idx, kind, allocated, despatch, quote, carriage = FIXED_OPEN_ORDERS[n]
            c = fixed[idx]
        else:
            c = customers[rng.randrange(len(customers))]
            kind = rng.choices(("order", "quote", "proforma"), (80, 17, 3))[0]
            allocated = rng.choice(("none", "part", "full", "full")) if kind == "order" else "none"
            despatch = (
                "part" if kind == "order" and allocated != "none" and rng.random() < 0.2 else "none"
            )
            quote = rng.choice((1, 1, 2, 3)) if kind == "quote" else 0
            carriage = rng.choice((0, 0, 995, 1500))
        trading.write_order(
            c, trading.pick_lines(c, d, False), d, carriage=carriage, kind=kind,
            allocated=allocated, despatch=despatch, quote_status=quote, delivered_share=0.5,
        )  # fmt: skip

    # A few draft invoices were deleted from the Invoicing list: their numbers were used, the
    # rows are gone, and DELETED_RECORDS (TABLE_ID 1) remembers them.
    deleted = []
    for i in range(max(2, spec.invoices // 500)):
        deleted.append((trading.next_invoice, stamp(as_of - DAY * (1 + i % 5), 16 * 3600 + i)))
        trading.next_invoice += 1
    return deleted


def _finish_stock(rng: Random, masters: company.Masters) -> None:
    """QTY_IN_STOCK = what open orders hold allocated + free stock (none for non-stock items)."""
    for p in masters.products:
        if p.kind != "stock":
            p.qty_in_stock = p.qty_allocated = p.qty_on_order = 0.0
            continue
        free = 0 if rng.random() < 0.1 else rng.randint(1, 250)
        p.qty_in_stock = p.qty_allocated + free


def _write_deleted(
    con: Db, masters: company.Masters, deleted_invoices: list[tuple[int, str]]
) -> int:
    sink = Sink(
        con,
        "DELETED_RECORDS",
        [
            "TABLE_ID",
            "FOREIGN_REF",
            "DELETION_DATE_TIME",
            "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE",
        ],
        {"FOREIGN_REF_TYPE": 0},
    )
    rows = [(SDO_SALES_DATA, ref, when) for ref, when in masters.deleted_customers]
    rows += [(SDO_STOCK_DATA, code, when) for code, when in masters.deleted_products]
    rows += [(SDO_INVOICE_DATA, str(number), when) for number, when in deleted_invoices]
    for table_id, ref, when in sorted(rows, key=lambda r: r[2]):
        sink.add((table_id, ref, when, when, when))
    sink.flush()
    return sink.count


__all__ = ["DEFAULT_AS_OF", "SIZES", "Size", "generate"]
