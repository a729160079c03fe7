"""Every value of the vendor's field map reaches SSM or is listed as left out, with its reason.

A field-map value is pushed when one of its warehouse columns (the staging or derived tables
that declare its section, by the column named after its CRM field) reaches an SSM field of a
pushed resource through the lineage graph (docs/lineage.md). Otherwise the contract must list
it in `LEFT_OUT`, by field or by section (`*`), which the page docs/sync-contract.md shows.
"""

from __future__ import annotations

from assets.derived.catalogue import DERIVED
from assets.lineage import Lineage, field_map
from assets.ssm import contract
from assets.staging.catalogue import SECTIONS
from assets.staging.factory import SqlTable


def _tables_of(section: str) -> list[tuple[str, SqlTable]]:
    layers = (("staging", SECTIONS), ("derived", DERIVED))
    return [(layer, t) for layer, tables in layers for t in tables if section in t.field_map]


def _pushed_columns() -> set[str]:
    return {
        f"ssm.desired_{c.name}.{f.column}" for c in contract.PUSHED for f in c.fields if f.column
    }


def _reach() -> dict[tuple[str, str], bool]:
    """(section, CRM field name) -> whether any of its columns reaches an SSM field."""
    graph = Lineage()
    users = graph.downstream()
    pushed = _pushed_columns()

    def reaches(ref: str) -> bool:
        seen, todo = set(), [ref]
        while todo:
            current = todo.pop()
            if current in pushed:
                return True
            if current not in seen:
                seen.add(current)
                todo += users.get(current, ())
        return False

    reached: dict[tuple[str, str], bool] = {}
    for section, columns in field_map().items():
        tables = _tables_of(section)
        for name, row in columns.items():
            key = (section, row.crm_field_name)
            hit = any(
                reaches(f"{layer}.{t.name}.{name}") for layer, t in tables if name in t.column_names
            )
            reached[key] = reached.get(key, False) or hit
    return reached


def test_every_field_map_value_is_pushed_or_left_out_with_a_reason() -> None:
    listed = {(o.section, o.field) for o in contract.LEFT_OUT}
    neither = [
        f"{section} / {field}"
        for (section, field), pushed in _reach().items()
        if not pushed and (section, field) not in listed and (section, "*") not in listed
    ]
    assert neither == [], (
        "field-map values neither pushed nor in contract.LEFT_OUT (add a FieldRule, or the "
        f"reason): {neither}"
    )


def test_left_out_names_real_map_values_that_are_not_pushed() -> None:
    reach = _reach()
    sections = {s for s, _ in reach}
    for o in contract.LEFT_OUT:
        assert o.reason.strip(), o
        assert o.section in sections, f"no field-map section {o.section!r}"
        if o.field == "*":
            assert not all(p for (s, _), p in reach.items() if s == o.section), (
                f"every value of {o.section!r} is pushed: drop its LEFT_OUT entry"
            )
        else:
            assert (o.section, o.field) in reach, f"no field {o.field!r} in {o.section!r}"
            assert not reach[(o.section, o.field)], f"{o.section} / {o.field} is pushed"


def test_the_values_issue_19_named_are_pushed_now() -> None:
    reach = _reach()
    accounts = "Sales Ledger (Customer Accounts)"
    for field in (
        "Settlement Days",
        "Overall Discount %",
        "Default Tax Code",
        "Discount Type",
        "Override Tax Code",
        "Currency Rate",
        "Closed/Inactive",
    ):
        assert reach[(accounts, field)], field
    for field in ("Average Cost Price", "Last Purchase Price", "Last Discounted Purchase Price"):
        assert reach[("Product Items", field)], field
    assert reach[("Sales Payments (Audit History)", "Paid Date")]


def test_the_page_lists_what_is_left_out() -> None:
    page = contract.render_markdown()
    assert "## Left out, and why" in page
    for o in contract.LEFT_OUT:
        assert f"| {o.section} | {o.field} |" in page
