"""The reverse flow of a Sage 50 FR dossier as Dagster assets: the UK flow's change feeds and its
one engine (assets/inbox/engine.py), with the import-file writer (imports.py) in place of SDO.

The writers run after the export folder is read (so an export that shows an imported record
acknowledges it in the same run) and before the FR staging of accounts and contacts (so SSM gets
a new record's Sage code before the push sees the record in the export: never twice in SSM).
Quotes go to Sage 50 FR as devis (assets/fr/devis.py) through the UK quote flow: the writer runs
in the quote job (`ssm_quotes`: a rep's new quote is in an import file within seconds) and in
the sync, after the export folder is read and before the staging of sales orders, so the sync
that reads the export showing the priced devis returns it to SSM before its push.
"""

from contextlib import ExitStack
from typing import Literal

import dagster as dg

from assets import company
from assets.fr.devis import FrQuoteWriter, read_devis
from assets.fr.imports import FrImportWriter
from assets.fr.layout import Layout
from assets.inbox import feed
from assets.inbox.assets import (
    ASSETS,
    CONTACTS_KEY,
    CUSTOMERS_KEY,
    FEED_KEYS,
    GROUP,
    QUOTES_KEY,
    QUOTES_POOL,
    _contract_rules,
    report_metadata,
)
from assets.inbox.engine import ReverseRun, ensure_tables
from assets.inbox.quotes import QuoteRun
from assets.inbox.rules import CONTACT_FIELDS, CUSTOMER_FIELDS, ReverseSettings
from assets.ssm.assets import VALUE_LISTS_KEY, _warehouse
from assets.ssm.settings import SyncSettings
from resources.sage_fr import SageFrImportsResource
from resources.ssm.resource import SSMResource
from resources.warehouse import WarehouseResource


def _writer(
    resource: str, settings: ReverseSettings, sync: SyncSettings, imports: SageFrImportsResource,
    stack: ExitStack, connect, run_id: str, opened: list[FrImportWriter],
):  # fmt: skip  # noqa: ANN001, ANN202 - a factory of the engine's writer
    """The engine's writer factory: the dossier's import writer, its layout checked against
    every field the engine hands over (a field the layout lacks stops with one sentence)."""

    def start() -> FrImportWriter:
        marker = sync.prospect_marker_sdo
        writer = stack.enter_context(
            (FrQuoteWriter if resource == feed.QUOTE_FEED else FrImportWriter)(
                connect, imports.path, rep_field=settings.rep_field,
                ssm_id_field=settings.ssm_id_field, prospect_field=marker.field,
                prospect_value=marker.value, run_id=run_id,
            )
        )  # fmt: skip
        opened.append(writer)
        if isinstance(writer, FrQuoteWriter):
            writer.check_quote_fields()
        elif resource == "accounts":
            writer.check_fields(
                "SalesRecord",
                [*(f.sage for f in CUSTOMER_FIELDS), settings.rep_field, settings.ssm_id_field],
                {settings.rep_field: "SAGE_SDO_REP_FIELD",
                 settings.ssm_id_field: "SAGE_SDO_SSM_ID_FIELD"},
            )  # fmt: skip
        else:
            writer.check_fields("CustomerAddress", [f.sage for f in CONTACT_FIELDS])
        return writer

    return start


