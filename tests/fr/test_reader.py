"""The FR export files, read: hand-written files, each expected figure written by hand.

Good rows load, bad rows go to quarantine with column and reason, a file whose layout is wrong is
refused whole with one sentence (and nothing of it loads), a file read twice changes nothing, a
file not yet settled is left for the next look.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import duckdb
import pytest

from assets.fr.layout import default_layout
from assets.fr.source import FolderReport, read_folder

LAYOUT = default_layout()
CLIENT_TITLES = (
    "Code\tNom\tAdresse 1\tCode postal\tVille\tPays\tE-mail\tTaux de remise\tDate de création"
)


def write(folder: Path, name: str, text: str, encoding: str = "cp1252") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    old = time.time() - 60  # settled a minute ago
    os.utime(path, (old, old))
    return path


def look(con: duckdb.DuckDBPyConnection, folder: Path, settle: float = 5) -> FolderReport:
    return read_folder(con, folder, LAYOUT, settle_seconds=settle, run_id="test")


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


def test_clients_load_with_french_values_and_bad_rows_go_to_quarantine(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "Export des clients.txt",
        f"{CLIENT_TITLES}\n"
        'DUPONT\tDupont & Fils\t"12 rue de la Paix\tBât. B"\t75002\tParis\tFrance\tcompta@dupont.fr\t1 234,5\t15/03/2021\n'
        "MOREAU\tÉpicerie Moreau\t3 place de l'Église\t45000\tOrléans\tFrance\t\t5,5\t30/02/2024\n"
        "GIRARD\tGirard SARL\t8 quai Saint-Éloi\tBât. C\t25000\tBesançon\tFrance\t\t0\t01/01/2020\n"
        "FAURE\tFaure\t1 rue Haute\t30000\tNîmes\tFrance\tpas-une-adresse\t0\t\n",
    )
    report = look(con, tmp_path)
    assert [f["file"] for f in report.loaded] == ["Export des clients.txt"]
    # The tab inside the quoted address is part of the value; 1 234,5 % is read as 1234.5.
    assert rows(
        con, "SELECT code, nom, adresse_1, taux_remise, date_creation FROM sage_fr.clients"
    ) == [("DUPONT", "Dupont & Fils", "12 rue de la Paix\tBât. B", 1234.5, dt.date(2021, 3, 15))]
    assert rows(
        con, "SELECT row_key, column_name, reason, value FROM quarantine.rows ORDER BY row_key, reason"
    ) == [
        ("FAURE", "E-mail", "not an e-mail address", "pas-une-adresse"),
        # an unquoted tab shifts the columns: the row has one field too many
        ("GIRARD", "", "10 fields where the title line has 9 (a tab inside an unquoted value "
                       "shifts the columns)", None),
        # ... so each value sits one column right: "France" under E-mail, "0" under the date
        ("GIRARD", "Date de création", "not a date (dd/mm/yyyy)", "0"),
        ("GIRARD", "E-mail", "not an e-mail address", "France"),
        ("MOREAU", "Date de création", "not a date (dd/mm/yyyy)", "30/02/2024"),
    ]  # fmt: skip


def test_a_file_read_twice_changes_nothing_and_a_new_snapshot_deletes_what_it_lacks(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    text = f"{CLIENT_TITLES}\nA1\tAlpha\t1 rue\t75001\tParis\tFrance\t\t0\t\nB2\tBêta\t2 rue\t75002\tParis\tFrance\t\t0\t\n"
    write(tmp_path, "Export des clients.txt", text)
    look(con, tmp_path)
    before = rows(con, "SELECT * FROM sage_fr.clients ORDER BY code")
    # the same bytes under another name, and the same file again
    write(tmp_path, "clients copie.txt", text)
    again = look(con, tmp_path)
    assert again.loaded == [] and sorted(again.already_read) == [
        "Export des clients.txt",
        "clients copie.txt",
    ]
    assert rows(con, "SELECT * FROM sage_fr.clients ORDER BY code") == before
    (tmp_path / "clients copie.txt").unlink()
    # Sage deleted B2: the next export lacks it
    path = write(
        tmp_path,
        "Export des clients.txt",
        f"{CLIENT_TITLES}\nA1\tAlpha\t1 rue\t75001\tParis\tFrance\t\t0\t\n",
    )
    newer = time.time() - 30
    os.utime(path, (newer, newer))
    look(con, tmp_path)
    assert rows(con, "SELECT code, deleted_at IS NOT NULL FROM sage_fr.clients ORDER BY code") == [
        ("A1", False), ("B2", True)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "encoding", "sentence"),
    [
        (f"{CLIENT_TITLES}\nA1\tÉpicerie\t1 rue\t75001\tParis\tFrance\t\t0\t\n", "utf-8",
         "is UTF-8, not Windows-1252 (ANSI)"),
        ("Code\tNom\tAdresse 1\tVille\tPays\nA1\tAlpha\t1 rue\tParis\tFrance\n", "cp1252",
         "has no column 'Code postal' that the layout (layout.yaml) requires"),
        (f"{CLIENT_TITLES}\nA1\tAlpha\t1 rue\t75001\tParis\tFrance\t\t0\t\nB2\tBêta\t2 ru", "cp1252",
         "is truncated: its last row has 3 of 9 fields"),
    ],
    ids=["wrong-encoding", "missing-column", "truncated"],
)  # fmt: skip
def test_a_file_whose_layout_is_wrong_is_refused_whole(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, content: str, encoding: str, sentence: str
) -> None:
    write(tmp_path, "Export des clients.txt", content, encoding)
    report = look(con, tmp_path)
    assert report.loaded == []
    assert sentence in report.refused["Export des clients.txt"]
    assert rows(con, "SELECT count(*) FROM sage_fr.clients") == [(0,)]
    assert rows(con, "SELECT status FROM sage_fr.files") == [("refused",)]
    assert look(con, tmp_path).already_read == ["Export des clients.txt"]  # said once


def test_a_file_still_being_written_waits(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Export des clients.txt",
        f"{CLIENT_TITLES}\nA1\tAlpha\t1 rue\t75001\tParis\tFrance\t\t0\t\n",
    )
    os.utime(path)  # written just now
    assert look(con, tmp_path, settle=30).waiting == ["Export des clients.txt"]
    assert rows(con, "SELECT count(*) FROM sage_fr.clients") == [(0,)]


PIECES = (
    "E\tType de pièce\tN° pièce\tDate pièce\tCode client\tTotal HT\tTotal TVA\tTotal TTC\tComptabilisée\tSoldée\tReste dû\n"
    "L\tCode article\tQuantité\tPU HT\tMontant HT\tTaux TVA\n"
    "E\tFacture\tFA00001\t05/03/2024\tDUPONT\t110,00\t19,50\t129,50\tOui\tNon\t29,50\n"
    "L\tCHAISE\t2\t50,00\t100,00\t20\n"
    "L\tFARINE\t1\t10,00\t10,00\t5,5\n"
    "E\tAvoir\tAV00001\t06/03/2024\tDUPONT\t50,00\t10,00\t60,00\tOui\tOui\t\n"
    "L\tCHAISE\t1\t50,00\t50,00\t20\n"
    "E\tFacture\tFA00002\t31/02/2024\tDUPONT\t80,00\t16,00\t96,00\tOui\tNon\t\n"
    "L\tPOSE\t1\t80,00\t80,00\t20\n"
    "E\tFacture\tFA00003\t07/03/2024\tDUPONT\t80,00\t16,00\t96,00\tNon\tNon\t\n"
    "L\tPOSE\tun\t80,00\t80,00\t20\n"
    "E\tFacture d'acompte\tFR00001\t08/03/2024\tDUPONT\t10,00\t2,00\t12,00\tOui\tNon\t\n"
    "L\tPOSE\t1\t10,00\t10,00\t20\n"
)


def test_documents_are_whole_or_in_quarantine(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write(tmp_path, "Export des pièces.txt", PIECES)
    look(con, tmp_path)
    assert rows(con, "SELECT numero, type_piece, total_ttc, reste_du FROM sage_fr.pieces ORDER BY 1") == [
        ("AV00001", "Avoir", 60.0, None), ("FA00001", "Facture", 129.5, 29.5)
    ]  # fmt: skip
    assert rows(con, "SELECT numero, ligne, code_article, quantite FROM sage_fr.piece_lines ORDER BY 1, 2") == [
        ("AV00001", 1, "CHAISE", 1.0), ("FA00001", 1, "CHAISE", 2.0), ("FA00001", 2, "FARINE", 1.0)
    ]  # fmt: skip
    assert rows(con, "SELECT table_name, row_key, column_name, reason FROM quarantine.rows ORDER BY 2, 1") == [
        ("sage_fr.pieces", "FA00002", "Date pièce", "not a date (dd/mm/yyyy)"),
        ("sage_fr.piece_lines", "FA00002/1", "", "another row of its document is in quarantine"),
        ("sage_fr.pieces", "FA00003", "", "another row of its document is in quarantine"),
        ("sage_fr.piece_lines", "FA00003/1", "Quantité", "not a number (French decimal comma expected)"),
        ("sage_fr.pieces", "FR00001", "Type de pièce", "a type of document the layout's document_types does not declare (add it there to read it)"),
        ("sage_fr.piece_lines", "FR00001/1", "", "another row of its document is in quarantine"),
    ]  # fmt: skip
