"""Column lineage: the page is current, every SSM field traces back to Sage, and the graph, the
descriptions and the types agree with the Sage schema, the field map and the SQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets import derived, lineage, staging
from assets.derived.catalogue import DERIVED
from assets.ssm.contract import PUSHED, ResourceContract
from assets.ssm.desired import SQL_DIR, desired_sql
from assets.ssm.settings import SyncSettings
from assets.staging.catalogue import SECTIONS
from assets.staging.factory import SqlTable, build_table, read_sql, table_schema
from resources.sage_schema import CRM_TABLES, table_columns
from tests.assets.fixtures_warehouse import create_sage_schema, hand_worked_company, warehouse_at

GRAPH = lineage.Lineage()
# The two SSM fields of a column no Sage column feeds: which staging section a document comes
# from (its filter on INVOICE.INVOICE_OR_CREDIT / POSTED) decides them.
SECTION_CONSTANTS = {("sales", "Z_DocumentType"), ("sales", "Z_Posted")}


def test_generated_page_is_current() -> None:
    assert lineage.DOC_PATH.read_text(encoding="utf-8") == lineage.render_markdown(), (
        "docs/lineage.md is stale: run `uv run python -m assets.lineage`"
    )
    assert lineage.main(["--check"]) == 0


def test_every_ssm_field_has_a_sage_source_unless_constant_or_setting() -> None:
    without = set()
    for contract in PUSHED:
        for rule in contract.fields:
            if rule.column is None:
                assert rule.literal is not None or rule.setting, (contract.name, rule.ssm)
            elif not GRAPH.sage(f"ssm.desired_{contract.name}.{rule.column}"):
                without.add((contract.name, rule.ssm))
    assert without == SECTION_CONSTANTS
    page = lineage.DOC_PATH.read_text(encoding="utf-8")
    assert "| `Z_DocumentType` | `document_type` | — | — | none: 'Invoice' for the" in page


def test_known_traces() -> None:
    assert GRAPH.upstream("ssm.desired_accounts.ext_id") == [
        "staging.customer_accounts.account_reference",
        "SALES_LEDGER.ACCOUNT_REF",
    ]
    page = lineage.DOC_PATH.read_text(encoding="utf-8")
    assert (
        "| `extId` | `ext_id` | — | `customer_accounts.account_reference` | "
        "`SALES_LEDGER.ACCOUNT_REF` |" in page
    )
    # free stock: through derived.stock, from in stock and allocated
    stock = GRAPH.upstream("ssm.desired_products.stock")
    assert stock[0] == "derived.stock.free_stock"
    assert {"STOCK.QTY_IN_STOCK", "STOCK.QTY_ALLOCATED"} <= set(
        GRAPH.sage("derived.stock.free_stock")
    )
    # forward: the account code lands in the account's extId (and a customer's own rate's)
    assert (
        "| `ACCOUNT_REF` | `customer_accounts.account_reference` | — | `rates.extId`, "
        "`rates.descriptionEN`, `accounts.extId`, `accounts.rateId` |" in page
    )


def test_the_rep_follows_the_setting() -> None:
    rep = "ssm.desired_accounts.sales_rep"
    assert GRAPH.sage(rep) == ("SALES_LEDGER.ANALYSIS_2",)
    assert lineage.Lineage("analysis_1").sage(rep) == ("SALES_LEDGER.ANALYSIS_1",)
    assert lineage.Lineage("contact_name").sage(rep) == ("SALES_LEDGER.CONTACT_NAME",)


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.name)
def test_staging_sources_are_columns_of_the_sage_schema(section: SqlTable) -> None:
    for column in section.columns:
        for source in column.sources:
            assert lineage.is_sage(source), (column.name, source)
            table, name = source.split(".")
            assert table in CRM_TABLES, source
            documented = {c.name for c in table_columns(table)}
            # DELETED_AT is the warehouse's soft delete every sage.* table carries
            assert name in documented | {"DELETED_AT"}, f"{column.name}: {source}"


def test_warehouse_sources_are_declared_columns_of_the_layer_below() -> None:
    graph = lineage.Lineage()
    graph.downstream()  # loads every table
    for table in graph.tables.values():
        for column in table.columns.values():
            for source in column.sources:
                if not lineage.is_sage(source):
                    upstream, name = source.rsplit(".", 1)
                    assert name in graph.table(upstream).columns, f"{table.name}: {source}"
                    assert upstream.split(".")[0] in ("staging", "derived"), source


@pytest.mark.parametrize("contract", PUSHED, ids=lambda c: c.name)
def test_desired_lineage_matches_its_sql(
    contract: ResourceContract, empty_warehouse: duckdb.DuckDBPyConnection
) -> None:
    template = (SQL_DIR / f"desired_{contract.name}.sql").read_text(encoding="utf-8")
    sql = desired_sql(contract, SyncSettings())
    relation = empty_warehouse.sql(sql)
    assert tuple(relation.columns) == tuple(c.name for c in contract.desired_columns)
    declared = {c.name for c in contract.desired_columns}
    assert {f.column for f in contract.fields if f.column} <= declared
    for column in contract.desired_columns:
        for source in column.sources:
            table, name = source.rsplit(".", 1)
            assert table in contract.sources, (column.name, source)
            assert re.search(rf"(?<!\w){re.escape(name)}(?!\w)", template), (column.name, source)


@pytest.fixture(scope="module")
def empty_warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """Every staging and derived table built by its asset's own SQL over an empty `sage`."""
    with duckdb.connect() as con:
        create_sage_schema(con)
        for schema, tables, sql_dir in (
            ("staging", SECTIONS, staging.SQL_DIR),
            ("derived", DERIVED, derived.SQL_DIR),
        ):
            for table in tables:
                build_table(con, schema, table, read_sql(table, sql_dir))
        yield con


