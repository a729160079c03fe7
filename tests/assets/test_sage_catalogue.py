"""Settings the sage catalogue reads at import: a malformed one stops with one clear sentence."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assets.sage.catalogue import CatalogueSettingError, parse_deleted_record_ids

DEFAULTS = {"SALES_LEDGER": 8, "STOCK": 4, "INVOICE": 1}


def test_pairs_override_the_defaults_and_zero_switches_a_table_off() -> None:
    assert parse_deleted_record_ids(" sales_ledger = 80 ,STOCK=0,", DEFAULTS) == {
        "SALES_LEDGER": 80,
        "INVOICE": 1,
    }
    assert parse_deleted_record_ids("", DEFAULTS) == DEFAULTS


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("SALES_LEDGER:8", "SALES_LEDGER:8"),
        ("STOCK=4,SALES_LEDGER=eight", "SALES_LEDGER=eight"),
        ("=8", "=8"),
        ("SALES_LEGDER=8", "SALES_LEGDER=8"),
        ("STOCK=-4", "STOCK=-4"),
        ("STOCK=", "STOCK="),
    ],
)
def test_a_malformed_item_is_named_with_the_expected_format(text: str, item: str) -> None:
    with pytest.raises(CatalogueSettingError) as caught:
        parse_deleted_record_ids(text, DEFAULTS)
    message = str(caught.value)
    assert message.startswith(f"SAGE_DELETED_RECORDS_TABLE_IDS item {item!r} ")
    assert "TABLE=ID" in message and "SALES_LEDGER=8,STOCK=4" in message
    assert message.endswith(".") and ". " not in message and "\n" not in message


def test_a_malformed_setting_stops_the_import_with_that_sentence() -> None:
    env = os.environ | {"SAGE_DELETED_RECORDS_TABLE_IDS": "SALES_LEDGER=8;STOCK=4"}
    loaded = subprocess.run(
        [sys.executable, "-c", "import assets.sage.catalogue"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode != 0
    last_line = loaded.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "assets.sage.catalogue.CatalogueSettingError: SAGE_DELETED_RECORDS_TABLE_IDS item "
        "'SALES_LEDGER=8;STOCK=4' gives '8;STOCK=4' where a whole number"
    )
