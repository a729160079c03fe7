"""`ssm/run_summary`: the one place of a run that says what the sync did.

It runs after every push of the run and reads what they recorded in `sync.runs` under this run's
id, so its table covers each pushed resource whatever order the pushes ran in. It also names the
run's kind in the `sync/kind` tag (first, incremental), whoever launched it: the UI's launchpad
and the asset graph give a run no tag of their own.
"""

from dataclasses import dataclass

import dagster as dg
import duckdb

from assets.ssm import ledger
from assets.ssm.assets import GROUP, push_key
from assets.ssm.contract import PUSHED
from resources.warehouse import WarehouseResource

SUMMARY_KEY = dg.AssetKey([GROUP, "run_summary"])
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
)
COSTS = (("api_calls", "API calls"), ("write_calls", "write calls"), ("seconds", "seconds"))
# Statuses of a push that a person must look at (sync.runs.status).
ATTENTION = {"refused": "refused by the delete breaker", "stopped": "SSM stopped answering"}


@dataclass(frozen=True)
class PushRow:
    resource: str
    status: str
    figures: dict[str, float]
    dead_letters: int
    message: str | None


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
    return [
        PushRow(
            resource=c.name,
            status=row[1],
            figures=dict(zip(columns, (v or 0 for v in row[3:]), strict=True)),
            dead_letters=int(open_letters.get(c.name, 0)),
            message=row[2],
        )
        for c in PUSHED
        if (row := by_resource.get(c.name)) is not None
    ]


def _attention(row: PushRow) -> str | None:
    """What a person must look at in one push, or None."""
    if row.status in ATTENTION:
        return f"{row.resource}: {ATTENTION[row.status]} ({row.message or 'no detail'})"
    if row.figures["failed"] or row.dead_letters:
        return (
            f"{row.resource}: {int(row.figures['failed'])} rejected this run, "
            f"{row.dead_letters} open dead letters (job ssm_dead_letters)"
        )
    return None


def attention(rows: list[PushRow]) -> list[str]:
    """One line per push a person must look at."""
    return [line for row in rows if (line := _attention(row)) is not None]


def totals(rows: list[PushRow]) -> dict[str, float]:
    return {c: sum(r.figures[c] for r in rows) for c, _ in FIGURES + COSTS}


def markdown(rows: list[PushRow]) -> str:
    headings = ["resource", *(h for _, h in FIGURES), "dead letters", *(h for _, h in COSTS)]
    lines = ["| " + " | ".join(headings) + " |", "|---" * len(headings) + "|"]

    def cells(name: str, figures: dict[str, float], dead: int) -> str:
        values = [*(f"{int(figures[c]):,}" for c, _ in FIGURES), f"{dead:,}"]
        values += [f"{int(figures['api_calls']):,}", f"{int(figures['write_calls']):,}"]
        values.append(f"{figures['seconds']:.1f}")
        return f"| {name} | " + " | ".join(values) + " |"

    lines += [cells(r.resource, r.figures, r.dead_letters) for r in rows]
    lines.append(cells("**all**", totals(rows), sum(r.dead_letters for r in rows)))
    return "\n".join(lines)


def run_kind(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """`first` when no earlier run pushed from this warehouse, else `incremental`."""
    (earlier,) = con.execute(
        "SELECT count(*) FROM sync.runs WHERE run_id <> ? AND NOT dry_run", [run_id]
    ).fetchone()  # type: ignore[misc]
    return "incremental" if earlier else "first"


@dg.asset(
    key=SUMMARY_KEY,
    group_name=GROUP,
    deps=[push_key(c) for c in PUSHED],
    pool="warehouse",
    kinds={"duckdb"},
    description="What this run's sync did: one row per push (desired, created, updated, "
    "deleted, unchanged, deferred, failed, open dead letters, API calls, write calls, seconds) "
    "and the resources that need attention. Fails the run, with the table, when a push was "
    "refused or stopped.",
)
def run_summary(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    run_id = context.run.run_id
    with warehouse.get_connection() as con:
        rows = read_pushes(con, run_id)
        kind = run_kind(con, run_id)
    if context.run.tags.get(KIND_TAG) in (None, "sync", "incremental", "first"):
        context.instance.add_run_tags(run_id, {KIND_TAG: kind})
    needs = attention(rows)
    total = totals(rows)
    metadata: dict[str, object] = {
        "pushes": dg.MetadataValue.md(markdown(rows)),
        "attention": dg.MetadataValue.md("\n".join(f"- {line}" for line in needs) or "none"),
        "kind": kind,
        **{c: int(total[c]) for c, _ in FIGURES},
        "dead_letters": sum(r.dead_letters for r in rows),
        "api_calls": int(total["api_calls"]),
        "write_calls": int(total["write_calls"]),
        "push_seconds": dg.MetadataValue.float(round(total["seconds"], 3)),
    }
    blocking = [_attention(r) for r in rows if r.status in ATTENTION]
    if blocking:
        raise dg.Failure(
            description="Pushes that need attention: " + "; ".join(map(str, blocking)),
            metadata=metadata,
        )
    context.log.info(
        f"sync ({kind}): created {int(total['created'])}, updated {int(total['updated'])}, "
        f"deleted {int(total['deleted'])}, {int(total['api_calls'])} API calls"
        + (f"; attention: {'; '.join(needs)}" if needs else "")
    )
    return dg.MaterializeResult(metadata=metadata)
