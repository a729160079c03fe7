"""Start the SSM sandbox: `python -m sandbox.ssm --host 127.0.0.1 --port 8765 --db FILE`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from sandbox.ssm.app import (
    DEFAULT_PRIVATE_KEY,
    DEFAULT_PUBLIC_KEY,
    DEFAULT_READ_TIMEOUT,
    MAX_PAGE_SIZE,
    SandboxConfig,
    create_app,
)
from sandbox.ssm.faults import FAULT_KINDS, LOST_ANSWER_MODES, FaultInjector, FaultSettingsError
from sandbox.ssm.seed import DEFAULT_REPS
from sandbox.ssm.server import DEFAULT_MAX_HEAD_BYTES, protocol_with


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.ssm",
        description="Local Sage Sales Management API v4 sandbox (see sandbox/ssm/__init__.py).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument(
        "--db", type=Path, default=Path("data/ssm-sandbox.sqlite3"), help="state file"
    )
    parser.add_argument("--public-key", default=DEFAULT_PUBLIC_KEY, help="login username")
    parser.add_argument("--private-key", default=DEFAULT_PRIVATE_KEY, help="login password")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="session lifetime, s")
    parser.add_argument("--rate", type=float, default=4.0, help="requests/s, 0 = no limit")
    parser.add_argument("--burst", type=float, default=None, help="bucket size (default = rate)")
    parser.add_argument(
        "--reps",
        default=", ".join(DEFAULT_REPS),
        help='sales reps seeded after "Admin User" (id 1), comma-separated',
    )
    parser.add_argument("--max-page-size", type=int, default=MAX_PAGE_SIZE)
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT,
        help="seconds a request head or body may take to arrive (then 408 / close)",
    )
    parser.add_argument(
        "--max-head-bytes",
        type=int,
        default=DEFAULT_MAX_HEAD_BYTES,
        help="request line + headers; longer: 414 (the line alone) or 431",
    )
    for kind in FAULT_KINDS:
        option = "--fault-" + kind.replace("_", "-")
        parser.add_argument(option, type=float, default=0.0, help=f"share of calls with {kind}")
    parser.add_argument("--fault-hang-seconds", type=float, default=35.0)
    parser.add_argument("--fault-slow-seconds", type=float, default=2.0)
    parser.add_argument("--fault-lost-answer-mode", choices=LOST_ANSWER_MODES, default="drop")
    parser.add_argument("--fault-login", action="store_true", help="faults also hit /login")
    parser.add_argument("--fault-seed", type=int, default=None, help="seed for repeatable faults")
    parser.add_argument("--log-level", default="warning")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    injector = FaultInjector()
    changes = {kind: getattr(args, "fault_" + kind) for kind in FAULT_KINDS}
    changes.update(
        hang_seconds=args.fault_hang_seconds,
        slow_seconds=args.fault_slow_seconds,
        lost_answer_mode=args.fault_lost_answer_mode,
        login=args.fault_login,
        seed=args.fault_seed,
    )
    settings = injector.update(changes)
    reps = tuple(name.strip() for name in args.reps.split(",") if name.strip())
    args.db.parent.mkdir(parents=True, exist_ok=True)
    return SandboxConfig(
        db_path=args.db,
        public_key=args.public_key,
        private_key=args.private_key,
        token_ttl=args.token_ttl,
        rate=args.rate,
        burst=args.burst,
        reps=reps,
        faults=settings,
        max_page_size=args.max_page_size,
        read_timeout=args.read_timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except FaultSettingsError as exc:
        parser.error(str(exc))
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        # h11 (drop_connection relies on its request cycle holding the transport), with the
        # sandbox's answers to over-long and unfinished requests (server.py).
        http=protocol_with(args.read_timeout),
        h11_max_incomplete_event_size=args.max_head_bytes,
        ws="none",
        lifespan="on",
        proxy_headers=False,
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=2,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
