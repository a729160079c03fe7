"""The quote statuses: found in SSM's value list, created when missing, or one clear sentence
when the tenant refuses the create (the vendor's OpenAPI lists the statuses read-only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from assets.inbox.quotes import ensure_statuses
from assets.ssm.settings import SyncSettings
from resources.ssm.errors import SSMError


class Statuses:
    def __init__(self, items: list[dict[str, Any]], refuse: bool = False) -> None:
        self.items, self.refuse, self.lists, self.created = items, refuse, 0, []

    def list(self, resource: str, where: str | None = None, order: str | None = None
             ) -> Iterator[dict[str, Any]]:  # fmt: skip
        assert resource == "salesorderStatuses"
        self.lists += 1
        return iter(self.items)

    def create(self, resource: str, data: dict, *, check_existing: bool = False) -> int:
        if self.refuse:
            raise SSMError("method not allowed", status=405, resource=resource)
        new_id = 100 + len(self.created)
        self.created.append(data["descriptionEN"])
        self.items.append({"id": new_id, **data})
        return new_id


def test_missing_statuses_are_created_once_then_read_from_the_warehouse() -> None:
    con = duckdb.connect()
    client = Statuses([{"id": 7, "descriptionEN": "Order"}])
    ids = ensure_statuses(con, client, SyncSettings())  # type: ignore[arg-type]
    assert client.created == ["Quote - pending", "Quote - priced"]
    assert ids == {"Quote - pending": 100, "Quote - priced": 101, "Order": 7}
    assert ensure_statuses(con, client, SyncSettings()) == ids  # type: ignore[arg-type]
    assert client.lists == 1  # the second look costs no call


def test_a_refused_create_names_the_settings() -> None:
    client = Statuses([{"id": 7, "descriptionEN": "Order"}], refuse=True)
    with pytest.raises(SSMError) as refused:
        ensure_statuses(duckdb.connect(), client, SyncSettings())  # type: ignore[arg-type]
    assert "'Quote - pending'" in str(refused.value)
    assert "SSM_QUOTE_STATUS" in str(refused.value)
