"""SSM value lists (countries, currencies, statuses, branches, users) as `ssm.value_lists`.

Each item is stored once per key it can be found by (its id, ISO codes, descriptions, extId,
e-mail, full name), lower-cased, so the push matches a Sage value with a plain join. Each row
also says which of the item's fields the key came from (`item_field`: `id`, `extId`, `email`,
`fullName`, `description`, ...) and that field's value as SSM holds it (`item_value`), so a
match can prefer one field to another (a rep by extId before full name) and the push can send a
user's own extId.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from resources.ssm.client import read_again

# list name → the fields of an item that identify it, besides its id and descriptions
LISTS: dict[str, tuple[str, ...]] = {
    "countries": ("iso2", "iso3", "strName"),
    "currencies": ("isoCode", "symbol"),
    "accountStatuses": (),
    "branches": (),
    "salesorderStatuses": (),
    "users": ("extId", "email"),
}

DEFAULT_KEY = "__default__"  # the key of a list's default item (the default branch)

DDL = """
CREATE SCHEMA IF NOT EXISTS ssm;
CREATE TABLE IF NOT EXISTS ssm.value_lists (
    list_name VARCHAR NOT NULL, id BIGINT NOT NULL, key VARCHAR NOT NULL, label VARCHAR,
    item_field VARCHAR, item_value VARCHAR
);
-- Warehouses made before item_field/item_value existed.
ALTER TABLE ssm.value_lists ADD COLUMN IF NOT EXISTS item_field VARCHAR;
ALTER TABLE ssm.value_lists ADD COLUMN IF NOT EXISTS item_value VARCHAR;
"""
COLUMNS = ("list_name", "id", "key", "label", "item_field", "item_value")
ValueListRow = tuple[str, int, str, str, str, str]


class ListsRecords(Protocol):
    def list(
        self, resource: str, where: str | None = None, order: str | None = None
    ) -> Iterator[dict[str, Any]]: ...


def _label(item: dict[str, Any]) -> str:
    if "lastName" in item or ("name" in item and "descriptionEN" not in item):
        return " ".join(str(item.get(k) or "").strip() for k in ("name", "lastName")).strip()
    return str(item.get("descriptionEN") or item.get("description") or item.get("id"))


def item_fields(list_name: str, item: dict[str, Any]) -> dict[str, str]:
    """field -> value (as SSM holds it) of every field `item` can be found by."""
    fields = {"id": str(item["id"])}
    for name in ("description", "descriptionEN", *LISTS.get(list_name, ())):
        value = item.get(name)
        if value not in (None, ""):
            fields[name] = str(value)
    if list_name == "users":
        fields["fullName"] = _label(item)
    if item.get("default") is True:
        fields["default"] = DEFAULT_KEY
    return {name: value for name, value in fields.items() if value.strip()}


def item_keys(list_name: str, item: dict[str, Any]) -> set[str]:
    return {value.strip().lower() for value in item_fields(list_name, item).values()}


def rows_of(list_name: str, items: Iterable[dict[str, Any]]) -> list[ValueListRow]:
    rows: list[ValueListRow] = []
    live = [i for i in items if not i.get("deleted")]
    for item in live:
        label = _label(item)
        for name, value in sorted(item_fields(list_name, item).items()):
            rows.append((list_name, int(item["id"]), value.strip().lower(), label, name, value))
    if list_name == "branches" and live and not any(i.get("default") is True for i in live):
        first = min(live, key=lambda i: int(i["id"]))  # no flagged default: the oldest branch
        label = _label(first)
        rows.append((list_name, int(first["id"]), DEFAULT_KEY, label, "default", DEFAULT_KEY))
    return rows


def fetch(client: ListsRecords) -> list[ValueListRow]:
    rows: list[ValueListRow] = []
    for list_name in LISTS:
        rows.extend(rows_of(list_name, _items(client, list_name)))
    return rows


@read_again
def _items(client: ListsRecords, list_name: str) -> list[dict[str, Any]]:
    return list(client.list(list_name))


def store(con: duckdb.DuckDBPyConnection, rows: list[ValueListRow]) -> None:
    con.execute(DDL)
    con.execute("BEGIN")
    con.execute("DELETE FROM ssm.value_lists")
    # One set-based insert: `executemany` costs 1-2 ms a row in DuckDB.
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    kinds = [pa.string(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string()]
    table = pa.table(
        {
            name: pa.array(values, type=kind)
            for name, kind, values in zip(COLUMNS, kinds, columns, strict=True)
        }
    )
    con.register("value_list_rows", table)
    names = ", ".join(COLUMNS)
    try:
        con.execute(f"INSERT INTO ssm.value_lists ({names}) SELECT {names} FROM value_list_rows")  # noqa: S608
    finally:
        con.unregister("value_list_rows")
    con.execute("COMMIT")


def stored(con: duckdb.DuckDBPyConnection) -> list[ValueListRow]:
    """The lists as the last `store` left them."""
    con.execute(DDL)
    names = ", ".join(COLUMNS)
    return con.execute(f"SELECT {names} FROM ssm.value_lists ORDER BY ALL").fetchall()  # type: ignore[return-value]  # noqa: S608


def lookup(con: duckdb.DuckDBPyConnection, list_name: str, value: str | None) -> int | None:
    """The id of the item of `list_name` matching `value` (id, code, name), or None."""
    key = DEFAULT_KEY if value is None else str(value).strip().lower()
    row = con.execute(
        "SELECT min(id) FROM ssm.value_lists WHERE list_name = ? AND key = ?", [list_name, key]
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])