def _writer_asset(
    key: dg.AssetKey, resource: Literal["accounts", "contacts", "salesorders"],
    deps: list[dg.AssetKey], description: str, rules: tuple[str, ...],
) -> dg.AssetsDefinition:  # fmt: skip
    quotes = resource == feed.QUOTE_FEED

    @dg.asset(
        key=key,
        group_name=GROUP,
        deps=deps,
        pool=company.pool(QUOTES_POOL if quotes else "sage_write"),
        kinds={"sage", "duckdb"},
        description=description,
        metadata={**_contract_rules(*rules), "edition": "fr"},
    )
    def _write(
        context: dg.AssetExecutionContext,
        ssm: SSMResource,
        warehouse: WarehouseResource,
        sage_fr_imports: SageFrImportsResource,
    ) -> dg.MaterializeResult:
        sync = SyncSettings.from_env()
        settings = ReverseSettings.from_env(sync=sync)
        connect = _warehouse(warehouse)
        opened: list[FrImportWriter] = []
        with ExitStack() as stack, ssm.get_client() as client:
            with connect() as con:
                ensure_tables(con)
            start = _writer(resource, settings, sync, sage_fr_imports, stack, connect,
                            context.run.run_id, opened)  # fmt: skip
            run_id = context.run.run_id
            if quotes:  # the UK quote flow; the devis read back from the last export
                report = QuoteRun(connect, client, start, sync, settings, run_id,
                                  lambda number: read_devis(connect, number, sync)).run()  # fmt: skip
            else:
                report = ReverseRun(connect, client, start, sync, settings, run_id,
                                    resource).run()  # fmt: skip
            waiting = sum(w.waiting_devis() for w in opened if isinstance(w, FrQuoteWriter))
        # the stack closed the writer: its batch files are published
        files = [p.name for w in opened for p in w.published]
        context.log.info(
            f"{report.resource}: {report.read} to decide, {report.sage_writes} rows written to "
            f"{len(files)} import file(s) {files}, {report.acknowledged} acknowledged in SSM once "
            f"an export showed them, {report.retry_later} waiting for Sage's import, "
            f"{report.failed} dead letters"
        )
        metadata = report_metadata(report)
        if quotes:
            # A devis waiting for Sage is no retry for the quote sensor (pipelines/quotes.py,
            # at most one run a minute): the sync that reads Sage's next export settles it.
            metadata["retry_later"] = max(0, report.retry_later - waiting)
            metadata["waiting_for_sage"] = waiting
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "import_files": dg.MetadataValue.json(files),
                "import_folder": str(sage_fr_imports.path),
            }  # fmt: skip
        )

    return _write


def reverse_assets(layout: Layout) -> list[dg.AssetsDefinition]:
    """The SSM change feeds of accounts, contacts and quotes, and their Sage 50 FR writers."""
    exports = [company.key("sage_fr", t.name) for t in layout.tables]
    kept = (FEED_KEYS["accounts"], FEED_KEYS["contacts"], FEED_KEYS[feed.QUOTE_FEED])
    feeds = [a for a in ASSETS if a.key in kept]
    customers = _writer_asset(
        CUSTOMERS_KEY,
        "accounts",
        [FEED_KEYS["accounts"], VALUE_LISTS_KEY, *exports],
        "Companies reps created in SSM as Client (or as prospects) written into the Sage 50 FR "
        "clients (prospects) import file of the run, with a new code and the rep's full name as "
        "représentant; SSM gets the code and read-only once an export shows the record "
        "(prospects stay editable, their SSM edits are imported until Sage converts them). "
        "Exactly once: a record in an import file Sage has not shown back is not written again.",
        ("client_companies", "prospects"),
    )
    contacts = _writer_asset(
        CONTACTS_KEY,
        "contacts",
        [FEED_KEYS["contacts"], CUSTOMERS_KEY, *exports],
        "Contacts reps created or edited in SSM written into the Sage 50 FR contacts import file, "
        "on clients Sage knows (a prospect's contacts once Sage converts it); SSM gets the "
        "contact's key once an export shows it.",
        ("ssm_contacts",),
    )
    devis = _writer_asset(
        QUOTES_KEY,
        feed.QUOTE_FEED,
        [FEED_KEYS[feed.QUOTE_FEED], *exports],
        "Quotes reps made in SSM written as devis into the Sage 50 FR devis import file (client, "
        "date, articles, quantities, SSM:<id> in Réf. commande); Sage prices them on import, and "
        "the export that shows the devis returns it to SSM priced, read-only, with its number. "
        "Exactly once: a devis in a file Sage has not shown back is not written again.",
        ("quotations",),
    )
    return [*feeds, customers, contacts, devis]
