"""`ssm/run_summary`: the one place of a run that says what the sync did.

It runs after every push of the run and reads what they recorded in `sync.runs` under this run's
id, so its table covers each pushed resource whatever order the pushes ran in. It also names the
run's kind in the `sync/kind` tag (first, incremental), whoever launched it: the UI's launchpad
and the asset graph give a run no tag of their own.

Beside the pushes it counts what was kept out of them: the Sage rows in `quarantine.rows` (per
table, and how many this run put there) and the SSM records held back in `quarantine.held_back`
(per resource). Both need a person's attention but fail nothing: the rest of the run went on.
"""

from dataclasses import dataclass

import dagster as dg
import duckdb

from assets import company
from assets.sage.warehouse import HELD_BACK_TABLE, QUARANTINE_TABLE, ensure_quarantine
from assets.ssm import ledger
from assets.ssm.assets import GROUP, push_key
from assets.ssm.contract import PUSHED, REVERSE
from assets.ssm.desired import HELD_LAYER
from resources.warehouse import WarehouseResource

SUMMARY_KEY = company.key(GROUP, "run_summary")
KIND_TAG = "sync/kind"

# (column of sync.runs, heading); dead letters come from sync.dead_letters.
FIGURES = (
    ("desired", "desired"),
    ("created", "created"),
    ("updated", "updated"),
    ("deleted", "deleted"),
    ("unchanged", "unchanged"),
    ("deferred", "deferred"),
    ("failed", "failed"),
    ("deletes_held_back", "deletes held back"),  # by the delete breaker
)
COSTS = (("api_calls", "API calls"), ("write_calls", "write calls"), ("seconds", "seconds"))
# Statuses of a push that a person must look at (sync.runs.status).
ATTENTION = {
    "refused": "deletes held back by the delete breaker",
    "stopped": "SSM stopped answering",
}
# Statuses worth a line but not a failed run: the next run settles them by itself.
NOTICE = {"retry_later": "not confirmed by SSM, sent again next run"}


@dataclass(frozen=True)
class PushRow:
    resource: str
    status: str
    figures: dict[str, float]
    dead_letters: int
    message: str | None
    held_back: int = 0  # records of the resource held back from the push (quarantine.held_back)


@dataclass(frozen=True)
class QuarantineRow:
    """The rows of one Sage table in quarantine.rows."""

    table: str
    rows: int
    this_run: int