def _definition(key: dg.AssetKey) -> dict[str, object]:
    assets = (*staging.defs.assets, *derived.defs.assets)
    [asset] = [a for a in assets if a.key == key]  # type: ignore[union-attr]
    return dict(asset.specs_by_key[key].metadata)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "schema, table",
    [("staging", t) for t in SECTIONS] + [("derived", t) for t in DERIVED],
    ids=lambda t: getattr(t, "name", t),
)
def test_definition_schema_has_the_built_types_and_a_description_per_column(
    schema: str, table: SqlTable, empty_warehouse: duckdb.DuckDBPyConnection
) -> None:
    metadata = _definition(dg.AssetKey([schema, table.name]))
    columns = metadata["dagster/column_schema"].columns  # type: ignore[attr-defined]
    built = table_schema(empty_warehouse, schema, table.name).columns
    assert [(c.name, c.type) for c in columns] == [(c.name, c.type) for c in built]
    assert all(c.description for c in columns)
    markdown = metadata["column_lineage"].value  # type: ignore[attr-defined]
    assert markdown.count("\n") == len(columns) + 1
    assert isinstance(metadata["dagster/column_lineage"], dg.TableColumnLineage)


def test_customer_accounts_definition_shows_the_field_map_and_the_lineage() -> None:
    metadata = _definition(dg.AssetKey(["staging", "customer_accounts"]))
    columns = {c.name: c for c in metadata["dagster/column_schema"].columns}  # type: ignore[attr-defined]
    assert columns["account_reference"].type == "VARCHAR"
    assert (
        columns["account_reference"].description == "Unique customer identifier linking CRM to Sage"
    )
    assert columns["balance"].type == "DECIMAL(18,2)"
    assert columns["contact_name"].description == "From SALES_LEDGER.CONTACT_NAME"
    markdown = metadata["column_lineage"].value  # type: ignore[attr-defined]
    assert markdown.startswith("| column | from |\n|---|---|\n")
    assert "| `account_reference` | `SALES_LEDGER.ACCOUNT_REF` |" in markdown
    assert "| `country_code` | `COUNTRY_CODE.CODE`, `SALES_LEDGER.COUNTRY_CODE` |" in markdown


def test_derived_descriptions_come_from_the_map_the_catalogue_or_the_source() -> None:
    describe = GRAPH.description
    # the field map's Stock Levels section, with its non-column source
    assert describe("derived.vat_rates.country_type") == (
        "CRM classifies the tax code by region (field map: Computed (Home/EC/Non-EC))"
    )
    # declared in the catalogue
    assert describe("derived.stock.free_stock").startswith("Available to promise")
    # a pass-through takes its source's description
    assert describe("derived.discount_matrix.discount_description") == (
        "Readable identifier for the discount row"
    )
    # a desired column: the SSM fields it feeds
    assert describe("ssm.desired_products.price").startswith(
        "SSM `price`: net sales price, without tax; SSM `Z_BasePrice`: base sales price"
    )


