"""Run the sandbox as a real process for tests: `with running_sandbox(tmp_path) as ssm: ...`.

    from sandbox.ssm.testing import running_sandbox

    def test_push(tmp_path):
        with running_sandbox(tmp_path, rate=13, fault_5xx=0.1, fault_seed=7) as ssm:
            client = SsmClient(ssm.base_url, ssm.public_key, ssm.private_key)
            ...
            httpx.get(ssm.control_url + "/stats").json()["writes"]

Options are the command-line flags with `_` for `-` (`token_ttl=2`, `fault_lost_answer=0.5`,
`reps=["Alice Carter"]`, `fault_login=True`). Unlike the command line, the rate limit is OFF
unless `rate=` is given, so tests that do not study throttling stay fast.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

with warnings.catch_warnings():
    # Starlette 1.x nudges towards httpx2 for its test client; httpx is what the project locks.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from sandbox.ssm.app import DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, SandboxConfig, create_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _flags(options: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            flags.append(flag)
        elif isinstance(value, list | tuple):
            flags += [flag, ",".join(str(v) for v in value)]
        else:
            flags += [flag, str(value)]
    return flags


class SandboxProcess:
    """One sandbox server process on a loopback port; restartable on the same state file."""

    def __init__(self, db_path: Path, options: dict[str, Any], log_path: Path) -> None:
        self.db_path = db_path
        self.options = {"rate": 0, **options}
        self.public_key = str(self.options.get("public_key", DEFAULT_PUBLIC_KEY))
        self.private_key = str(self.options.get("private_key", DEFAULT_PRIVATE_KEY))
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/api/v4"

    @property
    def control_url(self) -> str:
        return self.root_url + "/sandbox"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "sandbox.ssm",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path),
            *_flags(self.options),
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_answering()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the SSM sandbox exited with {self.process.returncode}: "
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            try:
                if httpx.get(self.control_url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(
            f"the SSM sandbox did not answer on port {self.port} within {STARTUP_TIMEOUT}s"
        )

    def login(self) -> str:
        """A fresh session token (counts as an API call, so it is rate-limited)."""
        answer = httpx.post(
            self.base_url + "/login",
            json={"username": self.public_key, "password": self.private_key},
            timeout=5.0,
        )
        answer.raise_for_status()
        return str(answer.json()["token"])

    def kill(self) -> None:
        """Stop at once (SIGKILL): nothing is flushed, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), falling back to a kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        """Stop and start again on the same port and state file."""
        self.stop()
        self.start()


@contextmanager
def running_sandbox(tmp_path: Path, **options: Any) -> Iterator[SandboxProcess]:
    """Start the sandbox on a free loopback port, wait until it answers, stop it afterwards.

    The state file is `tmp_path / "ssm-sandbox.sqlite3"` unless `db=` is given.
    """
    db_path = Path(options.pop("db", tmp_path / "ssm-sandbox.sqlite3"))
    log_path = tmp_path / "ssm-sandbox.log"
    sandbox = SandboxProcess(db_path, options, log_path)
    for attempt in range(3):
        try:
            sandbox.start()
            break
        except RuntimeError:
            # Another process may have taken the free port between probe and bind.
            if attempt == 2:
                raise
            sandbox.port = free_port()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@contextmanager
def in_process_sandbox(
    tmp_path: Path, *, raise_server_exceptions: bool = True, **config: Any
) -> Iterator[TestClient]:
    """The sandbox app in this process (no socket), already logged in: fast unit tests.

    `config` takes `SandboxConfig` fields (`rate` defaults to 0 = off here). Paths are relative
    to the server root: `client.get("/api/v4/accounts")`. `client.app.sandbox` is the state.
    Dropped-connection faults raise `ConnectionDropped` here; test them with `running_sandbox`.
    `raise_server_exceptions=False` answers a server error 500 as a server would, instead of
    raising it in the test (whose report may then hold text pytest-xdist cannot send).
    """
    config.setdefault("rate", 0)
    app = create_app(SandboxConfig(db_path=tmp_path / "ssm-in-process.sqlite3", **config))
    with TestClient(
        app, base_url="http://127.0.0.1", raise_server_exceptions=raise_server_exceptions
    ) as client:
        answer = client.post(
            "/api/v4/login",
            json={
                "username": app.sandbox.config.public_key,
                "password": app.sandbox.config.private_key,
            },
        )
        client.headers["X-Session-Key"] = answer.json()["token"]
        yield client
