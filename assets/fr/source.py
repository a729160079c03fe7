"""One look at the export folder: read what is new and complete, load it, say what happened.

Per kind, the newest complete file not read before is loaded (each file is a full snapshot, so an
older one would only be overwritten); older new files of that kind are recorded as superseded, and
so is a file older than the one already loaded (a late copy must not bring back an old state). A
file refused whole is recorded with its sentence and never half-loaded; the next file of its kind
(or the same file, corrected, hence with other bytes) is read as usual.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from assets.fr import warehouse
from assets.fr.folder import ExportFile, content_hash, read_whole, scan, settled
from assets.fr.layout import Layout
from assets.fr.reader import Refused, read


@dataclass
class FolderReport:
    loaded: list[dict[str, object]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # file -> the sentence
    superseded: list[str] = field(default_factory=list)
    already_read: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not complete yet
    unknown: list[str] = field(default_factory=list)  # no kind of the layout matches
    changed_kinds: set[str] = field(default_factory=set)

    def summary(self) -> str:
        parts = [
            f"{len(self.loaded)} loaded",
            f"{len(self.refused)} refused",
            f"{len(self.superseded)} superseded",
            f"{len(self.already_read)} already read",
            f"{len(self.waiting)} not complete yet",
        ]
        if self.unknown:
            parts.append(f"{len(self.unknown)} of no known kind")
        return ", ".join(parts)


def read_folder(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    layout: Layout,
    *,
    settle_seconds: float,
    run_id: str,
    now: float | None = None,
) -> FolderReport:
    warehouse.ensure_tables(con, layout)
    report = FolderReport()
    by_kind: dict[str, list[tuple[ExportFile, bytes, str]]] = {}
    for file in scan(folder, layout):
        if file.kind is None:
            report.unknown.append(file.name)
            continue
        if not settled(file, settle_seconds, now):
            report.waiting.append(file.name)
            continue
        data = read_whole(file)
        if data is None:
            report.waiting.append(file.name)
            continue
        sha = content_hash(data)
        if warehouse.already_read(con, sha):
            report.already_read.append(file.name)
            continue
        by_kind.setdefault(file.kind.name, []).append((file, data, sha))
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for kind_name, files in by_kind.items():
        newest = warehouse.newest_loaded(con, kind_name)
        done = False
        for file, data, sha in sorted(files, key=lambda f: f[0].mtime_ns, reverse=True):
            if done or (newest is not None and file.mtime_ns < newest):
                warehouse.record(con, file, sha, "superseded", run_id)
                report.superseded.append(file.name)
                continue
            assert file.kind is not None
            try:
                result = read(data, file.name, file.kind, layout)
            except Refused as exc:
                warehouse.record(con, file, sha, "refused", run_id, reason=str(exc))
                report.refused[file.name] = str(exc)
                continue
            counts = warehouse.load(con, result, file, sha, run_id, stamp)
            report.loaded.append(
                {
                    "file": file.name,
                    "kind": kind_name,
                    "rows": result.rows,
                    **{
                        f"{t}_{what}": getattr(c, what)
                        for t, c in counts.items()
                        for what in ("inserted", "updated", "deleted", "quarantined")
                    },
                }
            )
            report.changed_kinds.add(kind_name)
            done = True
    return report
