"""`make demo EDITION=fr`: the demo Sage 50 FR dossier end to end against the SSM sandbox.

1. write the demo dossier's export files (sandbox/sage_fr) into SAGE_FR_EXPORT_DIR if absent;
2. start the SSM sandbox if nothing answers (as the UK demo); the dossier's records carry the
   extId prefix `FR-` (SSM_EXT_ID_PREFIX) unless one is set, so the tenant can hold the UK demo
   company beside it, and its warehouse is its own (data/sage50-fr/warehouse.duckdb);
3. sync (SAGE_EDITION=fr): the export files into staging, derived and SSM;
4. act as a sales rep in SSM: a prospect, a Client company with a contact, a contact on a client,
   and a quote on that client (two articles and quantities), which the quote job `ssm_quotes`
   writes at once as a devis import file;
5. sync: the reverse flow writes the rest as import files into SAGE_FR_IMPORT_DIR; then play Sage
   50 FR (sandbox/sage_fr/sage.py): import the files (the devis priced), export again; sync, and
   again for the new client's contact (it waits for its client's code), until SSM holds every
   Sage code and the quote comes back priced and read-only with its devis number;
6. a last sync with nothing new, then what landed: the runs, the import files and what Sage made
   of them, and the rep's records in SSM with their Sage codes.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from pipelines import settings

FR_PREFIX = "FR-"


def _environment() -> None:
    """The FR company's settings, before the definitions are loaded."""
    os.environ["SAGE_EDITION"] = "fr"
    os.environ.setdefault("SSM_EXT_ID_PREFIX", FR_PREFIX)
    # The demo's Sage writes each export beside and renames it: a file is whole once it shows.
    os.environ.setdefault("SAGE_FR_SETTLE_SECONDS", "0")
    os.environ.setdefault(
        "WAREHOUSE_PATH", str(settings.data_dir() / "sage50-fr" / "warehouse.duckdb")
    )


def _rep_visit(root: str, tag: str) -> dict[str, int]:
    import duckdb

    from pipelines.demo import _act, _value_id

    with duckdb.connect(settings.warehouse_path(), read_only=True) as con:
        status = {s: _value_id(con, "accountStatuses", s) for s in ("Client", "Potential")}
        france, branch = (
            _value_id(con, "countries", "fr"),
            _value_id(con, "branches", "__default__"),
        )
        (client,) = con.execute(
            "SELECT min(ssm_id) FROM ssm.synced_accounts WHERE ext_id IN (?, ?)",
            ["CL00001", f"{FR_PREFIX}CL00001"],
        ).fetchone() or (None,)
    rep = 2  # the sandbox's first sales rep

    def company(name: str, kind: str, city: str, postcode: str) -> int:
        return _act(root, rep, "accounts", {
            "name": f"{name} {tag}", "statusId": status[kind], "countryId": france,
            "salesRepId1": rep, "branchId": branch, "address1": "12 rue Victor Hugo",
            "city": city, "postcode": postcode, "phone": "01 23 45 67 89",
        })  # fmt: skip

    visit = {
        "prospect": company("Atelier Bérénice", "Potential", "Orléans", "45000"),
        "client": company("Traiteur Éloïse", "Client", "Lyon", "69002"),
    }
    visit["contact of the new client"] = _act(root, rep, "contacts", {
        "firstName": "Noémie", "lastName": f"Carré {tag}", "accountId": visit["client"],
        "branchId": branch, "salesRepId": rep, "email": "noemie@eloise.example",
    })  # fmt: skip
    if client is not None:
        visit["contact of CL00001"] = _act(root, rep, "contacts", {
            "firstName": "Gaël", "lastName": f"Roux {tag}", "accountId": client,
            "branchId": branch, "salesRepId": rep,
        })  # fmt: skip
    if client is not None:
        visit["quote on CL00001"] = _rep_quote(root, rep, client, branch, tag)
    return visit


