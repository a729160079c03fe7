"""Seed 004's prospect life cycle with a Sage 50 FR dossier, end to end: the real assets of a
SAGE_EDITION=fr company's sync (those that carry accounts and contacts, tests/fr/conftest.py),
the SSM sandbox as a process, a rep acting in SSM, and the demo dossier's Sage
(sandbox/sage_fr/sage.py) importing the connector's files and exporting again.

A prospect created in SSM → an import file (its représentant the rep's full name) → Sage imports
it → the export shows it → SSM gets its code, still editable; edited in Sage → SSM sees the edit;
edited in SSM → imported into Sage, and SSM keeps its edit meanwhile; its contact waits; converted
in Sage → a read-only client in SSM, and only now its contact is imported and acknowledged; a
prospect deleted in Sage → gone from SSM; an SSM delete never reaches Sage; an import file Sage
has not consumed is never written again, and a record in it never twice.
"""

from __future__ import annotations

import pytest

from sandbox.sage_fr import sage as fr_sage
from tests.fr.conftest import Dossier
from tests.ssm.conftest import REP, ssm_records

pytestmark = pytest.mark.xdist_group("end_to_end")


def _rows(data: bytes) -> list[list[str]]:
    return [line.split("\t") for line in data.decode("cp1252").split("\r\n") if line]


def test_a_prospect_from_ssm_lives_its_seed_004_life(dossier: Dossier) -> None:
    d = dossier
    branch = d.value_id("branches", "__default__")
    account = d.rep(
        "POST", "accounts", name="Épicerie Ségolène", statusId=d.value_id("accountStatuses",
        "Potential"), countryId=d.value_id("countries", "fr"), salesRepId1=REP, branchId=branch,
        address1="3 rue des Lilas", city="Nîmes", postcode="30000", phone="04 66 00 00 01",
        email="bonjour@segolene.example",
    )  # fmt: skip
    contact = d.rep("POST", "contacts", firstName="Inès", lastName="Garnier", accountId=account,
                    branchId=branch, salesRepId=REP, email="ines@segolene.example")  # fmt: skip

    # 1. SSM -> an import file of prospects; nothing in SSM changes until an export shows it.
    d.sync()
    (name, data), = d.waiting().items()  # fmt: skip
    assert name.startswith("Import SSM prospects ")
    titles, row = _rows(data)
    got = dict(zip(titles, row, strict=True))
    code = got["Code"]
    assert (got["Nom"], got["Ville"], got["Code postal"]) == ("Épicerie Ségolène", "Nîmes", "30000")
    assert got["Représentant"] == d.user_name(REP)  # the rep's full name
    assert got["Commentaire"] == f"SSM:{account}"
    assert d.record("accounts", account).get("extId") in (None, "")

    # 2. Not imported yet: the file is never rewritten, the record never written again.
    before = {p.name: p.stat().st_mtime_ns for p in d.imports.glob("*.txt")}
    d.sync()
    assert {p.name: p.stat().st_mtime_ns for p in d.imports.glob("*.txt")} == before
    assert d.waiting() == {name: data}

    # 3. Sage imports it and exports: SSM gets the code, the prospect stays editable, once.
    imported = d.sage_import()
    assert imported.created == [f"prospects {code}"]
    assert d.waiting() == {}
    d.sync()
    record = d.record("accounts", account)
    assert (record["extId"], record["readOnly"]) == (code, False)
    named = [a["id"] for a in ssm_records(d.ssm, "accounts") if a["name"] == "Épicerie Ségolène"]
    assert named == [account]
    assert d.waiting() == {}  # its contact waits for the conversion

    # 4. Edited in Sage -> SSM sees the edit.
    fr_sage.edit(d.exports, "prospects", code, **{"Téléphone": "04 66 99 99 99"})
    d.sync()
    assert d.record("accounts", account)["phone"] == "04 66 99 99 99"

    # 5. Edited in SSM -> an import file with the whole row; SSM keeps its edit meanwhile.
    d.rep("PUT", "accounts", account, website="https://segolene.example")
    d.sync()
    ((name, data),) = d.waiting().items()
    titles, row = _rows(data)
    got = dict(zip(titles, row, strict=True))
    assert (got["Code"], got["Site web"], got["Téléphone"]) == (
        code, "https://segolene.example", "04 66 99 99 99")  # fmt: skip
    assert d.record("accounts", account)["website"] == "https://segolene.example"
    d.sync()
    assert d.record("accounts", account)["website"] == "https://segolene.example"
    assert d.sage_import().updated == [f"prospects {code}"]
    d.sync()
    assert fr_sage.read_export(d.exports, "prospects").find(Code=code)["Site web"] == (
        "https://segolene.example")  # fmt: skip
    assert d.record("accounts", account)["website"] == "https://segolene.example"

    # 6. Converted in Sage: a read-only client in SSM; only now its contact goes to Sage (the
    # contacts' writer learns of the conversion from the push before, as a UK one does).
    fr_sage.convert(d.exports, code)
    d.sync()
    d.sync()
    record = d.record("accounts", account)
    assert record["readOnly"] is True
    assert record["statusId"]["id"] == d.value_id("accountStatuses", "Client")
    ((name, data),) = d.waiting().items()
    assert name.startswith("Import SSM contacts ")
    got = dict(zip(*_rows(data), strict=True))
    assert (got["Code client"], got["Prénom"], got["Nom"]) == (code, "Inès", "Garnier")
    assert d.record("contacts", contact).get("extId") in (None, "")
    d.sage_import()
    d.sync()
    assert str(d.record("contacts", contact)["extId"]).startswith(f"{code}/")

    # 7. An SSM delete never reaches Sage; a prospect deleted in Sage is gone from SSM.
    d.rep("DELETE", "contacts", contact)
    pr2 = next(a for a in ssm_records(d.ssm, "accounts") if a.get("extId") == "PR00002")
    d.sync()
    assert d.waiting() == {}
    assert fr_sage.read_export(d.exports, "contacts").find(**{"Code client": code}) is not None
    fr_sage.delete(d.exports, "prospects", "PR00002")
    d.sync()
    assert pr2["id"] not in {a["id"] for a in ssm_records(d.ssm, "accounts")}
    assert d.waiting() == {}
