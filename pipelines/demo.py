"""`make demo`: the whole sync against the embedded defaults, a sales rep's work in SSM written
back into Sage, then a summary of what landed.

1. generate the demo Sage 50 company (SQLite) if it is absent;
2. start the SSM sandbox server in the background if nothing answers at SSM_BASE_URL;
3. run the sync job in this process against the project's Dagster instance (the one `dagster dev`
   opens in the project root: data/dagster, so the runs show in the UI). The console shows each
   run's progress per layer; every Dagster event of the run goes to
   DATA_DIR/logs/demo-<run id>.log (and to the instance, as for any run);
4. act as a sales rep in the sandbox, through its act-as API (what a person does with the forms
   of the sandbox's page): a Client company with two contacts, a prospect, a contact on a Sage
   customer the first run pushed, and two quotes (products and quantities only): one for a
   customer with a price list, with a product over a quantity break, one for a customer in a
   foreign currency, both picked from the demo company's data. Names carry a short random tag,
   so a re-run on the same data creates records of its own;
5. sync again: the reverse flow (group inbox) writes the rep's records into Sage through the
   stand-in SDO engine, prices the quotes and posts them as Sage quotations, the extract reads
   them back and the push answers SSM;
6. sync once more: with nothing new on either side it writes nothing, to SSM or to Sage;
7. print row counts per layer, what each push did in each run, what reached Sage (read from the
   company file), what came back to SSM (the sandbox's state page), each quote as Sage priced it
   (per line the rule that fired, from derived.quote_price_explanation), the reverse flow's
   figures per run and its decisions about the rep's records.

Steps 4-5 need the sandbox and the stand-in SDO engine; against a real SSM or Sage the demo says
why it skips them.

`python -m pipelines.demo --prepare` does steps 1–2 and checks that the instance opens (used by
`make dev`). What is missing or unwritable stops it with one sentence, not a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dagster as dg
import duckdb
import httpx

from pipelines import settings
from pipelines.instance import open_instance

SYNC_JOB = "sage_ssm_sync"
QUOTES_JOB = "ssm_quotes"
LAYERS = ("inbox", "sage", "quarantine", "staging", "derived", "ssm", "sync")
# the reverse flow's writers (group inbox)
REVERSE_ASSETS = ("sage_customers", "sage_contacts", "sage_quotes")


def ensure_demo_company(size: str) -> None:
    path = settings.demo_company_path()
    if path.exists() or "SAGE_ODBC_CONNECTION" in os.environ or "SAGE_DATABASE_URL" in os.environ:
        return
    from sandbox.sage_demo import generate

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counts = generate(path, size=size, seed=1)
    print(
        f"generated the {size} demo Sage 50 company at {path} "
        f"({sum(counts.values()):,} rows in {time.perf_counter() - started:.1f} s)"
    )


def _answers(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def ensure_ssm_sandbox() -> int | None:
    """Start `python -m sandbox.ssm` detached when the configured SSM URL is a silent localhost.

    Returns the process id of the sandbox it started (None when it started nothing).
    """
    local = settings.local_ssm_address()
    if local is None or _answers(*local):
        return None
    host, port = local
    log = settings.data_dir() / "ssm-sandbox.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "sandbox.ssm",
        "--host",
        host,
        "--port",
        str(port),
        "--db",
        str(settings.data_dir() / "ssm-sandbox.sqlite"),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
    for _ in range(100):
        if _answers(host, port):
            print(
                f"started the SSM sandbox at http://{host}:{port}/ (pid {process.pid}, log: {log})"
            )
            (settings.data_dir() / "ssm-sandbox.pid").write_text(f"{process.pid}\n")
            return process.pid
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"The SSM sandbox did not start on {host}:{port}; see {log}.")


@dataclass
class SyncRun:
    """One run of the sync job: its outcome and what each push asset reported."""

    label: str
    run_id: str
    success: bool
    seconds: float
    pushes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the reverse flow's writer assets (inbox/sage_customers, inbox/sage_contacts): metadata
    reverse: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    ssm_calls: int | None = None  # as the sandbox counted them (None: not the sandbox)
    ssm_writes: int | None = None  # POST/PUT/PATCH/DELETE other than /login
    log_path: Path | None = None  # every Dagster event of the run


def run_sync(instance: dg.DagsterInstance, label: str, job: str = SYNC_JOB) -> SyncRun:
    from pipelines.definitions import defs

    return run_job(defs.resolve_job_def(job), instance, label, settings.data_dir() / "logs")


def run_job(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    label: str,
    log_dir: Path,
    out: TextIO | None = None,
) -> SyncRun:
    """Run `job` in this process, showing its progress per layer on `out` (stdout) instead of
    Dagster's console log, and writing every event of the run to `log_dir`/demo-<run id>.log.

    The instance stores every event as for any run (the UI shows the run in full): only the
    job's console logger is turned down, through the run config.
    """
    run_id = str(uuid.uuid4())
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"demo-{run_id}.log"
    out = out or sys.stdout
    run_config = (
        {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
        if "console" in job.loggers
        else {}
    )
    print(f"{label} sync run {run_id}: every event in {log_path}", file=out, flush=True)
    before = sandbox_stats()
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        progress = RunProgress(job, log, out)
        instance.add_event_listener(run_id, progress.on_event)
        result = job.execute_in_process(
            run_config=run_config, instance=instance, run_id=run_id, raise_on_error=False
        )
        progress.finish()
    run = SyncRun(label, run_id, result.success, time.perf_counter() - started, log_path=log_path)
    after = sandbox_stats()
    if before is not None and after is not None:
        run.ssm_calls = int(after["total"]) - int(before["total"])
        run.ssm_writes = int(after["writes"]) - int(before["writes"])
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
        path = materialization.asset_key.path[-2:]  # without the company
        values = {key: value.value for key, value in materialization.metadata.items()}
        if len(path) == 2 and path[0] == "ssm" and path[1].startswith("push_"):
            run.pushes[path[1].removeprefix("push_")] = values
        elif len(path) == 2 and path[0] == "inbox" and path[1] in REVERSE_ASSETS:
            run.reverse[path[1]] = values
    run.failures = failure_sentences(result.all_events)
    return run


def _innermost_sentence(error: Any) -> str:
    """The message of the innermost cause of a serialized error, without its class's module."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    message = str(error.message).strip().splitlines()[0] if error.message else error.cls_name
    head, colon, rest = message.partition(": ")
    return f"{head.rsplit('.', 1)[-1]}: {rest}" if colon and " " not in head else message