def _rep_quote(root: str, rep: int, account: int, branch: int, tag: str) -> int:
    """A quote as the rep makes it in SSM: the order in the quote status (the quote job made
    it), then its lines: articles and quantities only, Sage 50 FR prices them on import."""
    import duckdb

    from assets.ssm.settings import SyncSettings
    from pipelines.demo import _act, _quote_status_id

    with duckdb.connect(settings.warehouse_path(), read_only=True) as con:
        products = dict(con.execute(
            "SELECT regexp_replace(ext_id, '^' || ?, ''), ssm_id FROM ssm.synced_products "
            "WHERE state = 'synced'", [FR_PREFIX],
        ).fetchall())  # fmt: skip
    order = _act(root, rep, "salesorders", {
        "accountId": account, "salesRepId": rep, "branchId": branch,
        "statusId": _quote_status_id(SyncSettings.from_env().quote_status),
        "reference": f"Devis démo {tag}",
    })  # fmt: skip
    for number, (code, quantity) in enumerate((("ART0001", 3), ("ART0003", 10)), 1):
        _act(root, rep, "salesordersLines", {"salesOrderId": order, "productId": products[code],
             "quantity": quantity, "price": 0, "order": number})  # fmt: skip
    return order


def _ssm(resource: str, record_id: int) -> dict[str, Any]:
    from pipelines.demo import _sandbox_get

    rows = next(iter((_sandbox_get(f"state?resource={resource}") or {"": []}).values()))
    return next((r for r in rows if r["id"] == record_id), {})


def demo_fr(size: str) -> None:
    _environment()
    from pipelines.demo import QUOTES_JOB, _sync, ensure_ssm_sandbox, print_summary, sandbox_root
    from pipelines.instance import open_instance
    from pipelines.sage_fr import sage_fr_import_dir
    from sandbox.sage_fr import generate
    from sandbox.sage_fr.sage import import_files

    started = time.perf_counter()
    exports, imports = settings.sage_fr_export_dir(), sage_fr_import_dir()
    if not any(exports.glob("*.txt")):
        dossier = generate(exports, size)
        print(f"wrote the demo Sage 50 FR dossier ({size}) into {exports}: "
              f"{len(dossier.clients)} clients, {len(dossier.prospects)} prospects, "
              f"{len(dossier.pieces)} documents")  # fmt: skip
    sandbox_pid = ensure_ssm_sandbox()
    written: list[str] = []
    with open_instance() as instance:
        runs = [_sync(instance, "initial")]
        root = sandbox_root()
        visit: dict[str, int] = {}
        if root is None:
            print(f"\nnot acting as a sales rep: SSM at {settings.ssm_base_url()} is not the "
                  "sandbox\n")  # fmt: skip
        else:
            runs.append(_sync(instance, "quote statuses", QUOTES_JOB))  # creates them in SSM
            visit = _rep_visit(root, uuid.uuid4().hex[:4])
            print(f"a rep created in SSM: {', '.join(f'{k} {v}' for k, v in visit.items())}")
            runs.append(_sync(instance, "rep's quote", QUOTES_JOB))  # the devis import file
            for label in ("reps", "after Sage's import", "after Sage's second import"):
                if label != "reps":
                    done = import_files(imports, exports)
                    written += done.files
                    print(f"Sage 50 FR imported {done.files}: created {done.created}, "
                          f"updated {done.updated}; export files written again")  # fmt: skip
                runs.append(_sync(instance, label))
                waiting = sorted(p.name for p in imports.glob("*.txt"))
                print(f"  import files waiting for Sage in {imports}: {waiting or 'none'}")
        runs.append(_sync(instance, "repeat"))
    print_summary(runs)
    if visit:
        print("\nthe rep's records in SSM (extId = the Sage 50 FR code, once an export showed it):")
        for what, record_id in visit.items():
            resource = {"contact": "contacts", "quote": "salesorders"}.get(what.split()[0],
                                                                           "accounts")  # fmt: skip
            record = _ssm(resource, record_id)
            total = f", total {record.get('total')} TTC" if resource == "salesorders" else ""
            print(f"  {what} {record_id}: extId {record.get('extId') or '-'}, "
                  f"read-only {record.get('readOnly')}{total}")  # fmt: skip
        print(f"import files Sage consumed (moved into {imports / 'imported'}): {written}")
    print(f"\nFR demo done in {time.perf_counter() - started:.1f} s")
    if sandbox_pid is not None:
        print(
            f"the SSM sandbox keeps running (pid {sandbox_pid}); stop it with `kill {sandbox_pid}`"
        )
