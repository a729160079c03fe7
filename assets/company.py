"""The Sage company this process serves: asset keys, pools and run tags named after it.

One Sage company and no companies file: nothing is named (`sage/customers`, pool `warehouse`),
exactly as before. With several companies each one is its own Dagster code location
(pipelines/companies.py), started with `SAGE_COMPANY=<name>`, and everything instance-wide is
named after it so the companies never meet in the instance: asset keys under `<name>/`
(`north/sage/customers`: its own lineage, history and backfills), pools `warehouse_<name>` (one
company's sync never waits for another's), and the tag `sage/company` on every run (the
schedules, sensors and liveness checks look at their own company's runs only).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

COMPANY_VARIABLE = "SAGE_COMPANY"
COMPANY_TAG = "sage/company"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")


def name() -> str | None:
    """This process's company, None with a single company."""
    value = os.environ.get(COMPANY_VARIABLE, "").strip()
    if not value:
        return None
    if not NAME.match(value):
        raise ValueError(
            f"{COMPANY_VARIABLE} is {value!r}: a company name is lower-case letters, digits and "
            "underscores, starting with a letter (at most 30)."
        )
    return value


COUNT_VARIABLE = "SAGE_COMPANIES"


def several() -> bool:
    """Whether the companies file lists more than one company (set with the company's
    environment): then a rep's new account is claimed by its branch (assets/inbox/engine.py)."""
    return int(os.environ.get(COUNT_VARIABLE, "1") or 1) > 1


def key(*path: str) -> dg.AssetKey:
    company = name()
    return dg.AssetKey([company, *path] if company else list(path))


def pool(base: str) -> str:
    company = name()
    return f"{base}_{company}" if company else base


def run_tags() -> dict[str, str]:
    """The tags of every run of this company (none with a single company)."""
    company = name()
    return {COMPANY_TAG: company} if company else {}


def describe() -> str:
    """`company north` for messages, empty with a single company."""
    company = name()
    return f"company {company}" if company else ""


ACTIVE_VARIABLE = "SAGE_COMPANY_ACTIVE"


def inactive() -> str | None:
    """Why this company must not sync now (deactivated in the companies file), else None. Its
    schedule and sensors skip with this sentence; its records stay in SSM as they are."""
    if os.environ.get(ACTIVE_VARIABLE, "true").strip().lower() in {"false", "0", "no", "off"}:
        return (
            f"{describe() or 'this company'} is deactivated (active: false in the companies "
            "file): no sync, its records stay in SSM as they are; set active: true to sync it "
            "again (the first sync compares every record with SSM)"
        )
    return None


# Deactivated, then active again: the first sync compares every record with SSM (Sage wins on
# the fields Sage owns, SSM keeps its own), since SSM may have changed while nothing synced and
# the push's ledger only knows what SSM acknowledged before. A file beside the company's
# warehouse (whose ledger it concerns) remembers it: the schedule and sensors write it while the
# company is deactivated, the sync that compared every record removes it.
COMPARE_TAG = "sync/compare"
FULL = "full"


def _marker(warehouse_path: str) -> Path | None:
    return None if warehouse_path in ("", ":memory:") else Path(warehouse_path + ".deactivated")


def mark_deactivated(warehouse_path: str) -> None:
    marker = _marker(warehouse_path)
    if marker is not None and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(datetime.now(UTC).isoformat(timespec="seconds"), encoding="utf-8")


def deactivated_since(warehouse_path: str) -> str | None:
    marker = _marker(warehouse_path)
    if marker is None or not marker.exists():
        return None
    return marker.read_text(encoding="utf-8").strip() or "unknown"


def compared(warehouse_path: str) -> None:
    marker = _marker(warehouse_path)
    if marker is not None:
        marker.unlink(missing_ok=True)
