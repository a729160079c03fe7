"""Fixtures of the push tests: a hand-made staging warehouse and a sandbox server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.staging_fixture import make_staging


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    make_staging(path)
    return path


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    with running_sandbox(tmp_path, rate=200) as ssm:
        yield ssm


def ssm_records(ssm: SandboxProcess, resource: str) -> list[dict[str, Any]]:
    """Live records of a resource, straight from the sandbox's state (no API call counted)."""
    state = httpx.get(ssm.control_url + "/state", params={"resource": resource}, timeout=10)
    state.raise_for_status()
    return [r for r in next(iter(state.json().values())) if not r.get("deleted")]


REP = 2  # the sandbox's first sales rep (user 1 is the API's admin user)


def act_as_rep(
    ssm: SandboxProcess, method: str, resource: str, record_id: int | None = None, **body: Any
) -> int:
    """What rep 2 does in the SSM app (`/sandbox/act-as/...`): the record's id."""
    url = f"{ssm.control_url}/act-as/{REP}/{resource}"
    if record_id is not None:
        url += f"/{record_id}"
    answer = httpx.request(method, url, json=body or None, timeout=10)
    assert answer.is_success, answer.text
    return int(answer.json().get("id") or record_id or 0)


def ssm_writes(ssm: SandboxProcess) -> int:
    return int(httpx.get(ssm.control_url + "/stats", timeout=10).json()["writes"])


def deleted_by_a_rep(ssm: SandboxProcess, resource: str, ext_id: str) -> dict[str, Any]:
    """Delete the live record of `ext_id` in SSM as rep 2 would in the app; the record."""
    record = next(r for r in ssm_records(ssm, resource) if r["extId"] == ext_id)
    deleted = httpx.delete(f"{ssm.control_url}/act-as/2/{resource}/{record['id']}", timeout=10)
    deleted.raise_for_status()
    return record
