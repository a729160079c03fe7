"""python -m sandbox.sage_fr [FOLDER] [--size small|large] [--seed N]

python -m sandbox.sage_fr [FOLDER] --import-from IMPORT_DIR: Sage imports the connector's files of
IMPORT_DIR into the dossier's export files in FOLDER (sandbox/sage_fr/sage.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.settings import sage_fr_export_dir
from sandbox.sage_fr.dossier import SIZES, generate
from sandbox.sage_fr.sage import import_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.sage_fr", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=None,
                        help="default SAGE_FR_EXPORT_DIR (data/sage50-fr/exports)")  # fmt: skip
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--import-from", type=Path, default=None, metavar="IMPORT_DIR",
                        help="play Sage's import of the files in IMPORT_DIR")  # fmt: skip
    args = parser.parse_args(argv)
    folder = args.folder or sage_fr_export_dir()
    if args.import_from is not None:
        done = import_files(args.import_from, folder)
        print(f"imported {done.files}: created {done.created}, updated {done.updated}")
        return 0
    dossier = generate(folder, args.size, args.seed)
    print(
        f"wrote {folder}: {len(dossier.clients)} clients, {len(dossier.prospects)} prospects, "
        f"{len(dossier.contacts)} contacts, {len(dossier.articles)} articles, "
        f"{len(dossier.pieces)} documents"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
