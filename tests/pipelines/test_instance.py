"""A fresh instance opened by several processes at once is created once, and opens afterwards."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sandbox.ssm.testing import PROJECT_ROOT

OPENERS = 4


def test_processes_opening_a_new_instance_together_all_succeed_and_it_has_one_schema(
    tmp_path: Path,
) -> None:
    (tmp_path / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    command = [sys.executable, "-m", "pipelines.instance"]
    openers = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(OPENERS)
    ]
    said = [p.communicate(timeout=120)[0] for p in openers]
    assert [p.returncode for p in openers] == [0] * OPENERS, said
    instance_dir = tmp_path / "data" / "dagster"
    assert said == [f"the Dagster instance is {instance_dir}\n"] * OPENERS
    databases = sorted(instance_dir.rglob("*.db"))
    assert {d.name for d in databases} >= {"runs.db", "index.db", "schedules.db"}
    for database in databases:
        with sqlite3.connect(database) as con:
            versions = con.execute("SELECT version_num FROM alembic_version").fetchall()
        assert len(versions) == 1, (database, versions)