def test_desired_definition_metadata() -> None:
    from assets.ssm.assets import DESIRED_ASSETS

    key = dg.AssetKey(["ssm", "desired_accounts"])
    [asset] = [a for a in DESIRED_ASSETS if a.key == key]
    metadata = asset.specs_by_key[key].metadata
    columns = {c.name: c for c in metadata["dagster/column_schema"].columns}
    assert columns["ext_id"].type == "VARCHAR"
    assert columns["balance"].type == "DECIMAL(18,2)"
    assert columns["ext_id"].description == "SSM `extId`: the Sage account code"
    assert (
        "| `ext_id` | `extId` | `staging.customer_accounts.account_reference` | "
        "`SALES_LEDGER.ACCOUNT_REF` |" in metadata["column_lineage"].value
    )
    deps = metadata["dagster/column_lineage"].deps_by_column["ext_id"]
    assert deps == [
        dg.TableColumnDep(
            asset_key=dg.AssetKey(["staging", "customer_accounts"]),
            column_name="account_reference",
        )
    ]
    assert "| `extId` | `ext_id` | Sage | `SALES_LEDGER.ACCOUNT_REF` |" in metadata["fields"].value


def test_field_map_sections_exist_and_every_field_lands_in_a_column() -> None:
    field_map = lineage.field_map()
    landed: set[tuple[str, str]] = set()
    for table in (*SECTIONS, *DERIVED):
        for section in table.field_map:
            assert section in field_map, f"{table.name}: no section {section!r}"
            for name, row in field_map[section].items():
                if name in table.column_names:
                    landed.add((row.section, row.crm_field_name))
    rows = {(r.section, r.crm_field_name) for s in field_map.values() for r in s.values()}
    assert rows - landed == {
        ("Sales Invoices (Unposted)", "(Same fields as Posted Sales Invoices)"),
        ("Price Lists (Customer-Specific Prices)", "Quantity Breaks 1-10"),  # target-only
        ("Price Lists (Customer-Specific Prices)", "Qty Prices 1-10"),  # target-only
    }


def test_staging_reads_the_sage_columns_the_field_map_names() -> None:
    for table in SECTIONS:
        for section in table.field_map:
            for name, row in lineage.field_map()[section].items():
                if name not in table.column_names:
                    continue
                # plain `TABLE.COLUMN`s (not the map's `STOCK.DISC_[A-E]_...` patterns)
                cited = set(re.findall(r"\b[A-Z][A-Z_]*\.[A-Z][A-Z_0-9]*\b(?!\[)", row.sage_source))
                sources = set(GRAPH.sage(f"staging.{table.name}.{name}"))
                assert cited <= sources, (table.name, name, row.sage_source)


def test_field_map_is_extracted_from_the_vendors_page() -> None:
    page = """Skip to main content
Stock Levels (by Warehouse)

CRM Field Name

Sage 50 Source

Description

Free Stock
Computed (In Stock - Allocated)
Available-to-promise for new orders
Sales Credits (Posted)
This imports only records where INVOICE.INVOICE_OR_CREDIT = 'Credit Note'.
CRM Field Name
Sage 50 Source
Description
Quantity Break 1-10
STOCK.DISC_[A-E]_LEVEL_[1-10]_QTY
Minimum order qty for each tier
A note after the table.
Did this answer your question?
"""
    rows = lineage.extract_field_map(page)
    assert rows == [
        lineage.MapField(
            "Stock Levels (by Warehouse)",
            "Free Stock",
            "Computed (In Stock - Allocated)",
            "Available-to-promise for new orders",
        ),
        lineage.MapField(
            "Sales Credits (Posted)",
            "Quantity Break 1-10",
            "STOCK.DISC_[A-E]_LEVEL_[1-10]_QTY",
            "Minimum order qty for each tier",
        ),
    ]
    assert rows[1].column_names == tuple(f"quantity_break_{n}" for n in range(1, 11))
    assert lineage.snake_case("Invoice Number (Credit Note No.)") == "invoice_number_credit_note_no"


def test_a_build_reports_the_schema_with_the_descriptions(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        hand_worked_company(con)
    [asset] = [a for a in staging.defs.assets if a.key.path[-1] == "customer_accounts"]  # type: ignore[union-attr]
    result = dg.materialize([asset], resources={"warehouse": warehouse_at(database)})
    [event] = result.get_asset_materialization_events()
    metadata = event.event_specific_data.materialization.metadata  # type: ignore[union-attr]
    columns = {c.name: c for c in metadata["dagster/column_schema"].value.columns}
    assert columns["balance"].type == "DECIMAL(18,2)"
    assert columns["balance"].description == "Outstanding account balance for credit control"
