"""Scheduling of quotations: a rep at a client's desk waits for Sage's prices, so quotes get their
own poll and their own small job instead of the 15-minute cycle.

* `ssm_quotes` (job): the quote feed and the quote writer alone (`inbox/ssm_salesorders`,
  `inbox/sage_quotes`): no extract, no staging; the quote is read back from Sage by a targeted
  ODBC read. It is the only job that handles quotes, on its own pool `quotes`, so it never waits
  for a sync's pools: the processes of the host share SSM's rate through the pace file
  (SSM_PACE_DIR), take turns on the Sage session through its lock file (SAGE_SDO_LOCK_DIR) and
  on the warehouse through its file lock, each for seconds rather than for a whole run.
* `ssm_quotes` (sensor): every `SSM_QUOTE_POLL_SECONDS` (15 s) asks SSM for orders in the quote
  status changed since its cursor: one list call when nothing changed. It launches the job when
  a quote changed, unless a run of it is already queued (that run reads it). The job's
  watermark in the warehouse stays the truth.
"""

import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets import company
from assets.inbox import feed
from assets.inbox.assets import FEED_KEYS, QUOTES_KEY
from assets.inbox.quotes import STATUS_LIST, quote_filter
from assets.inbox.rules import ReverseSettings, clean
from assets.ssm.settings import SyncSettings
from assets.ssm.summary import KIND_TAG
from pipelines.reverse import (
    _POLL_CLIENTS,
    NOT_STARTED,
    _poll_client,
    company_branch,
    own_accounts,
    poll,
    sensor_overlap,
)
from pipelines.settings import warehouse_path
from resources.ssm.errors import SSMError
from resources.ssm.resource import SSMResource

QUOTES_JOB = "ssm_quotes"
RETRY_SECONDS = 60  # the least time between two runs for quotes a run left for the next

quotes_job = dg.define_asset_job(
    QUOTES_JOB,
    selection=dg.AssetSelection.assets(FEED_KEYS[feed.QUOTE_FEED], QUOTES_KEY),
    description="Quotes reps made in SSM, priced by Sage and posted as Sage quotations, back in "
    "SSM priced and read-only. Launched by the sensor ssm_quotes within seconds of a quote.",
    tags={KIND_TAG: "quotes", **company.run_tags()},
)


def _pending_status(client: Any, name: str, cursor: dict[str, Any]) -> int | None:
    """The quote status's SSM id: remembered in the cursor, looked up once (the job creates the
    status when it is missing)."""
    if cursor.get("status_name") == name and cursor.get("status_id") is not None:
        return int(cursor["status_id"])
    for item in client.list(STATUS_LIST):
        label = str(item.get("descriptionEN") or item.get("description") or "")
        if label.strip().lower() == name.strip().lower() and not item.get("deleted"):
            return int(item["id"])
    return None


def _left_for_next_run(instance: dg.DagsterInstance) -> tuple[str, int] | None:
    """(run id, count) when the latest quote writer left quotes for the next run."""
    event = instance.get_latest_materialization_event(QUOTES_KEY)
    if event is None or event.asset_materialization is None:
        return None
    left = event.asset_materialization.metadata.get("retry_later")
    count = int(left.value) if left is not None and isinstance(left.value, int | float) else 0
    return (event.run_id, count) if count else None


@dg.sensor(
    name=QUOTES_JOB,
    job=quotes_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ReverseSettings.from_env().quote_poll_seconds,
    description="Polls SSM for sales orders in the quote status (one call when nothing changed) "
    "and launches ssm_quotes when a rep made or changed a quote.",
)
def ssm_quotes(
    context: dg.SensorEvaluationContext, ssm: SSMResource
) -> dg.RunRequest | dg.SkipReason:
    if (off := company.inactive()) is not None:
        company.mark_deactivated(warehouse_path())
        return dg.SkipReason(off)
    sync = SyncSettings.from_env()
    settings = ReverseSettings.from_env(sync=sync)
    if feed.scope(feed.QUOTE_FEED, sync).skip is not None:
        return dg.SkipReason(feed.SHARED_NOT_OWNER)  # no call: the owning company writes them
    overlap = sensor_overlap(settings)
    cursor: dict[str, Any] = json.loads(context.cursor or "{}")
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        client = _poll_client(ssm)
        status = _pending_status(client, sync.quote_status, cursor)
        if status is None:  # no rep can have made a quote yet
            return dg.SkipReason(
                f"no SSM order status {sync.quote_status!r} yet: the next sync creates it"
            )
        kept: dict[str, Any] = {k: cursor[k] for k in ("branch", "accounts_of") if k in cursor}
        branch = company_branch(client, sync, kept)
        read, state = poll(client, feed.QUOTE_FEED, cursor.get("feed"), overlap, now,
                           where=quote_filter(status),
                           scope=feed.scope(feed.QUOTE_FEED, sync, branch))  # fmt: skip
        # Every new version matters: the connector never writes a quote still in the quote
        # status, except the reason of a refused one (the run then decides it unchanged).
        fresh = [record for record, new in read if new]
        # A rep's new quote has no extId yet: with several companies its account says whose.
        new_quotes = [r for r in fresh if sync.ext_id_prefix and not clean(r.get("extId"))]
        ours = own_accounts(client, new_quotes, feed.scope("accounts", sync, branch), kept)
        changed = [
            f"quote {r['id']}"
            for r in fresh
            if r not in new_quotes or feed.fk(r.get("accountId")) in ours
        ]
    except SSMError as exc:
        _POLL_CLIENTS.clear()
        return dg.SkipReason(f"SSM did not answer the poll: {exc}")
    # A run that left quotes for the next run (SSM busy, Sage busy) is run again at once rather
    # than at the next sync: its materialization says how many, and which run it was.
    # At most one such retry a minute, so an outage of Sage or SSM is not hammered every tick.
    left = _left_for_next_run(context.instance)
    retry_due = now.timestamp() - float(cursor.get("retried_at") or 0) >= RETRY_SECONDS
    retried_at = cursor.get("retried_at")
    if left is not None and left[0] != cursor.get("retried_run") and retry_due:
        changed.append(f"{left[1]} quotes left by run {left[0][:8]}")
        retried_at = now.timestamp()
    else:
        left = None
    context.update_cursor(
        json.dumps(
            {
                **kept,
                "feed": state,
                "status_name": sync.quote_status,
                "status_id": status,
                "retried_run": left[0] if left else cursor.get("retried_run"),
                "retried_at": retried_at,
            }
        )
    )
    if not changed:
        return dg.SkipReason("no quote waiting for Sage's prices changed in SSM")
    waiting = context.instance.get_run_records(
        dg.RunsFilter(job_name=QUOTES_JOB, statuses=NOT_STARTED, tags=company.run_tags()), limit=1
    )
    if waiting:
        return dg.SkipReason(
            f"{len(changed)} quotes; run {waiting[0].dagster_run.run_id[:8]} of {QUOTES_JOB} is "
            "queued and will read them"
        )
    return dg.RunRequest(tags={"sync/reason": ", ".join(changed[:5])[:200]})


defs = dg.Definitions(jobs=[quotes_job], sensors=[ssm_quotes])