def read_held_back(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Records held back from the push, by resource."""
    ensure_quarantine(con)
    return dict(
        con.execute(
            f"SELECT resource, count(*) FROM {HELD_BACK_TABLE} WHERE layer = ? GROUP BY ALL",  # noqa: S608
            [HELD_LAYER],
        ).fetchall()
    )


def read_quarantine(con: duckdb.DuckDBPyConnection, run_id: str) -> list[QuarantineRow]:
    """Sage tables with rows in quarantine (a row counted once, whatever its failed rules)."""
    ensure_quarantine(con)
    rows = con.execute(
        f"""SELECT table_name, count(DISTINCT coalesce(row_key, '')),
                   count(DISTINCT coalesce(row_key, '')) FILTER (WHERE run_id = ?)
            FROM {QUARANTINE_TABLE} GROUP BY ALL ORDER BY 1""",  # noqa: S608
        [run_id],
    ).fetchall()
    return [QuarantineRow(t, int(n), int(new)) for t, n, new in rows]


def read_pushes(con: duckdb.DuckDBPyConnection, run_id: str) -> list[PushRow]:
    """The run's pushes in the contract's order (a resource the run did not push is absent)."""
    ledger.ensure_tables(con, [])
    columns = [c for c, _ in FIGURES + COSTS]
    rows = con.execute(
        f"SELECT resource, status, message, {', '.join(columns)} FROM sync.runs "  # noqa: S608
        "WHERE run_id = ? AND NOT dry_run",
        [run_id],
    ).fetchall()
    open_letters = dict(
        con.execute(
            "SELECT resource, count(*) FROM sync.dead_letters WHERE status = 'open' "
            "GROUP BY resource"
        ).fetchall()
    )
    by_resource = {r[0]: r for r in rows}
    held = read_held_back(con)
    return [
        PushRow(
            resource=c.name,
            status=row[1],
            figures=dict(zip(columns, (v or 0 for v in row[3:]), strict=True)),
            dead_letters=int(open_letters.get(c.name, 0)),
            message=row[2],
            held_back=int(held.get(c.name, 0)),
        )
        for c in (*REVERSE, *PUSHED)  # the reverse flow runs first in a sync
        if (row := by_resource.get(c.name)) is not None
    ]


def _attention(row: PushRow) -> str | None:
    """What a person must look at in one push, or None."""
    said = ATTENTION.get(row.status) or NOTICE.get(row.status)
    if said:
        return f"{row.resource}: {said} ({row.message or 'no detail'})"
    if row.figures["failed"] or row.dead_letters:
        return (
            f"{row.resource}: {int(row.figures['failed'])} rejected this run, "
            f"{row.dead_letters} open dead letters (job ssm_dead_letters)"
        )
    return None


def _held_attention(resource: str, records: int) -> str:
    return (
        f"{resource}: {records:,} held back from the push, not created, updated or deleted "
        "(quarantine.held_back says why)"
    )


def _quarantine_attention(quarantine: list[QuarantineRow]) -> str | None:
    if not quarantine:
        return None
    total = sum(q.rows for q in quarantine)
    tables = ", ".join(f"{q.table.removeprefix('sage.')} {q.rows:,}" for q in quarantine)
    return f"quarantine: {total:,} Sage rows failed validation and were not loaded ({tables})"


def attention(
    rows: list[PushRow],
    quarantine: list[QuarantineRow] | None = None,
    held: dict[str, int] | None = None,
) -> list[str]:
    """One line per push a person must look at, then per resource with records held back (in
    the contract's order), then the quarantine."""
    lines = [_attention(row) for row in rows]
    held = held or {}
    lines += [_held_attention(c.name, held[c.name]) for c in PUSHED if held.get(c.name)]
    lines.append(_quarantine_attention(quarantine or []))
    return [line for line in lines if line is not None]


def totals(rows: list[PushRow]) -> dict[str, float]:
    return {c: sum(r.figures.get(c, 0) for r in rows) for c, _ in FIGURES + COSTS}


def markdown(rows: list[PushRow]) -> str:
    headings = [
        "resource",
        *(h for _, h in FIGURES),
        "dead letters",
        "records held back",
        *(h for _, h in COSTS),
    ]
    lines = ["| " + " | ".join(headings) + " |", "|---" * len(headings) + "|"]

    def cells(name: str, figures: dict[str, float], dead: int, held: int) -> str:
        values = [*(f"{int(figures.get(c, 0)):,}" for c, _ in FIGURES), f"{dead:,}", f"{held:,}"]
        values += [f"{int(figures['api_calls']):,}", f"{int(figures['write_calls']):,}"]
        values.append(f"{figures['seconds']:.1f}")
        return f"| {name} | " + " | ".join(values) + " |"

    lines += [cells(r.resource, r.figures, r.dead_letters, r.held_back) for r in rows]
    lines.append(
        cells(
            "**all**",
            totals(rows),
            sum(r.dead_letters for r in rows),
            sum(r.held_back for r in rows),
        )
    )
    return "\n".join(lines)


def quarantine_markdown(quarantine: list[QuarantineRow]) -> str:
    if not quarantine:
        return "none"
    lines = ["| Sage table | rows in quarantine | this run |", "|---|---|---|"]
    lines += [f"| {q.table} | {q.rows:,} | {q.this_run:,} |" for q in quarantine]
    return "\n".join(lines)


def run_kind(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """`first` when no earlier run pushed from this warehouse, else `incremental`."""
    (earlier,) = con.execute(
        "SELECT count(*) FROM sync.runs WHERE run_id <> ? AND NOT dry_run "
        "AND list_contains(?, resource)",  # a reverse-flow run alone is not a sync
        [run_id, [c.name for c in PUSHED]],
    ).fetchone()  # type: ignore[misc]
    return "incremental" if earlier else "first"


@dg.asset(
    key=SUMMARY_KEY,
    group_name=GROUP,
    deps=[push_key(c) for c in PUSHED],
    pool=company.pool("warehouse"),
    kinds={"duckdb"},
    description="What this run's sync did: one row per push (desired, created, updated, "
    "deleted, unchanged, deferred, failed, deletes held back by the breaker, open dead letters, "
    "records held back, API calls, write calls, seconds), the Sage rows in quarantine and the "
    "resources that need attention. Fails the run, with the table, when a push was refused or "
    "stopped (never for quarantined rows or held-back records alone).",
)
def run_summary(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    run_id = context.run.run_id
    with warehouse.get_connection() as con:
        rows = read_pushes(con, run_id)
        quarantine = read_quarantine(con, run_id)
        held = read_held_back(con)
        kind = run_kind(con, run_id)
    if context.run.tags.get(KIND_TAG) in (None, "sync", "incremental", "first"):
        context.instance.add_run_tags(run_id, {KIND_TAG: kind})
    needs = attention(rows, quarantine, held)
    total = totals(rows)
    metadata: dict[str, object] = {
        **({"company": company.name()} if company.name() else {}),
        "pushes": dg.MetadataValue.md(markdown(rows)),
        "attention": dg.MetadataValue.md("\n".join(f"- {line}" for line in needs) or "none"),
        "kind": kind,
        **{c: int(total[c]) for c, _ in FIGURES},
        "dead_letters": sum(r.dead_letters for r in rows),
        "records_held_back": sum(held.values()),
        "quarantined_rows": sum(q.rows for q in quarantine),
        "quarantined_this_run": sum(q.this_run for q in quarantine),
        "quarantine": dg.MetadataValue.md(quarantine_markdown(quarantine)),
        "api_calls": int(total["api_calls"]),
        "write_calls": int(total["write_calls"]),
        "push_seconds": dg.MetadataValue.float(round(float(total["seconds"]), 3)),
    }
    blocking = [_attention(r) for r in rows if r.status in ATTENTION]
    paused_since = company.deactivated_since(warehouse.database)
    if paused_since is not None:
        metadata["compared_after_pause"] = paused_since
        if not blocking:  # every record compared with SSM: the pause is over
            company.compared(warehouse.database)
    if blocking:
        raise dg.Failure(
            description="Pushes that need attention: " + "; ".join(map(str, blocking)),
            metadata=metadata,
        )
    context.log.info(
        f"{company.describe() + ' ' if company.name() else ''}sync ({kind}): created {int(total['created'])}, updated {int(total['updated'])}, "
        f"deleted {int(total['deleted'])}, {int(total['api_calls'])} API calls"
        + (f"; attention: {'; '.join(needs)}" if needs else "")
    )
    return dg.MaterializeResult(metadata=metadata)
