"""Seed 004's prospect life cycle with a Sage 50 FR dossier, end to end: the real sync job of a
SAGE_EDITION=fr company, the SSM sandbox as a process, a rep acting in SSM, and the demo
dossier's Sage (sandbox/sage_fr/sage.py) importing the connector's files and exporting again.

A prospect created in SSM → an import file (its représentant the rep's full name) → Sage imports
it → the export shows it → SSM gets its code, still editable; edited in Sage → SSM sees the edit;
edited in SSM → imported into Sage, and SSM keeps its edit meanwhile; its contact waits; converted
in Sage → a read-only client in SSM, and only now its contact is imported and acknowledged; a
prospect deleted in Sage → gone from SSM; an SSM delete never reaches Sage; an import file Sage
has not consumed is never written again, and a record in it never twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from assets.ssm.assets import SSMPushSettings
from pipelines.definitions import build_defs
from resources.sage_fr import SageFrExportsResource, SageFrImportsResource
from resources.ssm import SSMResource
from resources.warehouse import WarehouseResource
from sandbox.sage_fr import generate
from sandbox.sage_fr import sage as fr_sage
from sandbox.ssm.testing import SandboxProcess, running_sandbox
from tests.ssm.conftest import ssm_records

pytestmark = pytest.mark.xdist_group("end_to_end")
REP = 2  # the sandbox's first sales rep (user 1 is the API's admin user)
DEFS = build_defs("fr")
# What a sync runs for accounts and contacts, in its order (the whole job once, in the fixture).
CYCLE = dg.AssetSelection.assets(
    *(k for k in DEFS.resolve_all_asset_keys() if k.path[0] == "sage_fr"),
    "inbox/ssm_accounts", "inbox/ssm_contacts", "inbox/sage_customers", "inbox/sage_contacts",
    "staging/customer_accounts", "staging/contacts", "ssm/value_lists", "ssm/desired_accounts",
    "ssm/desired_contacts", "ssm/push_accounts", "ssm/push_contacts",
)  # fmt: skip


@dataclass
class Dossier:
    exports: Path
    imports: Path
    warehouse: Path
    ssm: SandboxProcess
    instance: dg.DagsterInstance

    def sync(self, whole: bool = False) -> dict[str, dict[str, Any]]:
        """The sync job (`whole`), or its assets that carry accounts and contacts (seconds)."""
        resources = {
            "warehouse": WarehouseResource(database=str(self.warehouse)),
            "sage_fr_exports": SageFrExportsResource(folder=str(self.exports), settle_seconds=0),
            "sage_fr_imports": SageFrImportsResource(folder=str(self.imports)),
            "ssm": SSMResource(base_url=self.ssm.base_url, public_key=self.ssm.public_key,
                               private_key=self.ssm.private_key, requests_per_second=200),
        }  # fmt: skip
        if whole:
            result = DEFS.resolve_job_def("sage_ssm_sync").execute_in_process(
                resources=resources, instance=self.instance, raise_on_error=False
            )
        else:
            result = dg.materialize(
                list(DEFS.assets or []), selection=CYCLE,
                # one delete of the small dossier's 12 accounts is past the delete breaker's 5 %
                resources={**resources, "ssm_push": SSMPushSettings(allow_mass_delete=True)},
                instance=self.instance, raise_on_error=False,
            )  # fmt: skip
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        out = {}
        for event in result.get_asset_materialization_events():
            m = event.event_specific_data.materialization  # type: ignore[union-attr]
            out[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
        return out

    def rep(self, method: str, resource: str, record_id: int | None = None, **body: Any) -> int:
        url = f"{self.ssm.control_url}/act-as/{REP}/{resource}"
        if record_id is not None:
            url += f"/{record_id}"
        answer = httpx.request(method, url, json=body or None, timeout=10)
        assert answer.is_success, answer.text
        return int(answer.json().get("id") or record_id or 0)

    def record(self, resource: str, record_id: int) -> dict[str, Any]:
        return next(r for r in ssm_records(self.ssm, resource) if r["id"] == record_id)

    def value_id(self, list_name: str, key: str) -> int:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            (found,) = con.execute(
                "SELECT min(id) FROM ssm.value_lists WHERE list_name = ? AND key = ?",
                [list_name, key.lower()],
            ).fetchone()  # type: ignore[misc]
        return int(found)

    def user_name(self, user_id: int) -> str:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            (label,) = con.execute(
                "SELECT any_value(label) FROM ssm.value_lists WHERE list_name = 'users' AND id = ?",
                [user_id],
            ).fetchone()  # type: ignore[misc]
        return str(label)

    def waiting(self) -> dict[str, bytes]:
        """The import files Sage has not consumed: name -> bytes."""
        return {p.name: p.read_bytes() for p in sorted(self.imports.glob("*.txt"))}

    def sage_import(self) -> fr_sage.Imported:
        return fr_sage.import_files(self.imports, self.exports)


@pytest.fixture
def dossier(tmp_path: Path) -> Iterator[Dossier]:
    generate(tmp_path / "exports", "small", seed=1)
    with running_sandbox(tmp_path, rate=200) as ssm, dg.DagsterInstance.ephemeral() as instance:
        found = Dossier(tmp_path / "exports", tmp_path / "imports", tmp_path / "wh.duckdb", ssm,
                        instance)  # fmt: skip
        found.sync(whole=True)
        yield found


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
