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

from typing import Any

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
    QUOTES_KEY,
    Edition,
    WriterRun,
    report_metadata,
    writer_asset,
)
from assets.inbox.engine import ReverseReport
from assets.inbox.rules import CONTACT_FIELDS, CUSTOMER_FIELDS
from assets.ssm.assets import VALUE_LISTS_KEY
from resources.sage.quotes import Quotation
from resources.sage_fr import SageFrImportsResource


class _ImportFiles:
    """Sage 50 FR: the dossier's import writer (devis for quotes), its layout checked against
    every field the engine hands over (a field the layout lacks stops with one sentence); a
    devis read back from the last export."""

    def __init__(self, run: WriterRun, resources: Any) -> None:
        self.run = run
        self.imports: SageFrImportsResource = resources.sage_fr_imports
        self.opened: list[FrImportWriter] = []

    def start(self) -> FrImportWriter:
        run, marker = self.run, self.run.sync.prospect_marker_sdo
        settings = run.settings
        writer = run.stack.enter_context(
            (FrQuoteWriter if run.quotes else FrImportWriter)(
                run.connect, self.imports.path, rep_field=settings.rep_field,
                ssm_id_field=settings.ssm_id_field, prospect_field=marker.field,
                prospect_value=marker.value, run_id=run.run_id,
            )
        )  # fmt: skip
        self.opened.append(writer)
        if isinstance(writer, FrQuoteWriter):
            writer.check_quote_fields()
        elif run.resource == "accounts":
            writer.check_fields(
                "SalesRecord",
                [*(f.sage for f in CUSTOMER_FIELDS), settings.rep_field, settings.ssm_id_field],
                {settings.rep_field: "SAGE_SDO_REP_FIELD",
                 settings.ssm_id_field: "SAGE_SDO_SSM_ID_FIELD"},
            )  # fmt: skip
        else:
            writer.check_fields("CustomerAddress", [f.sage for f in CONTACT_FIELDS])
        return writer

    def read_back(self, number: int) -> Quotation | None:
        return read_devis(self.run.connect, number, self.run.sync)

    def summary(self, report: ReverseReport) -> tuple[str, dict[str, Any]]:
        files = [p.name for w in self.opened for p in w.published]
        line = (
            f"{report.resource}: {report.read} to decide, {report.sage_writes} rows written to "
            f"{len(files)} import file(s) {files}, {report.acknowledged} acknowledged in SSM once "
            f"an export showed them, {report.retry_later} waiting for Sage's import, "
            f"{report.failed} dead letters"
        )
        metadata = report_metadata(report)
        if self.run.quotes:
            # A devis waiting for Sage is no retry for the quote sensor (pipelines/quotes.py,
            # at most one run a minute): the sync that reads Sage's next export settles it.
            waiting = sum(w.waiting_devis() for w in self.opened if isinstance(w, FrQuoteWriter))
            metadata["retry_later"] = max(0, report.retry_later - waiting)
            metadata["waiting_for_sage"] = waiting
        metadata["import_files"] = dg.MetadataValue.json(files)
        metadata["import_folder"] = str(self.imports.path)
        return line, metadata


# Devis also run in the sync: the sync that reads the export showing a priced devis returns it.
FR = Edition(frozenset({"sage_fr_imports"}), _ImportFiles, {"edition": "fr"}, quotes_alone=False)


def reverse_assets(layout: Layout) -> list[dg.AssetsDefinition]:
    """The SSM change feeds of accounts, contacts and quotes, and their Sage 50 FR writers."""
    exports = [company.key("sage_fr", t.name) for t in layout.tables]
    kept = (FEED_KEYS["accounts"], FEED_KEYS["contacts"], FEED_KEYS[feed.QUOTE_FEED])
    feeds = [a for a in ASSETS if a.key in kept]
    customers = writer_asset(
        CUSTOMERS_KEY,
        "accounts",
        [FEED_KEYS["accounts"], VALUE_LISTS_KEY, *exports],
        "Companies reps created in SSM as Client (or as prospects) written into the Sage 50 FR "
        "clients (prospects) import file of the run, with a new code and the rep's full name as "
        "représentant; SSM gets the code and read-only once an export shows the record "
        "(prospects stay editable, their SSM edits are imported until Sage converts them). "
        "Exactly once: a record in an import file Sage has not shown back is not written again.",
        ("client_companies", "prospects"),
        FR,
    )
    contacts = writer_asset(
        CONTACTS_KEY,
        "contacts",
        [FEED_KEYS["contacts"], CUSTOMERS_KEY, *exports],
        "Contacts reps created or edited in SSM written into the Sage 50 FR contacts import file, "
        "on clients Sage knows (a prospect's contacts once Sage converts it); SSM gets the "
        "contact's key once an export shows it.",
        ("ssm_contacts",),
        FR,
    )
    devis = writer_asset(
        QUOTES_KEY,
        feed.QUOTE_FEED,
        [FEED_KEYS[feed.QUOTE_FEED], *exports],
        "Quotes reps made in SSM written as devis into the Sage 50 FR devis import file (client, "
        "date, articles, quantities, SSM:<id> in Réf. commande); Sage prices them on import, and "
        "the export that shows the devis returns it to SSM priced, read-only, with its number. "
        "Exactly once: a devis in a file Sage has not shown back is not written again.",
        ("quotations",),
        FR,
    )
    return [*feeds, customers, contacts, devis]