def failure_sentences(events: list[dg.DagsterEvent]) -> list[str]:
    """One line per failed step (its error's innermost message), else the run's failure."""
    steps = [
        f"{event.step_key}: {_innermost_sentence(event.step_failure_data.error)}"
        for event in events
        if event.is_step_failure and event.step_failure_data.error is not None
    ]
    if steps:
        return steps
    return [str(event.message) for event in events if event.is_failure]


class RunProgress:
    """Follows one run's events (an instance event listener): a line per layer (asset group) as
    it completes, a live line of every layer's count on a terminal, each warning or error message
    in one line (failed steps are summed up after the run), and every event written to the run's
    log file."""

    def __init__(self, job: dg.JobDefinition, log: TextIO, out: TextIO) -> None:
        graph = job.asset_layer.asset_graph
        self.group = {key: graph.get(key).group_name for key in job.asset_layer.selected_asset_keys}
        totals = Counter(self.group.values())
        order = {layer: i for i, layer in enumerate(LAYERS)}
        self.totals = dict(sorted(totals.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
        self.done: dict[str, set[dg.AssetKey]] = {layer: set() for layer in self.totals}
        self.reported: set[str] = set()
        self.log, self.out = log, out
        self.live = out.isatty()
        self.shown = 0  # characters of the live line on screen
        self.started = time.perf_counter()
        self.problem: str | None = None

    def on_event(self, entry: dg.EventLogEntry) -> None:
        # A display must never break the sync: a failure here is reported once, at the end.
        try:
            self._write(entry)
            self._show(entry)
        except Exception as exc:  # noqa: BLE001
            self.problem = self.problem or f"{type(exc).__name__}: {exc}"

    def _write(self, entry: dg.EventLogEntry) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.timestamp))
        event = entry.dagster_event
        kind = event.event_type_value if event is not None else "LOG"
        level = logging.getLevelName(entry.level)
        message = str(entry.message).rstrip().replace("\n", "\n    ")
        self.log.write(f"{stamp} {level:<7} {entry.step_key or '-'} {kind} - {message}\n")
        error = getattr(event.event_specific_data, "error", None) if event is not None else None
        if error is not None:
            self.log.write("    " + error.to_string().rstrip().replace("\n", "\n    ") + "\n")
        self.log.flush()

    def _show(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if entry.level >= 30 and not (event is not None and event.is_failure):
            first_line = str(entry.message).strip().splitlines()[0]
            self._print(
                f"  {logging.getLevelName(entry.level)} {entry.step_key or ''}: {first_line}"
            )
        if event is None or not event.is_step_materialization:
            return
        key = event.asset_key
        layer = self.group.get(key) if key is not None else None
        if layer is None:
            return
        self.done[layer].add(key)
        if len(self.done[layer]) == self.totals[layer]:
            self._layer_line(layer)
        elif self.live:
            self._live()

    def _layer_line(self, layer: str) -> None:
        self.reported.add(layer)
        total = self.totals[layer]
        counted = f"{len(self.done[layer])}/{total}"
        self._print(f"  {layer:<10}{counted:>7} assets {time.perf_counter() - self.started:7.1f} s")

    def _live(self) -> None:
        counts = ", ".join(
            f"{layer} {len(self.done[layer])}/{total}" for layer, total in self.totals.items()
        )
        line = f"  {counts}  ({time.perf_counter() - self.started:.0f} s)"
        self.out.write("\r" + line.ljust(self.shown))
        self.out.flush()
        self.shown = len(line)

    def _print(self, line: str) -> None:
        if self.shown:
            self.out.write("\r" + " " * self.shown + "\r")
            self.shown = 0
        print(line, file=self.out, flush=True)
        if self.live and len(self.reported) < len(self.totals):
            self._live()

    def finish(self) -> None:
        """Layers the run left incomplete (a failure, skipped assets), then any display problem."""
        for layer in self.totals:
            if layer not in self.reported:
                self._layer_line(layer)
        if self.problem:
            self._print(f"  (progress display stopped: {self.problem})")


def layer_rows() -> list[tuple[str, int, int]]:
    """(layer, tables, rows) of the warehouse's schemas."""
    con = duckdb.connect(settings.warehouse_path(), read_only=True)
    try:
        tables = con.execute(
            f"""
            SELECT schema_name, table_name FROM duckdb_tables()
            WHERE schema_name IN ({", ".join("?" * len(LAYERS))})
            """,  # noqa: S608
            list(LAYERS),
        ).fetchall()
        totals: dict[str, list[int]] = {layer: [0, 0] for layer in LAYERS}
        for schema, table in tables:
            (count,) = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()  # type: ignore[misc]  # noqa: S608
            totals[schema][0] += 1
            totals[schema][1] += int(count)
    finally:
        con.close()
    return [(layer, t, r) for layer, (t, r) in totals.items() if t]


def _sandbox_get(page: str) -> Any:
    """A page of the sandbox's control API (`/sandbox/...`); None when SSM is not the sandbox."""
    if settings.local_ssm_address() is None:
        return None
    root = settings.ssm_base_url().split("/api/")[0]
    try:
        answer = httpx.get(f"{root}/sandbox/{page}", timeout=30)
        answer.raise_for_status()
    except httpx.HTTPError:
        return None
    return answer.json()


def sandbox_stats() -> dict[str, Any] | None:
    """The sandbox's request counters (`total`, `writes`, ...)."""
    return _sandbox_get("stats")


def sandbox_counts() -> dict[str, int] | None:
    """Live records per SSM resource, from the sandbox's state page."""
    state = _sandbox_get("state")
    if state is None:
        return None
    return {
        resource: sum(1 for r in records if not r.get("deleted"))
        for resource, records in state.items()
    }


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]], left: int = 1) -> list[str]:
    """Lines of a plain table: the first `left` columns aligned left, the others right."""
    cells = [tuple("" if v is None else str(v) for v in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return [
        "  "
        + "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


PUSH_COUNTS = ("created", "updated", "deleted", "unchanged", "failed")


def sage_writes(run: SyncRun) -> int:
    return sum(int(r.get("sage_writes", 0)) for r in run.reverse.values())


def print_summary(runs: list[SyncRun]) -> None:
    from assets.ssm.contract import PUSHED

    print(f"\nwarehouse {settings.warehouse_path()}")
    print(f"  {'layer':<12}{'tables':>8}{'rows':>12}")
    for layer, tables, rows in layer_rows():
        print(f"  {layer:<12}{tables:>8}{rows:>12,}")

    held = sandbox_counts()
    print(
        f"\nSSM, per pushed resource (each run's push metadata: {'/'.join(PUSH_COUNTS)}; "
        "in SSM: live records)"
    )
    rows: list[tuple[Any, ...]] = []
    for contract in PUSHED:
        desired = runs[-1].pushes.get(contract.name, {}).get("desired", "-")
        cells = [
            "/".join(str(run.pushes.get(contract.name, {}).get(c, "-")) for c in PUSH_COUNTS)
            for run in runs
        ]
        in_ssm = "-" if held is None else str(held.get(contract.ssm_resource, 0))
        rows.append((contract.name, desired, *cells, in_ssm + ("*" if contract.match_only else "")))
    for line in _table(("resource", "desired", *(r.label for r in runs), "in SSM"), rows):
        print(line)
    print("  * users are matched to the tenant's users, never created (SSM_CREATE_USERS=false)")
    print("  in SSM counts every live record of the resource, the tenant's own included")
    print()
    for run in runs:
        calls = (
            f"{run.ssm_calls} SSM API calls, {run.ssm_writes} writes (sandbox counters)"
            if run.ssm_calls is not None
            else f"{sum(int(p.get('api_calls', 0)) for p in run.pushes.values())} SSM API calls "
            "by the pushes"
        )
        print(
            f"{run.label} run {run.run_id}: {run.seconds:.1f} s, {calls}, "
            f"{sage_writes(run)} Sage writes"
        )
    last = runs[-1]
    if len(runs) > 1 and last.ssm_writes is not None:
        wrote = last.ssm_writes + sage_writes(last)
        print(
            f"the {last.label} run found nothing new: {last.ssm_writes} writes to SSM, "
            f"{sage_writes(last)} Sage writes"
            + ("" if wrote == 0 else "  <- expected 0: something is written every run")
        )


# --- acting as a sales rep in the sandbox -----------------------------------------------------


@dataclass(frozen=True)
class RepRecord:
    """A record the demo created in SSM as the rep."""

    resource: str  # accounts | contacts
    ssm_id: int
    name: str
    what: str  # how the demo describes it: "Client company", "prospect company", "contact"


@dataclass(frozen=True)
class QuoteLine:
    """A line of a rep's quote: what the rep typed (product, quantity) and why it was chosen."""

    product_id: int  # SSM
    stock_code: str
    quantity: int
    why: str


@dataclass
class RepQuote:
    """A quote the demo made as the rep: an SSM sales order in the quote status."""

    ssm_id: int
    what: str
    account_ref: str
    customer: str
    currency: str
    price_list: str
    lines: list[QuoteLine]


@dataclass
class RepVisit:
    """What the rep did in SSM between two syncs."""

    rep_id: int
    rep_name: str
    records: list[RepRecord] = field(default_factory=list)
    quotes: list[RepQuote] = field(default_factory=list)

    def ids(self, resource: str) -> set[int]:
        quotes = {q.ssm_id for q in self.quotes} if resource == "salesorders" else set()
        return {r.ssm_id for r in self.records if r.resource == resource} | quotes


def sandbox_root() -> str | None:
    """The sandbox's root URL when SSM_BASE_URL is a sandbox that answers its control routes."""
    if settings.local_ssm_address() is None:
        return None
    root = settings.ssm_base_url().split("/api/")[0]
    try:
        return root if httpx.get(f"{root}/sandbox/health", timeout=5).is_success else None
    except httpx.HTTPError:
        return None


def rep_demo_unavailable() -> str | None:
    """Why the demo cannot act as a rep (None when it can): it needs the sandbox's act-as routes
    and the stand-in SDO engine writing the demo company, whose file it reads back."""
    if sandbox_root() is None:
        return f"SSM at {settings.ssm_base_url()} is not the sandbox (no act-as routes)"
    if settings.sage_sdo_engine() != settings.SDO_STAND_IN:
        return f"Sage is written through {settings.sage_sdo_engine()}, not the demo company"
    return None


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], missing: str) -> Any:
    row = con.execute(sql, params).fetchone()
    if row is None or row[0] is None:
        raise SystemExit(f"Cannot act as a rep: {missing}.")
    return row if len(row) > 1 else row[0]


def _value_id(con: duckdb.DuckDBPyConnection, list_name: str, key: str) -> int:
    """An SSM value-list id as the initial sync read it (ssm.value_lists keys are lower case)."""
    return int(
        _one(
            con,
            "SELECT min(id) FROM ssm.value_lists WHERE list_name = ? AND key = ?",
            [list_name, key.strip().lower()],
            f"SSM's {list_name} list has no {key!r} (ssm.value_lists)",
        )
    )


def _act(root: str, rep_id: int, resource: str, body: dict[str, Any]) -> int:
    """POST /sandbox/act-as/{rep}/{resource}: the create a rep makes in the SSM app."""
    answer = httpx.post(f"{root}/sandbox/act-as/{rep_id}/{resource}", json=body, timeout=30)
    if not answer.is_success:
        raise SystemExit(f"The sandbox refused the rep's {resource} create: {answer.text}")
    return int(answer.json()["id"])


def act_as_rep(tag: str) -> RepVisit:
    """Create, as a sales rep in the sandbox, what the reverse flow writes into Sage: a Client
    company with an address, a country, the rep and two contacts; a prospect company; a contact
    on a Sage customer the sync pushed. `tag` makes the names unique, so a demo re-run on the
    same data creates records of its own (Sage account codes come from the names)."""
    from assets.ssm.settings import SyncSettings

    root = sandbox_root()
    if root is None:
        raise SystemExit(f"The SSM sandbox does not answer at {settings.ssm_base_url()}.")
    sync = SyncSettings.from_env()
    con = duckdb.connect(settings.warehouse_path(), read_only=True)
    try:
        client = _value_id(con, "accountStatuses", sync.client_status)
        prospect = _value_id(con, "accountStatuses", sync.prospect_status)
        country = _value_id(con, "countries", "gb")
        branch = _value_id(con, "branches", "__default__")
        # A Client customer the sync pushed (Sage-owned, read-only in SSM) that has a rep: that
        # rep is the one who acts.
        customer_id, customer_code, customer_name, rep_id = _one(
            con,
            """
            SELECT ssm_id, ext_id, payload->>'$.name', CAST(payload->>'$.salesRepId1' AS BIGINT)
            FROM ssm.synced_accounts
            WHERE state = 'synced' AND ssm_id IS NOT NULL
              AND payload->>'$.salesRepId1' IS NOT NULL
              AND CAST(payload->>'$.statusId' AS BIGINT) = ?
            ORDER BY ext_id LIMIT 1
            """,
            [client],
            "no Sage customer with a rep is in SSM yet (ssm.synced_accounts)",
        )
        rep_name = str(
            _one(
                con,
                "SELECT any_value(label) FROM ssm.value_lists WHERE list_name = 'users' AND id = ?",
                [rep_id],
                f"user {rep_id} is not in SSM's users list",
            )
        )
    finally:
        con.close()

    visit = RepVisit(int(rep_id), rep_name)
    print(
        f"\nacting as sales rep {rep_name} (SSM user {rep_id}) in the SSM sandbox, through its "
        f"act-as API (POST {root}/sandbox/act-as/{rep_id}/<resource>), as a rep would in the "
        f"SSM app; to do the same by hand, use the forms at {root}/#act-as-rep"
    )
    company = f"Harbour Lights {tag} Ltd"
    account = _act(
        root,
        visit.rep_id,
        "accounts",
        {
            "name": company,
            "statusId": client,
            "salesRepId1": visit.rep_id,
            "branchId": branch,
            "countryId": country,
            "address1": "1 Quay Street",
            "city": "Bristol",
            "postcode": "BS1 4DJ",
            "phone": "0117 496 0001",
            "email": f"office-{tag}@harbour.example",
        },
    )
    visit.records.append(RepRecord("accounts", account, company, "Client company"))
    print(
        f"  company {account} {company!r}: status {sync.client_status}, rep {rep_name}, "
        "country GB, 1 Quay Street, Bristol BS1 4DJ"
    )
    contact = {"accountId": account, "branchId": branch, "salesRepId": visit.rep_id}
    for first, last, extra in (
        ("Ada", "Quayle", {"email": f"ada-{tag}@harbour.example", "phone1": "0117 496 0101"}),
        ("Ben", "Okafor", {}),
    ):
        contact_id = _act(
            root,
            visit.rep_id,
            "contacts",
            {**contact, "firstName": first, "lastName": last, **extra},
        )
        visit.records.append(RepRecord("contacts", contact_id, f"{first} {last}", "contact"))
        print(f"  contact {contact_id} {f'{first} {last}'!r} at company {account}")
    prospect_name = f"Kestrel Tools {tag}"
    prospect_id = _act(
        root,
        visit.rep_id,
        "accounts",
        {
            "name": prospect_name,
            "statusId": prospect,
            "salesRepId1": visit.rep_id,
            "branchId": branch,
            "countryId": country,
            "city": "Leeds",
        },
    )
    visit.records.append(RepRecord("accounts", prospect_id, prospect_name, "prospect company"))
    print(
        f"  company {prospect_id} {prospect_name!r}: status {sync.prospect_status} "
        "(SSM_PROSPECT_STATUS: a prospect)"
    )
    last = f"Marsh {tag}"
    contact_id = _act(
        root,
        visit.rep_id,
        "contacts",
        {"accountId": int(customer_id), "branchId": branch, "salesRepId": visit.rep_id,
         "firstName": "Cleo", "lastName": last, "email": f"cleo-{tag}@example.co.uk"},
    )  # fmt: skip
    visit.records.append(RepRecord("contacts", contact_id, f"Cleo {last}", "contact"))
    print(
        f"  contact {contact_id} {f'Cleo {last}'!r} at company {customer_id} {customer_name!r}, "
        f"the Sage customer {customer_code}"
    )
    return visit


# --- quotes, as the rep makes them in the SSM app (issue 15) ----------------------------------

_DISCOUNT_TABLES = "ABCDE"  # Sage's DISCOUNT_TYPE 2..6 use quantity discount tables A..E
# Sage 50 UK's base currency is currency record 1 (CURRENCY.NUMBER).
_BASE_CURRENCY = 1


@dataclass(frozen=True)
class _Customer:
    ssm_id: int
    account_ref: str
    name: str
    currency: int
    price_list: str
    discount_type: int


def _quote_status_id(name: str) -> int:
    """The SSM id of the quote status (the first sync creates it), from the sandbox's state."""
    rows = (_sandbox_get("state?resource=salesorderStatuses") or {}).get("salesorderStatuses", [])
    for row in rows:
        label = str(row.get("descriptionEN") or row.get("description") or "")
        if label.strip().lower() == name.strip().lower() and not row.get("deleted"):
            return int(row["id"])
    raise SystemExit(
        f"Cannot quote as a rep: SSM has no sales-order status {name!r} (SSM_QUOTE_STATUS); the "
        "first sync creates it (inbox/ssm_salesorders)."
    )


def _ssm_keys(con: duckdb.DuckDBPyConnection, resource: str, client_status: int | None) -> dict:
    """Sage key -> SSM id of what the first sync pushed (accounts: Client companies only)."""
    rows = con.execute(
        f"SELECT ext_id, ssm_id, payload->>'$.statusId' FROM ssm.synced_{resource} "  # noqa: S608
        "WHERE state = 'synced' AND ssm_id IS NOT NULL AND ext_id IS NOT NULL"
    ).fetchall()
    return {
        str(key).strip().upper(): int(ssm_id)
        for key, ssm_id, status in rows
        if client_status is None or (status is not None and int(status) == client_status)
    }


def pick_quotes(
    company: sqlite3.Connection, accounts: dict[str, int], products: dict[str, int]
) -> list[tuple[str, _Customer, list[QuoteLine]]]:
    """The demo's two quotes, from the company's own data (any seed or size): a customer with a
    price list quoted a product over its first quantity break and list products (and one off
    the list when its list does not cover every product); a customer in a foreign currency
    quoted a product over a break and another. Only live customers and products SSM holds."""
    live = "coalesce(RECORD_DELETED, 0) <> 1 AND coalesce(INACTIVE_FLAG, 0) = 0"
    customers = [
        _Customer(
            accounts[str(ref).strip().upper()],
            str(ref),
            str(name),
            int(cur or 1),
            str(pl or "").strip(),
            int(dt or 0),
        )  # fmt: skip
        for ref, name, cur, pl, dt in company.execute(
            "SELECT ACCOUNT_REF, NAME, CURRENCY, PRICING_REF, DISCOUNT_TYPE FROM SALES_LEDGER "  # noqa: S608
            f"WHERE {live} AND coalesce(ACCOUNT_ON_HOLD, 0) = 0 ORDER BY ACCOUNT_REF"
        )
        if str(ref).strip().upper() in accounts
    ]
    breaks: dict[str, dict[str, float]] = {}  # stock code -> table letter -> first break qty
    columns = ", ".join(f"DISC_{t}_LEVEL_1_QTY" for t in _DISCOUNT_TABLES)
    for code, *firsts in company.execute(
        f"SELECT STOCK_CODE, {columns} FROM STOCK WHERE {live} ORDER BY STOCK_CODE"  # noqa: S608
    ):
        if str(code).strip().upper() in products:
            breaks[str(code)] = {
                t: float(q) for t, q in zip(_DISCOUNT_TABLES, firsts, strict=True) if q and q > 0
            }

    def listed(price_list: str) -> list[str]:
        rows = company.execute(
            "SELECT STOCK_CODE FROM PRICE WHERE TYPE = 'P' AND upper(PRICING_REF) = upper(?) "
            "AND coalesce(RECORD_DELETED, 0) <> 1 ORDER BY STOCK_CODE",
            (price_list,),
        )
        return [str(code) for (code,) in rows if str(code) in breaks]

    def over_a_break(customer: _Customer, among: list[str]) -> QuoteLine:
        table = (
            _DISCOUNT_TABLES[customer.discount_type - 2]
            if 2 <= customer.discount_type <= 6
            else "A"
        )
        code = next((c for c in among if table in breaks[c]), None)
        if code is None:
            raise SystemExit(f"Cannot quote as a rep: no product has a table {table} break.")
        first = breaks[code][table]
        return QuoteLine(
            products[code.upper()],
            code,
            int(first) + 2,
            f"over its first table-{table} quantity break ({first:g})",
        )

    def line(code: str, quantity: int, why: str) -> QuoteLine:
        return QuoteLine(products[code.upper()], code, quantity, why)

    quotes: list[tuple[str, _Customer, list[QuoteLine]]] = []
    # Customers with both a price list and a quantity-discount type first: both rules can fire.
    with_list = sorted(
        (c for c in customers if c.price_list and listed(c.price_list)),
        key=lambda c: (not 2 <= c.discount_type <= 6, c.currency != _BASE_CURRENCY, c.account_ref),
    )
    if not with_list:
        raise SystemExit("Cannot quote as a rep: no live customer in SSM has a price list.")
    customer = with_list[0]
    on_list = listed(customer.price_list)
    first = over_a_break(customer, on_list + sorted(breaks))
    lines = [first]
    other = next((c for c in on_list if c != first.stock_code), None)
    if other is not None:
        lines.append(line(other, 3, f"on price list {customer.price_list}"))
    off_list = next((c for c in sorted(breaks) if c not in on_list), None)
    if off_list is not None:
        lines.append(line(off_list, 1, f"not on price list {customer.price_list}"))
    quotes.append(("a price list and a quantity break", customer, lines))

    foreign = sorted(
        (c for c in customers if c.currency != _BASE_CURRENCY),
        key=lambda c: (not 2 <= c.discount_type <= 6, c.account_ref),
    )
    if not foreign:
        raise SystemExit("Cannot quote as a rep: no live customer in SSM has a foreign currency.")
    customer = foreign[0]
    first = over_a_break(customer, sorted(breaks))
    other = next(c for c in sorted(breaks) if c != first.stock_code)
    quotes.append(("a foreign customer", customer, [first, line(other, 5, "a second product")]))
    return quotes


def quote_as_rep(visit: RepVisit, tag: str) -> list[RepQuote]:
    """Two quotes as the rep (`pick_quotes`), created as the SSM app does: the order in the
    quote status, then its lines (product, quantity; price 0, which SSM requires)."""
    from assets.ssm.settings import SyncSettings

    root = sandbox_root()
    assert root is not None  # noqa: S101 - rep_demo_unavailable() checked it
    sync = SyncSettings.from_env()
    pending = _quote_status_id(sync.quote_status)
    con = duckdb.connect(settings.warehouse_path(), read_only=True)
    try:
        client = _value_id(con, "accountStatuses", sync.client_status)
        branch = _value_id(con, "branches", "__default__")
        accounts = _ssm_keys(con, "accounts", client)
        products = _ssm_keys(con, "products", None)
    finally:
        con.close()
    path = Path(settings.sage_sdo_data_path())
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as company:
        picked = pick_quotes(company, accounts, products)
        codes = dict(company.execute("SELECT NUMBER, CODE FROM CURRENCY").fetchall())
    print(f"  quotes in the status {sync.quote_status!r} (SSM_QUOTE_STATUS): products and "
          "quantities only, Sage prices them")  # fmt: skip
    quotes = []
    for n, (what, customer, lines) in enumerate(picked, 1):
        order = _act(
            root, visit.rep_id, "salesorders",
            {"accountId": customer.ssm_id, "salesRepId": visit.rep_id, "branchId": branch,
             "statusId": pending, "reference": f"Demo quote {tag}-{n}"},
        )  # fmt: skip
        for number, item in enumerate(lines, 1):
            _act(
                root, visit.rep_id, "salesordersLines",
                {"salesOrderId": order, "productId": item.product_id,
                 "quantity": item.quantity, "price": 0, "order": number},
            )  # fmt: skip
        quote = RepQuote(
            order, what, customer.account_ref, customer.name,
            str(codes.get(customer.currency, customer.currency)), customer.price_list, lines,
        )  # fmt: skip
        quotes.append(quote)
        listing = ", ".join(f"{i.quantity} x {i.stock_code} ({i.why})" for i in lines)
        print(
            f"  quote {order} for {customer.account_ref} {customer.name!r} ({what}; "
            f"{quote.currency}{', price list ' + customer.price_list if customer.price_list else ''}"
            f"): {listing}"
        )
    return quotes


# --- what the rep's records became ------------------------------------------------------------

REVERSE_FIGURES = (
    "created", "acknowledged_in_ssm", "deferred", "dead_letters", "conflicts", "sage_writes",
    "api_calls",
)  # fmt: skip
# The stand-in keeps CustomerAddress.Notes, where the writer leaves "SSM:<contact id>", in
# SALES_DEL_ADDR.NOTES (sandbox/sdo/engine.py).
_MARKED = re.compile(r"SSM:(\d+)(?!\d)")


def sage_records(visit: RepVisit) -> tuple[tuple[str, ...], list[tuple[Any, ...]], list[tuple]]:
    """What the demo company holds of the rep's records: (customer columns, customer rows,
    contact rows (account, number, contact name, SSM id)), read from the company file."""
    from assets.inbox.rules import ReverseSettings, ssm_marker
    from assets.ssm.settings import SyncSettings

    reverse, sync = ReverseSettings.from_env(), SyncSettings.from_env()
    # Field names are validated SDO identifiers (upper-case letters, digits, _).
    columns = (
        "ACCOUNT_REF", "NAME", reverse.rep_field, reverse.ssm_id_field,
        sync.prospect_marker_sdo.field,
    )  # fmt: skip
    markers = [ssm_marker(i) for i in sorted(visit.ids("accounts"))]
    path = Path(settings.sage_sdo_data_path())
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as con:
        customers = con.execute(
            f"SELECT {', '.join(columns)} FROM SALES_LEDGER "  # noqa: S608
            f"WHERE {reverse.ssm_id_field} IN ({', '.join('?' * len(markers))}) "
            "ORDER BY ACCOUNT_REF",
            markers,
        ).fetchall()
        addresses = con.execute(
            "SELECT ACCOUNT_REF, ADDRESS_REF, CONTACT_NAME, NOTES FROM SALES_DEL_ADDR "
            "WHERE ADDRESS_TYPE = 1 AND NOTES LIKE '%SSM:%' ORDER BY ACCOUNT_REF, ADDRESS_REF"
        ).fetchall()
    wanted = visit.ids("contacts")
    contacts = []
    for account, number, name, notes in addresses:
        marked = _MARKED.search(str(notes))
        if marked and int(marked.group(1)) in wanted:
            contacts.append((account, number, name, int(marked.group(1))))
    return columns, customers, contacts


def ssm_records(visit: RepVisit) -> dict[tuple[str, int], dict[str, Any]]:
    """The rep's records as SSM holds them now (the sandbox's state page: no API call)."""
    held: dict[tuple[str, int], dict[str, Any]] = {}
    for resource in ("accounts", "contacts"):
        wanted = visit.ids(resource)
        for record in _sandbox_get(f"state?resource={resource}")[resource]:
            if record["id"] in wanted:
                held[(resource, record["id"])] = record
    return held


def decisions(run_ids: list[str]) -> dict[str, list[tuple[int, str, str]]]:
    """(id, decision, reason) per SSM resource of what the reverse flow decided in `run_ids`."""
    from assets.inbox import feed

    con = duckdb.connect(settings.warehouse_path(), read_only=True)
    try:
        return {
            resource: con.execute(
                f"SELECT id, decision, reason FROM {feed.inbox_table(resource)} "  # noqa: S608
                "WHERE list_contains(?, decided_by) ORDER BY id, version",
                [run_ids],
            ).fetchall()
            for resource in feed.FEEDS
        }
    finally:
        con.close()


def print_rep_report(visit: RepVisit, runs: list[SyncRun], decided_in: list[SyncRun]) -> None:
    """What reached Sage, what came back to SSM, and the reverse flow's figures and decisions."""
    columns, customers, contacts = sage_records(visit)
    print(f"\nwhat reached Sage (the demo company {settings.sage_sdo_data_path()})")
    roles = ("", "", " (rep)", " (SSM id)", " (prospect marker)")
    print("  SALES_LEDGER, the new customers")
    for line in _table(tuple(c + r for c, r in zip(columns, roles, strict=True)), customers, 5):
        print("  " + line)
    print("  SALES_DEL_ADDR, the new contact addresses")
    header = ("ACCOUNT_REF", "ADDRESS_REF", "CONTACT_NAME", "SSM contact")
    for line in _table(header, contacts, 4):
        print("  " + line)

    print("\nwhat came back to SSM (the sandbox's state)")
    held = ssm_records(visit)
    rows = []
    for record in visit.records:
        now = held.get((record.resource, record.ssm_id), {})
        read_only = now.get("readOnly")
        rows.append(
            (f"{record.resource} {record.ssm_id}", record.what, record.name,
             now.get("extId") or "-", "-" if read_only is None else str(read_only).lower())
        )  # fmt: skip
    for line in _table(("SSM record", "created as", "name", "extId", "readOnly"), rows, 5):
        print(line)

    assets = ", ".join(f"inbox/{asset}" for asset in REVERSE_ASSETS)
    print(f"\nreverse flow per run (materialization metadata of {assets})")
    rows = [
        (
            f"inbox/{asset}",
            run.label,
            *(run.reverse.get(asset, {}).get(f, "-") for f in REVERSE_FIGURES),
        )
        for asset in REVERSE_ASSETS
        for run in runs
        if asset in run.reverse  # the sync never handles quotes, the quote job nothing else
    ]
    for line in _table(("asset", "run", *REVERSE_FIGURES), rows, 2):
        print(line)

    labels = " and ".join(run.label for run in decided_in)
    print(
        f"\nits decisions in the {labels} runs (inbox.accounts, inbox.contacts, inbox.salesorders)"
    )
    rows = []
    for resource, decided in decisions([run.run_id for run in decided_in]).items():
        mine = visit.ids(resource)
        rows += [(f"{resource} {i}", d, r) for i, d, r in decided if i in mine]
        # The records the push wrote are read back too; one line per decision says what of them.
        others: dict[str, list[str]] = {}
        for i, d, r in decided:
            if i not in mine:
                others.setdefault(d, []).append(r)
        rows += [
            (f"{len(reasons)} other {resource}", d, f"e.g. {reasons[0]}")
            for d, reasons in sorted(others.items())
        ]
    for line in _table(("SSM record", "decision", "reason"), rows, 3):
        print(line)


def _money(value: Any, places: int = 2) -> str:
    if value is None:
        return "-"
    text = f"{float(value):.4f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(places, '0')}"


def quote_rules(numbers: list[int]) -> dict[tuple[int, int], tuple[str, str]] | None:
    """(Sage quotation, line) -> (the rule that fired, the explanation's sentence), from
    derived.quote_price_explanation; None when the warehouse has no such table (yet)."""
    con = duckdb.connect(settings.warehouse_path(), read_only=True)
    try:
        rows = con.execute(
            "SELECT order_number, line_number, rule, matches, explanation "
            "FROM derived.quote_price_explanation WHERE list_contains(?, order_number)",
            [numbers],
        ).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return {
        (int(order), int(line)): (
            str(rule) + ("" if matches or matches is None else " (NOT Sage's figure)"),
            str(explanation or ""),
        )
        for order, line, rule, matches, explanation in rows
    }


def print_quotes(visit: RepVisit) -> None:
    """Each quote as Sage priced it (the company file's SOP_ITEM rows, in the customer's
    currency), the rule that fired per line, and what SSM holds now."""
    from assets.inbox.rules import ssm_marker

    if not visit.quotes:
        return
    path = Path(settings.sage_sdo_data_path())
    sage: dict[int, tuple[int, list[tuple[Any, ...]]]] = {}
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as con:
        for quote in visit.quotes:
            header = con.execute(
                "SELECT ORDER_NUMBER FROM SALES_ORDER WHERE CUST_ORDER_NUMBER = ? "
                "AND ORDER_OR_QUOTE = 'Quotation' ORDER BY ORDER_NUMBER",
                (ssm_marker(quote.ssm_id),),
            ).fetchone()
            if header is None:
                continue
            lines = con.execute(
                "SELECT ITEM_NUMBER, STOCK_CODE, QTY_ORDER, FOREIGN_UNIT_PRICE, DISCOUNT_RATE, "
                "FOREIGN_NET_AMOUNT, FOREIGN_TAX_AMOUNT FROM SOP_ITEM WHERE ORDER_NUMBER = ? "
                "ORDER BY ITEM_NUMBER",
                (header[0],),
            ).fetchall()
            sage[quote.ssm_id] = (int(header[0]), lines)
    rules = quote_rules([number for number, _ in sage.values()])
    state = _sandbox_get("state?resource=salesorders") or {"salesorders": []}
    orders = {r["id"]: r for r in state["salesorders"]}
    statuses = {
        r["id"]: r.get("descriptionEN")
        for r in (_sandbox_get("state?resource=salesorderStatuses") or {}).get(
            "salesorderStatuses", []
        )
    }
    source = (
        "rule from derived.quote_price_explanation"
        if rules is not None
        else "derived.quote_price_explanation is not in the warehouse"
    )
    print(f"\nthe rep's quotes, priced by Sage (SOP_ITEM of the demo company; {source})")
    for quote in visit.quotes:
        order = orders.get(quote.ssm_id, {})
        status = order.get("statusId")
        status = status.get("id") if isinstance(status, dict) else status
        number, lines = sage.get(quote.ssm_id, (None, []))
        print(
            f"  quote {quote.ssm_id} ({quote.what}) for {quote.account_ref} {quote.customer!r}, "
            f"in {quote.currency}: Sage quotation {number if number is not None else 'none'}; "
            f"in SSM status {statuses.get(status, status)!r}, extId {order.get('extId')}, "
            f"readOnly {str(order.get('readOnly')).lower()}, total {_money(order.get('total'))}"
        )
        rows = [
            (item, code, f"{quantity:g}", _money(unit), f"{discount:g}", _money(net),
             _money(tax),
             "explanation not available" if rules is None or (number, item) not in rules
             else rules[(number, item)][0])
            for item, code, quantity, unit, discount, net, tax in lines
        ]  # fmt: skip
        header = ("line", "product", "quantity", f"unit price {quote.currency}", "discount %",
                  "net", "tax", "rule")  # fmt: skip
        for line in _table(header, rows, 2):
            print("  " + line)
        for item, *_ in lines:
            if rules is not None and (number, item) in rules:
                print(f"    line {item}: {rules[(number, item)][1]}")


def _sync(instance: dg.DagsterInstance, label: str, job: str = SYNC_JOB) -> SyncRun:
    """One run of `job` (a sync), its outcome on the console; a failed run stops the demo."""
    run = run_sync(instance, label, job)
    what = "sync run" if job == SYNC_JOB else f"{job} run"
    print(f"{label} {what} {run.run_id} {'succeeded' if run.success else 'FAILED'} in "
          f"{run.seconds:.1f} s")  # fmt: skip
    if not run.success:
        for message in run.failures:
            print(f"  {message}")
        print(f"every event of the run: {run.log_path}")
        raise SystemExit(1)
    return run


def demo(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    ensure_demo_company(args.size)
    sandbox_pid = ensure_ssm_sandbox()
    runs: list[SyncRun] = []
    visit: RepVisit | None = None
    reps_run: SyncRun | None = None
    quotes_run: SyncRun | None = None
    with open_instance() as instance:
        where = Path(instance.root_directory).resolve()
        if args.prepare:
            print(f"the Dagster instance is {where}")
            return
        runs.append(_sync(instance, "initial"))
        unavailable = rep_demo_unavailable()
        if unavailable is None:
            tag = uuid.uuid4().hex[:4]
            visit = act_as_rep(tag)
            visit.quotes = quote_as_rep(visit, tag)
            print(
                "the job ssm_quotes prices the quotes in Sage and answers them in SSM (the sensor "
                "ssm_quotes launches it within seconds of a quote; here it runs in this process), "
                "then the next sync runs the reverse flow first (group inbox): the rep's records "
                "are written into Sage, read back by the extract and answered in SSM by the push\n"
            )
            runs.append(quotes_run := _sync(instance, "quotes", QUOTES_JOB))
            runs.append(reps_run := _sync(instance, "reps"))
        else:
            print(f"\nnot acting as a sales rep: {unavailable}\n")
        runs.append(_sync(instance, "repeat"))
    print_summary(runs)
    if visit is not None and reps_run is not None and quotes_run is not None:
        print_rep_report(visit, runs, [quotes_run, reps_run])
        print_quotes(visit)
    print(f"\ndemo done in {time.perf_counter() - started:.1f} s")
    print(f"the runs are in the Dagster instance {where}: `make dev` or `dagster dev` shows them")
    for run in runs:
        print(f"  {run.label} run, every event: {run.log_path}")
    if sandbox_pid is not None:
        print(
            f"the SSM sandbox keeps running for `make dev` at {settings.ssm_base_url()} "
            f"(pid {sandbox_pid}); stop it with `kill {sandbox_pid}`"
        )


DEMO_COMPANY_NAMES = ("north", "south", "east", "west")


def demo_companies_file(count: int) -> Path:
    """The companies file of `make demo DEMO_COMPANIES=<count>` (kept if already there)."""
    from pipelines.companies import companies_file

    named = companies_file()
    if named is not None:
        return named
    path = settings.data_dir() / "companies.yaml"
    names = DEMO_COMPANY_NAMES[:count]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `make demo DEMO_COMPANIES=...`: demo companies with the same account\n"
        "# codes, each in its own folder under data/companies/, into one SSM sandbox tenant.\n"
        "companies:\n" + "".join(f"  {n}: {{}}\n" for n in names),
        encoding="utf-8",
    )
    return path


def one_company(name: str, size: str, first: bool) -> None:
    """`--company <name>`: this process is that company (before the definitions load): its
    demo company (the same codes as the others', its own names), an initial and a repeat sync."""
    from pipelines import companies

    companies.activate(name)
    path = settings.demo_company_path()
    fresh = not path.exists()
    ensure_demo_company(size)
    if fresh and not first:
        # The same generator and seed, so the same account codes: only the names tell them apart.
        with contextlib.closing(sqlite3.connect(path)) as con, con:
            con.execute("UPDATE SALES_LEDGER SET NAME = substr(NAME, 1, 50) || ?", (f" {name}",))
    with open_instance() as instance:
        runs = [_sync(instance, f"{name} initial"), _sync(instance, f"{name} repeat")]
    print_summary(runs)


def demo_several(count: int, size: str) -> None:
    """Several demo companies into one SSM tenant, each synced in its own process, as each is
    its own code location under `make dev` (asset keys under <company>/)."""
    from pipelines.companies import load

    started = time.perf_counter()
    path = demo_companies_file(count)
    catalogue = load(path)
    assert catalogue is not None
    sandbox_pid = ensure_ssm_sandbox()
    print(f"{len(catalogue.companies)} companies from {path}: {catalogue.names()}")
    for n, found in enumerate(catalogue.companies):
        print(f"\n=== company {found.name} ===", flush=True)
        done = subprocess.run(  # noqa: S603 - this module, fixed arguments
            [sys.executable, "-m", "pipelines.demo", "--company", found.name, "--size", size]
            + ([] if n else ["--first"]),
            env={**os.environ, "COMPANIES_FILE": str(path)},
            check=False,
        )
        if done.returncode != 0:
            print(f"company {found.name} did not sync: the other companies go on")
    accounts = _sandbox_get("state?resource=accounts") or {}
    rows = next(iter(accounts.values()), []) if isinstance(accounts, dict) else []
    live = [r for r in rows if not r.get("deleted") and r.get("extId")]
    print("\nSSM accounts per company (extId prefix):")
    for found in catalogue.companies:
        prefix = catalogue.environment(found.name)["SSM_EXT_ID_PREFIX"]
        mine = sorted((r for r in live if str(r["extId"]).startswith(prefix)),
                      key=lambda r: str(r["extId"]))  # fmt: skip
        sample = f", e.g. {mine[0]['extId']} {mine[0].get('name')!r}" if mine else ""
        print(f"  {found.name}: {len(mine)} accounts under {prefix}{sample}")
    print(f"\ndemo of {len(catalogue.companies)} companies done in "
          f"{time.perf_counter() - started:.1f} s; `make dev` shows one code location each")  # fmt: skip
    if sandbox_pid is not None:
        print(
            f"the SSM sandbox keeps running (pid {sandbox_pid}); stop it with `kill {sandbox_pid}`"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prepare", action="store_true", help="only generate, start and check the instance"
    )
    parser.add_argument("--size", default=os.environ.get("DEMO_SIZE", "small"))
    parser.add_argument(
        "--companies",
        type=int,
        default=int(os.environ.get("DEMO_COMPANIES", "1") or 1),
        help="several demo companies (same codes) into one SSM tenant (DEMO_COMPANIES)",
    )
    parser.add_argument(
        "--edition",
        default=os.environ.get("EDITION", "uk"),
        choices=("uk", "fr"),
        help="fr: the demo Sage 50 FR dossier (pipelines/demo_fr.py)",
    )
    parser.add_argument("--company", help=argparse.SUPPRESS)  # one of them, in its own process
    parser.add_argument("--first", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        if args.edition == "fr" and not args.prepare:
            from pipelines.demo_fr import demo_fr

            demo_fr(args.size)
        elif args.company:
            one_company(args.company, args.size, args.first)
        elif args.companies > 1 and not args.prepare:
            demo_several(min(args.companies, len(DEMO_COMPANY_NAMES)), args.size)
        else:
            demo(args)
    except OSError as exc:  # what the demo writes under DATA_DIR: the company, logs, sandbox state
        if exc.filename is None:
            raise
        raise SystemExit(
            f"Cannot write {exc.filename} ({exc.strerror}): make DATA_DIR ({settings.data_dir()}) "
            "a writable directory, or set DATA_DIR to one."
        ) from None


if __name__ == "__main__":
    main()
