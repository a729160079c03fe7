"""Dagster assets of the reverse flow (SSM → Sage), group `inbox`.

* `inbox/ssm_accounts`, `inbox/ssm_contacts`: the change feed of each SSM resource since its
  watermark, landed in `inbox.<resource>` (pool `ssm_api`);
* `inbox/sage_customers`: companies reps created as Client (or as prospects) written to Sage as
  customers, and prospects' SSM edits; SSM gets the account code (pool `sage_write`);
* `inbox/sage_contacts`: contacts reps created or edited, written to Sage as contact addresses;
* `inbox/ssm_salesorders`: the SSM orders in the quote status (the statuses created if missing);
* `inbox/sage_quotes`: those quotes priced by Sage and posted as Sage quotations, read back and
  returned to SSM priced and read-only (assets/inbox/quotes.py). The job `ssm_quotes` runs these
  two alone, within seconds of a rep's quote.

The extract of SALES_LEDGER / SALES_DEL_ADDR comes after them in a sync (assets/sage/factory.py),
so what was written is read back and pushed as Sage-owned in the same run.
"""

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

import dagster as dg

from assets import company
from assets.inbox import feed
from assets.inbox.engine import ReverseReport, ReverseRun, SageWriter, ensure_tables
from assets.inbox.quotes import HOLD_FIELDS, QuoteRun, ensure_statuses, quote_filter
from assets.inbox.rules import CONTACT_FIELDS, CUSTOMER_FIELDS, ReverseSettings
from assets.sage.factory import REVERSE_WRITES
from assets.ssm.assets import VALUE_LISTS_KEY, _warehouse
from assets.ssm.contract import BY_NAME
from assets.ssm.settings import SyncSettings
from resources.sage.quotes import Quotation, read_quotation
from resources.sage.source import SageSourceResource
from resources.sage.writer import SageWriteError, SageWriterResource
from resources.ssm.errors import SSMError
from resources.ssm.resource import SSMResource
from resources.warehouse import WarehouseResource

GROUP = "inbox"
FEED_KEYS = {r: company.key(GROUP, f"ssm_{r}") for r in feed.FEEDS}
CUSTOMERS_KEY = REVERSE_WRITES["SALES_LEDGER"]
CONTACTS_KEY = REVERSE_WRITES["SALES_DEL_ADDR"]
QUOTES_KEY = REVERSE_WRITES["SALES_ORDER"]
# Quotes run in their own job only (pipelines/quotes.py), on their own pool: a rep's quote never
# waits for a sync's pools, and no sync or reverse run handles a quote at the same time as it.
QUOTES_POOL = "quotes"
# By tag, not by key: a selection of absent keys fails, and some definitions (tests, one layer)
# have no inbox at all.
QUOTE_TAG = {"sage/flow": "quotes"}
QUOTE_ASSETS = dg.AssetSelection.tag("sage/flow", "quotes")


def _quote_filter(con: Any, client: Any, sync: SyncSettings) -> str:
    """Only orders in the quote status (created in SSM when missing)."""
    return quote_filter(ensure_statuses(con, client, sync)[sync.quote_status])


FEED_DESCRIPTIONS = {
    "accounts": "SSM accounts",
    "contacts": "SSM contacts",
    feed.QUOTE_FEED: "SSM sales orders in the quote status (SSM_QUOTE_STATUS; the quote statuses "
    "are created in SSM when missing)",
}
# Feeds narrowed by a `where` of their own: (warehouse, client, settings) -> where.
FEED_FILTERS: dict[str, Callable[[Any, Any, SyncSettings], str]] = {feed.QUOTE_FEED: _quote_filter}


