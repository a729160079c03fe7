"""The connector must load on Windows, where Sage's ODBC driver and SDO live; no Windows machine
runs CI here, so every product module is imported in a fresh interpreter in which the POSIX-only
standard modules do not exist (`sys.modules[name] = None` makes `import name` fail as it does on
Windows). A module that needs one is named, with the file and line that failed.

The third-party packages the product uses are imported first, as tests/resources/test_warehouse.py
does for portalocker: on Linux they take their POSIX branch (portalocker imports fcntl, psutil
resource), on Windows their Windows one; what is checked is the project's own code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POSIX_ONLY = ("fcntl", "termios", "pwd", "grp", "resource")
PRODUCT_PACKAGES = ("assets", "pipelines", "resources", "sandbox/sdo")
# The product's third-party imports (pyproject.toml), each with its own platform branch.
THIRD_PARTY = (
    "dagster", "dagster._core.instance", "dagster_duckdb", "dagster_pandera", "duckdb", "pyarrow",
    "pandas", "pandera", "sqlalchemy", "httpx", "tenacity", "starlette", "uvicorn", "psutil",
    "portalocker", "pyodbc", "arrow_odbc", "pydantic", "yaml",
)  # fmt: skip

# Runs in the child: hide the POSIX-only modules, then import each product module on its own and
# report the ones that fail, with the innermost frame of the project that raised.
PROBE = """
import importlib, json, sys, traceback
for package in {third_party!r}:
    try:
        importlib.import_module(package)
    except ImportError:
        pass  # pyodbc without unixODBC: the product imports it lazily, or says why
for name in {hidden!r}:
    sys.modules[name] = None
failed = {{}}
for module in {modules!r}:
    try:
        importlib.import_module(module)
    except BaseException as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if {root!r} in f.filename and "site-packages" not in f.filename]
        where = [f"{{f.filename}}:{{f.lineno}}" for f in (ours[-1:] + frames[-1:])]
        failed[module] = f"{{type(exc).__name__}}: {{exc}} ({{where}})"
print(json.dumps(failed))
"""


def product_modules() -> list[str]:
    """Every module of the product packages, dotted (pipelines.definitions, ...)."""
    modules = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts[-1] != "__main__":
                modules.append(".".join(parts))
    return modules


def imports_without_posix(modules: list[str]) -> dict[str, str]:
    """module -> why it failed, importing each in a fresh interpreter with no POSIX modules."""
    code = PROBE.format(
        third_party=THIRD_PARTY, hidden=POSIX_ONLY, modules=modules, root=str(PROJECT_ROOT)
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_probe_names_a_module_that_needs_a_posix_only_one(tmp_path: Path) -> None:
    """The probe itself: a module importing fcntl is reported with its file and line."""
    failed = imports_without_posix(["tests.deploy.posix_only_example"])
    assert list(failed) == ["tests.deploy.posix_only_example"]
    assert "fcntl" in failed["tests.deploy.posix_only_example"]
    assert "posix_only_example.py:" in failed["tests.deploy.posix_only_example"]


def test_every_product_module_imports_without_posix_only_modules() -> None:
    modules = product_modules()
    assert "pipelines.definitions" in modules and "resources.warehouse" in modules
    assert any(m.startswith("sandbox.sdo") for m in modules)
    failed = imports_without_posix(modules)
    assert failed == {}, "\n".join(f"{m}: {why}" for m, why in failed.items())
