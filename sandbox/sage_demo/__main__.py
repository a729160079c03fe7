"""`python -m sandbox.sage_demo`: write the demo Sage 50 company to a SQLite file."""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from sandbox.sage_demo import DEFAULT_AS_OF, SIZES, generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.sage_demo", description="Generate the demo Sage 50 UK company."
    )
    parser.add_argument("--size", choices=tuple(SIZES), default="tiny")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="SQLite file to (re)write")
    parser.add_argument("--with-bad-rows", action="store_true", help="add realistic defects")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=DEFAULT_AS_OF,
        help=f"last business day in the data (default {DEFAULT_AS_OF})",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = generate(args.out, args.size, args.seed, args.with_bad_rows, args.as_of)
    elapsed = time.perf_counter() - started
    width = max(map(len, counts))
    for table, rows in counts.items():
        print(f"{table:<{width}}  {rows:>10,}")
    size_mb = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size_mb:,.1f} MB, {sum(counts.values()):,} rows) in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
