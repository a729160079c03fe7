"""Pages under docs/ that a module generates: write one, or check that it is current."""

from __future__ import annotations

from pathlib import Path


def write_or_check(path: Path, text: str, command: str, check: bool) -> int:
    """Write `text` to `path`; with `check`, write nothing and return 1 when the page differs.

    `command` is what regenerates the page, named in the message of a stale page.
    """
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is stale: run `{command}`")
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
