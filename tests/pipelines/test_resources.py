"""The resources wired from the environment: secrets stay EnvVars, the warehouse waits its turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.ssm.assets import ASSET_CHECKS
from pipelines import resources, settings
from resources.warehouse import WarehouseResource

POSTGRES_URL = "postgresql://sage:hunter2@db.example/sage50"


@pytest.fixture(autouse=True)
def no_sage_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SAGE_ODBC_CONNECTION", "SAGE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_a_set_database_url_is_passed_as_an_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGE_DATABASE_URL", POSTGRES_URL)
    sage = resources.sage()
    # What Dagster records as the resource's config names the variable, not its value.
    config = sage._convert_to_config_dictionary()
    assert config["database_url"] == {"env": "SAGE_DATABASE_URL"}
    assert "hunter2" not in repr(config)
    assert sage.process_config_and_initialize().database_url == POSTGRES_URL  # read at run time


def test_the_demo_company_url_is_the_default() -> None:
    config = resources.sage()._convert_to_config_dictionary()
    assert config["database_url"] == f"sqlite:///{settings.demo_company_path()}"


def test_the_warehouse_is_the_locking_resource(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("WAREHOUSE_LOCK_TIMEOUT_SECONDS", "90")
    warehouse = resources.all_resources()["warehouse"]
    assert isinstance(warehouse, WarehouseResource)
    assert (warehouse.database, warehouse.lock_timeout_seconds) == (str(tmp_path / "w.duckdb"), 90)


def test_dead_letter_checks_queue_with_the_warehouse_writers() -> None:
    # They create the sync tables when missing: a write, so pool `warehouse` like the others.
    assert {check.node_def.pool for check in ASSET_CHECKS} == {"warehouse"}


def test_the_odbc_reader_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGE_ODBC_CONNECTION", "DSN=SageLine50v29;UID=MANAGER;PWD=hunter2")
    assert resources.sage().odbc_reader == "auto"
    monkeypatch.setenv("SAGE_ODBC_READER", "PyODBC ")
    assert resources.sage().odbc_reader == "pyodbc"
    monkeypatch.setenv("SAGE_ODBC_READER", "turbodbc")
    with pytest.raises(ValueError, match=r"^SAGE_ODBC_READER is 'turbodbc': set it to auto, "):
        resources.sage()