def _feed_asset(resource: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=FEED_KEYS[resource],
        group_name=GROUP,
        pool=company.pool(QUOTES_POOL if resource == feed.QUOTE_FEED else "ssm_api"),
        tags=QUOTE_TAG if resource == feed.QUOTE_FEED else None,
        kinds={"ssm", "duckdb"},
        description=f"{FEED_DESCRIPTIONS[resource]} created, updated or deleted since the "
        f"watermark (with an overlap window), each version once, raw, in inbox.{resource} with "
        "what the reverse flow decided about it and why.",
        metadata={"dagster/table_name": f"inbox.{resource}"},
    )
    def _feed(
        context: dg.AssetExecutionContext, ssm: SSMResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        sync = SyncSettings.from_env()
        settings = ReverseSettings.from_env(sync=sync)
        narrow = FEED_FILTERS.get(resource)
        try:
            with ssm.get_client() as client:
                where = None
                if narrow is not None:
                    with warehouse.get_connection() as con:
                        where = narrow(con, client, sync)
                read = feed.read_feed(
                    warehouse.get_connection, client, resource,
                    timedelta(seconds=settings.overlap_seconds), context.run.run_id, where=where,
                )  # fmt: skip
        except SSMError as exc:
            # The watermark did not move: the next run reads the same changes. The Sage extract
            # and the push after this step go on (they depend on it for order only).
            context.log.warning(f"inbox.{resource} not read this run: {exc}")
            return dg.MaterializeResult(metadata={"read": 0, "error": str(exc)})
        context.log.info(
            f"inbox.{resource}: {read.read} records read since {read.since or 'the beginning'}, "
            f"{read.new_versions} new versions, {read.api_calls} API calls"
            + (f"; not read: {read.skipped}" if read.skipped else "")
        )
        return dg.MaterializeResult(
            metadata={
                "read": read.read,
                "new_versions": read.new_versions,
                "since": str(read.since or "first read: every record"),
                "watermark": str(read.watermark),
                "api_calls": read.api_calls,
                # several companies: other companies' accounts read to place new contacts
                "accounts_resolved": read.accounts_resolved,
                "skipped": read.skipped or "no",
            }
        )

    return _feed


def _contract_rules(*names: str) -> dict[str, Any]:
    contracts = [BY_NAME[n] for n in names if n in BY_NAME]
    return {
        "rules": dg.MetadataValue.md(
            "\n".join(
                f"- **{c.title}** ({c.direction.value}): {c.conflict_rule}; deletes: "
                f"{c.delete_policy}; {c.read_only}"
                for c in contracts
            )
        ),
        "contract": dg.MetadataValue.path("docs/sync-contract.md"),
    }


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("none")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def report_metadata(report: ReverseReport) -> dict[str, Any]:
    return {
        "status": report.status,
        "read": report.read,
        "planned": report.planned,
        "written": report.created + report.updated,
        "created": report.created,
        "updated": report.updated,
        "acknowledged_in_ssm": report.acknowledged,
        "resolved_interrupted": report.resolved,
        "echoes": report.echoes,
        "skipped": report.skipped,
        "deferred": report.deferred,
        "conflicts": report.conflicts,
        "failed": report.failed,
        "dead_letters": report.failed,
        "retry_later": report.retry_later,
        "sage_writes": report.sage_writes,
        "api_calls": report.api_calls,
        "write_calls": report.write_calls,
        "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
        "decisions": _table(report.samples, ("SSM id", "decision", "why")),
        "problem": report.problem or "none",
    }


def _start_writer(
    resource: SageWriterResource, settings: ReverseSettings, stack: ExitStack, quotes: bool = False
) -> Callable[[], SageWriter]:
    """A connected writer whose fields were checked, opened on first use only."""

    def start() -> SageWriter:
        writer = stack.enter_context(resource.get_writer())
        try:
            if quotes:
                writer.check_fields("SalesRecord", list(HOLD_FIELDS))
                writer.check_quote_fields()
                return writer
            sync = SyncSettings.from_env()
            marker = [sync.prospect_marker_sdo.field] if sync.prospects_in_sage else []
            writer.check_fields(
                "SalesRecord",
                [*(f.sage for f in CUSTOMER_FIELDS), settings.rep_field, settings.ssm_id_field,
                 *marker],
                {
                    settings.rep_field: "SAGE_SDO_REP_FIELD",
                    settings.ssm_id_field: "SAGE_SDO_SSM_ID_FIELD",
                    **dict.fromkeys(marker, "SAGE_PROSPECT_MARKER"),
                },
            )  # fmt: skip
            writer.check_fields("CustomerAddress", [f.sage for f in CONTACT_FIELDS])
        except SageWriteError:
            # Sage busy, or a setting to fix (the sentence names it): the records wait, the
            # rest of the sync goes on, and the run summary fails the run for a setting.
            stack.close()
            raise
        return writer

    return start


@dataclass(frozen=True)
class WriterRun:
    """What a writer asset hands its edition's Sage side for one run."""

    resource: str
    sync: SyncSettings
    settings: ReverseSettings
    stack: ExitStack  # closes the writer when the asset's work is done
    connect: Callable[[], Any]  # the warehouse, as the engine takes it
    run_id: str

    @property
    def quotes(self) -> bool:
        return self.resource == feed.QUOTE_FEED


class SageSide(Protocol):
    """An edition's Sage as a writer asset uses it for one run: the engine's writer (opened on
    first use), a quotation read back by number, and the run's log line and metadata (asked
    once the writer is closed)."""

    def start(self) -> SageWriter: ...
    def read_back(self, number: int) -> Quotation | None: ...
    def summary(self, report: ReverseReport) -> tuple[str, dict[str, Any]]: ...


@dataclass(frozen=True)
class Edition:
    """How an edition's writer assets reach Sage: the resources they need besides `ssm` and
    `warehouse`, the Sage side they open per run (from those resources), what their metadata
    adds, and whether quotes run in the quote job alone (UK) or also in the sync (FR: the
    sync that reads Sage's export returns the priced devis)."""

    resources: frozenset[str]
    side: Callable[[WriterRun, Any], SageSide]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    quotes_alone: bool = True


class _Sdo:
    """Sage 50 UK: SDO's writer, checked before the first write; quotations read back by ODBC."""

    def __init__(self, run: WriterRun, resources: Any) -> None:
        self.start = _start_writer(resources.sage_writer, run.settings, run.stack, run.quotes)
        self.sage: SageSourceResource = resources.sage

    def read_back(self, number: int) -> Quotation | None:  # a targeted read, by number
        with self.sage.connect() as connection:
            return read_quotation(connection, number)

    def summary(self, report: ReverseReport) -> tuple[str, dict[str, Any]]:
        line = (
            f"{report.resource}: {report.read} to decide, {report.created} created and "
            f"{report.updated} edited in Sage, {report.acknowledged} acknowledged in SSM, "
            f"{report.conflicts} conflicts, {report.failed} dead letters, "
            f"{report.retry_later} for the next run"
        )
        return line, report_metadata(report)


UK = Edition(frozenset({"sage_writer", "sage"}), _Sdo)


def writer_asset(
    key: dg.AssetKey, resource: Literal["accounts", "contacts", "salesorders"],
    deps: list[dg.AssetKey], description: str, rules: tuple[str, ...], edition: Edition = UK,
) -> dg.AssetsDefinition:  # fmt: skip
    """One writer of the reverse flow: the one engine (ReverseRun, or QuoteRun for quotes)
    between SSM's change feed and the edition's Sage."""
    quotes = resource == feed.QUOTE_FEED

    @dg.asset(
        key=key,
        group_name=GROUP,
        deps=deps,
        pool=company.pool(QUOTES_POOL if quotes else "sage_write"),
        tags=QUOTE_TAG if quotes and edition.quotes_alone else None,
        kinds={"sage", "duckdb"},
        description=description,
        metadata={**_contract_rules(*rules), **edition.metadata},
        required_resource_keys={"ssm", "warehouse", *edition.resources},
    )
    def _write(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        sync = SyncSettings.from_env()
        settings = ReverseSettings.from_env(sync=sync)
        connect = _warehouse(context.resources.warehouse)
        with ExitStack() as stack, context.resources.ssm.get_client() as client:
            with connect() as con:
                ensure_tables(con)
            run = WriterRun(resource, sync, settings, stack, connect, context.run.run_id)
            side = edition.side(run, context.resources)
            common = (connect, client, side.start, sync, settings, run.run_id)
            if quotes:
                report = QuoteRun(*common, side.read_back).run()
            else:
                report = ReverseRun(*common, resource).run()
            stack.close()  # the writer closed: SDO's session ended, FR's import files published
        line, metadata = side.summary(report)
        context.log.info(line)
        return dg.MaterializeResult(metadata=metadata)

    return _write


customers = writer_asset(
    CUSTOMERS_KEY,
    "accounts",
    [FEED_KEYS["accounts"], VALUE_LISTS_KEY],
    "Companies reps created in SSM as Client (or as prospects) become Sage customers with a new "
    "account code; SSM gets the code (extId) and read-only (prospects stay editable, their SSM "
    "edits reach Sage until Sage converts them). Exactly once: Sage keeps the SSM id.",
    ("client_companies", "prospects"),
)
contacts = writer_asset(
    CONTACTS_KEY,
    "contacts",
    [FEED_KEYS["contacts"], CUSTOMERS_KEY],
    "Contacts reps created or edited in SSM become Sage contact addresses (AddressType 1) on "
    "accounts Sage knows (not prospects); a field edited on both sides goes to sync.conflicts.",
    ("ssm_contacts",),
)
sage_quotes = writer_asset(
    QUOTES_KEY,
    feed.QUOTE_FEED,
    [FEED_KEYS[feed.QUOTE_FEED]],
    "Quotes reps made in SSM, priced by Sage (SDO's calculator: price lists, special prices, "
    "quantity and customer discounts, VAT), posted as Sage sales-order quotations (SopPost) and "
    "returned to SSM priced, read-only, with the Sage quotation number (read back from Sage by "
    "that number). Exactly once: Sage keeps the SSM id in the quotation's customer order number.",
    ("quotations",),
)

ASSETS = [*(_feed_asset(r) for r in feed.FEEDS), customers, contacts, sage_quotes]
