"""The export folder (SAGE_FR_EXPORT_DIR): which files are there, and which are complete.

Sage 50 FR writes its exports itself, under the name the user gives, so no rename convention
(write `x.tmp`, rename to `x.txt`) can be imposed on it. A file is complete when it has settled:
its last write is at least SAGE_FR_SETTLE_SECONDS old, and its size and modification time are
the same after reading it as before (else it is left for the next look). A file Windows keeps
locked while Sage writes it cannot be opened: also left for the next look. A file cut short
anyway is refused by the reader (its last row is short) and read again once it changes.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from assets.fr.layout import Kind, Layout


@dataclass(frozen=True)
class ExportFile:
    path: Path
    kind: Kind | None  # None: no kind of the layout matches its name
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def look(self) -> tuple[int, int]:
        return self.size, self.mtime_ns


def scan(folder: Path, layout: Layout) -> list[ExportFile]:
    """The files of the folder (not its sub-folders), oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        try:
            if not path.is_file():
                continue
            stat = path.stat()
        except OSError:
            continue  # removed or locked between listing and stat
        found.append(ExportFile(path, layout.kind_of(path.name), stat.st_size, stat.st_mtime_ns))
    return sorted(found, key=lambda f: (f.mtime_ns, f.name))


def settled(file: ExportFile, settle_seconds: float, now: float | None = None) -> bool:
    """Whether the file's last write is old enough for it to be complete."""
    now = time.time() if now is None else now
    return now - file.mtime_ns / 1e9 >= settle_seconds


def read_whole(file: ExportFile) -> bytes | None:
    """The file's bytes, if it did not change while being read (None: look again later)."""
    try:
        data = file.path.read_bytes()
        stat = file.path.stat()
    except OSError:
        return None  # locked by Sage (Windows) or removed meanwhile
    if (stat.st_size, stat.st_mtime_ns) != file.look or len(data) != file.size:
        return None
    return data


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
