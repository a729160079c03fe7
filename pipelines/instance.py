"""The project's Dagster instance, created once before anything runs on it.

Dagster creates a SQLite instance's databases the first time a process opens it, without a lock:
two processes opening a fresh instance at once (two `dagster job execute`, a run and the UI)
can leave a database half-made, or stamped with two schema versions, after which nothing opens
it. So every entry point of the project (`make demo`, `make dev`, `make instance`, the demo)
opens it here first, under a cross-process file lock; once it exists, opening it is safe.

`python -m pipelines.instance` creates it and says where it is: run it (or `make instance`) once
before starting Dagster processes of your own side by side on a new instance.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import portalocker
import sqlalchemy.exc

from pipelines import settings

CREATE_TIMEOUT_SECONDS = 120.0


def _open(config_dir: str) -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.from_config(config_dir)


def open_instance() -> dg.DagsterInstance:
    """The instance `dagster dev` opens in the project root: dagster.yaml from DAGSTER_HOME (the
    Makefile sets it to the project root), else from the project root, which keeps it in
    data/dagster, so the demo's runs show in the UI. Errors are one sentence (SystemExit)."""
    config_dir = os.environ.get("DAGSTER_HOME") or str(settings.PROJECT_ROOT)
    try:
        lock_path = settings.data_dir() / "dagster-instance.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with portalocker.Lock(lock_path, timeout=CREATE_TIMEOUT_SECONDS):
            return _open(config_dir)
    except dg.DagsterError as exc:  # DAGSTER_HOME relative, missing, or a bad dagster.yaml
        raise SystemExit(f"Cannot open the Dagster instance: {str(exc).splitlines()[0]}") from None
    except portalocker.LockException:
        raise SystemExit(
            f"Another process has been creating the Dagster instance for more than "
            f"{CREATE_TIMEOUT_SECONDS:.0f} s (lock {lock_path}): wait for it or stop it."
        ) from None
    except OSError as exc:
        where = Path(exc.filename).resolve() if exc.filename else config_dir
        raise SystemExit(
            f"Cannot create the Dagster instance at {where} ({exc.strerror}): make it a writable "
            "directory, or set DAGSTER_HOME to a directory of your own."
        ) from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise SystemExit(
            f"Cannot open the Dagster instance that {Path(config_dir) / 'dagster.yaml'} configures "
            f"({getattr(exc, 'orig', None) or exc}): check that its directory is writable and holds "
            "Dagster's files only, or set DAGSTER_HOME to a directory of your own."
        ) from None


def main() -> None:
    with open_instance() as instance:
        print(f"the Dagster instance is {Path(instance.root_directory).resolve()}")


if __name__ == "__main__":
    main()
