"""What an operator copies from deploy/ is well formed. Docker and Helm do not run here (no
engine, no cluster) and neither does PowerShell: these checks parse every file, validate the
Dagster ones against Dagster's own schemas, and check that secrets come from the environment.
test_topology.py runs dagster.yaml and workspace.yaml for real."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CODE_SERVER = "dagster code-server start -m pipelines.definitions -h 0.0.0.0 -p 4000"
SECRET = re.compile(r"password|secret|private_key|public_key|token", re.IGNORECASE)


def _load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def _secret_literals(node: Any, path: str = "") -> list[str]:
    """Paths of keys that look like secrets and hold a literal string: not an `env:` reference,
    not a `${VAR}` interpolation, not the name of a Kubernetes secret."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            literal = isinstance(value, str | int) and not isinstance(value, bool)
            if literal and not str(value).startswith("${") and not str(key).endswith("Name"):
                if SECRET.search(str(key)):
                    found.append(here)
            found += _secret_literals(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _secret_literals(item, f"{path}[{index}]")
    return found


def _set_referenced_env(monkeypatch: pytest.MonkeyPatch, config: Any) -> None:
    """Give every `{env: NAME}` of `config` a value, as the hosts' environments do."""
    if isinstance(config, dict):
        if set(config) == {"env"}:
            monkeypatch.setenv(config["env"], "5432")
        for value in config.values():
            _set_referenced_env(monkeypatch, value)
    elif isinstance(config, list):
        for item in config:
            _set_referenced_env(monkeypatch, item)


def test_the_instance_file_is_valid_and_reads_its_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    config = _load("dagster.yaml")
    _set_referenced_env(monkeypatch, config)
    result = process_config(dagster_instance_config_schema(), config)
    assert result.success, [e.message for e in result.errors or []]
    database = config["storage"]["postgres"]["postgres_db"]
    assert {k: v for k, v in database.items() if k != "scheme"} == {
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "port": {"env": "DAGSTER_PG_PORT"},
        "username": {"env": "DAGSTER_PG_USER"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "db_name": {"env": "DAGSTER_PG_DB"},
    }
    assert config["compute_logs"]["config"]["base_dir"] == {"env": "DAGSTER_COMPUTE_LOG_DIR"}
    assert config["telemetry"] == {"enabled": False}
    assert config["run_monitoring"]["enabled"] is True
    assert config["freshness"] == {"enabled": True}


def test_the_run_queue_and_pools_are_the_project_ones() -> None:
    """Production and the embedded default apply the same concurrency rules to the sync."""
    production, project = (
        _load("dagster.yaml"),
        yaml.safe_load((DEPLOY.parent / "dagster.yaml").read_text()),
    )
    assert production["concurrency"] == project["concurrency"]
    assert production["run_queue"] == project["run_queue"]
    for key in ("start_timeout_seconds", "cancel_timeout_seconds"):
        assert production["run_monitoring"][key] == project["run_monitoring"][key]


def test_the_workspace_points_at_the_code_server_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dagster._config import process_config
    from dagster._core.workspace.config_schema import WORKSPACE_CONFIG_SCHEMA

    config = _load("workspace.yaml")
    _set_referenced_env(monkeypatch, config)
    assert process_config(WORKSPACE_CONFIG_SCHEMA, config).success
    (entry,) = config["load_from"]
    assert entry["grpc_server"] == {
        "host": {"env": "SAGE50_CODE_SERVER_HOST"},
        "port": {"env": "SAGE50_CODE_SERVER_PORT"},
        "location_name": "sage50_ssm",
    }
    # The commented second entry shows one location per company.
    assert "# - grpc_server:" in (DEPLOY / "workspace.yaml").read_text()


def test_compose_runs_postgres_webserver_daemon_and_the_code_server_with_env_files() -> None:
    compose = _load("docker-compose.yaml")
    services = compose["services"]
    assert set(services) == {"postgres", "webserver", "daemon", "code-server"}
    for name in ("webserver", "daemon", "code-server"):
        assert services[name]["env_file"] == ".env"
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    assert services["webserver"]["command"][0] == "dagster-webserver"
    # The database's credentials are interpolated from deploy/.env, never written here.
    for value in services["postgres"]["environment"].values():
        assert value.startswith("${DAGSTER_PG_"), value
    assert _secret_literals(compose) == []
    # The example leaves every secret empty for the operator to fill in.
    assert re.search(r"^SSM_PRIVATE_KEY=$", (DEPLOY / ".env.example").read_text(), re.M)


def test_the_image_serves_the_code_location() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert " ".join(yaml.safe_load(cmd)).startswith(CODE_SERVER)


def test_the_helm_values_set_the_code_server_postgres_queue_and_monitoring() -> None:
    values = _load("helm-values.yaml")
    assert values["postgresql"]["enabled"] is False
    assert "postgresqlPassword" not in values["postgresql"]  # from global.postgresqlSecretName
    assert values["global"]["postgresqlSecretName"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["codeServerArgs"][:2] == ["-m", "pipelines.definitions"]
    assert deployment["envSecrets"] == [{"name": "sage50-ssm-connector"}]
    assert values["dagsterWebserver"]["workspace"]["servers"][0]["name"] == "sage50_ssm"
    assert values["runLauncher"]["config"]["customRunLauncher"]["class"] == "DefaultRunLauncher"
    daemon = values["dagsterDaemon"]
    queue = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["maxConcurrentRuns"] == 4
    assert queue["tagConcurrencyLimits"] == [{"key": "dagster/backfill", "limit": 1}]
    assert daemon["runMonitoring"]["enabled"] is True
    pools = values["additionalInstanceConfig"]["concurrency"]["pools"]
    assert pools == {"default_limit": 1, "granularity": "run"}
    assert _secret_literals(values) == []
    # ... which would name a literal one.
    assert _secret_literals({"postgresql": {"postgresqlPassword": "x"}}) == [
        ".postgresql.postgresqlPassword"
    ]


def test_the_windows_service_runs_the_one_command_line() -> None:
    script = (DEPLOY / "windows" / "install-code-server.ps1").read_text()
    assert "dagster code-server start -m pipelines.definitions -h 0.0.0.0 -p 4000" in script
    invocation = re.search(r"install \$ServiceName \$dagster (code-server start .*)$", script, re.M)
    assert invocation is not None
    assert invocation.group(1) == "code-server start -m pipelines.definitions -h 0.0.0.0 -p $Port"
    for needed in ("64-bit", "3.11", "ODBC", "SDO", "NSSM"):
        assert needed in script
    # Balanced braces and parentheses: the closest to a parse this machine can do.
    code = re.sub(r"<#.*?#>|\"[^\"]*\"|#.*$", "", script, flags=re.S | re.M)
    for open_, close in ("{}", "()", "[]"):
        assert code.count(open_) == code.count(close), open_
