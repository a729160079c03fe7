"""Starting Dagster as people do: plain `dagster` in the project root with nothing set, or
`make dev`, on the same instance (data/dagster), code location (sage50_ssm) and demo settings."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from pipelines import settings

ROOT = settings.PROJECT_ROOT
LOCATION = "sage50_ssm"
# What only the Makefile (or an earlier version of it) set: none of it may be needed.
MAKE_ONLY = ("DAGSTER_HOME", "DAGSTER_INSTANCE_DIR", "SSM_PUBLIC_KEY", "SSM_PRIVATE_KEY")


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_code_location_has_one_name_everywhere() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text(encoding="utf-8"))
    (entry,) = workspace["load_from"]
    assert pyproject["tool"]["dagster"]["code_location_name"] == LOCATION
    assert entry["python_module"]["location_name"] == LOCATION
    module = entry["python_module"]["module_name"]
    assert pyproject["tool"]["dagster"]["module_name"] == module


def test_dagster_yaml_needs_no_environment_variable() -> None:
    assert "env:" not in (ROOT / "dagster.yaml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_plain_dagster_in_the_project_root_loads_with_nothing_set(tmp_path: Path) -> None:
    """`dagster definitions validate` opens the instance and loads the code location exactly as
    `dagster dev` does (a temporary DAGSTER_HOME, dagster.yaml from the working directory, the
    code location from pyproject.toml). It runs in a stand-in root holding the project's three
    configuration files, so nothing is written into the checkout."""
    for name in ("dagster.yaml", "pyproject.toml", "workspace.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ONLY}
    env.update(PYTHONPATH=str(ROOT), DATA_DIR=str(tmp_path / "demo"))
    done = run([sys.executable, "-m", "dagster", "definitions", "validate"], tmp_path, env)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "Traceback" not in said
    assert f"Validation successful for code location {LOCATION}" in said
    assert (tmp_path / "data" / "dagster" / "history" / "runs.db").is_file()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("arguments", "serves"),
    [
        ([], "--host 127.0.0.1 --port 3000"),
        (["PORT=3001", "HOST=0.0.0.0"], "--host 0.0.0.0 --port 3001"),
    ],
)
def test_make_dev_serves_the_workspace_where_it_is_told(arguments: list[str], serves: str) -> None:
    # Not the flags of a make this test runs under; a PORT of the environment (CI, a PaaS) is
    # not ours either.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PORT"] = "9999"
    done = run(["make", "-n", "dev", *arguments], ROOT, env)
    assert done.returncode == 0, done.stderr
    # one code location per company when a companies file exists, else the project's workspace
    assert "python -m pipelines.companies workspace --out data/workspace.yaml" in done.stdout
    assert done.stdout.splitlines()[-1].endswith(f"dagster dev -w data/workspace.yaml {serves}")


def test_a_local_ssm_gets_the_sandbox_keys_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSM_BASE_URL", "http://localhost:8765/api/v4")
    monkeypatch.delenv("SSM_PUBLIC_KEY", raising=False)
    monkeypatch.setenv("SSM_PRIVATE_KEY", "a-key-of-my-own")
    settings.default_to_sandbox_keys()
    assert os.environ["SSM_PUBLIC_KEY"] == "sandbox-public"
    assert os.environ["SSM_PRIVATE_KEY"] == "a-key-of-my-own"  # a set key is never replaced


def test_a_real_tenant_gets_no_default_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSM_BASE_URL", "https://api.forcemanager.com/api/v4")
    for name in settings.SANDBOX_KEYS:
        monkeypatch.delenv(name, raising=False)
    settings.default_to_sandbox_keys()
    assert not set(settings.SANDBOX_KEYS) & set(os.environ)
