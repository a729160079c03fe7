"""The reverse flow's small rules, on hand-worked values."""

from __future__ import annotations

import pytest

from assets.inbox.rules import ReverseSettings, account_code, split_name, too_long
from assets.ssm.settings import SyncSettings


def test_account_codes_in_sages_style() -> None:
    taken = {"HARBOURL", "HARBOU01"}
    assert account_code("Zoë's Café & Co", taken.__contains__) == "ZOESCAFE"
    assert account_code("Harbour Lights Ltd", taken.__contains__) == "HARBOU02"
    assert account_code("Ab", set().__contains__) == "AB"
    assert account_code("東京", set().__contains__) == "SSM"  # nothing Sage can spell
    assert account_code("x", {"SSM00001"}.__contains__, "sequence:SSM", 0) == "SSM00002"
    assert account_code("x", set().__contains__, "sequence:C", 41) == "C0000042"


def test_names_split_as_the_push_splits_them() -> None:
    assert split_name("Ada Quayle") == ("Ada", "Quayle")
    assert split_name("Ada de la Mare") == ("Ada", "de la Mare")
    assert split_name("Cher") == ("Cher", "Cher")
    assert split_name("  ") == (None, None)


def test_values_longer_than_sage_holds_are_named_never_cut() -> None:
    assert too_long({"NAME": "L" * 61, "ADDRESS_1": "ok"}, {"NAME": 60, "ADDRESS_1": 60}) == [
        "NAME is 61 characters, Sage holds 60"
    ]


def test_settings_are_checked_with_one_sentence() -> None:
    settings = ReverseSettings.from_env({}, SyncSettings())
    assert (settings.rep_field, settings.ssm_id_field, settings.poll_seconds) == (
        "ANALYSIS_2", "ANALYSIS_3", 30,
    )  # fmt: skip
    with pytest.raises(ValueError, match="SAGE_ACCOUNT_CODE='sequence:toolong'"):
        ReverseSettings.from_env({"SAGE_ACCOUNT_CODE": "sequence:toolong"}, SyncSettings())
    with pytest.raises(ValueError, match="SAGE_SDO_REP_FIELD"):
        ReverseSettings.from_env({"SAGE_SDO_REP_FIELD": "sales rep"}, SyncSettings())
    with pytest.raises(ValueError, match="SSM_POLL_SECONDS"):
        ReverseSettings.from_env({"SSM_POLL_SECONDS": "soon"}, SyncSettings())
