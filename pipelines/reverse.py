"""Scheduling of the reverse flow: a cheap poll of SSM's change feed, a small job when needed.

* `ssm_to_sage`: the reverse flow alone (group `inbox`): read what changed in SSM, write what
  the rules say into Sage, give SSM the Sage keys. The 15-minute `sage_ssm_sync` runs the same
  assets first, so what it writes is extracted and pushed back in the same run.
* `ssm_changes`: every `SSM_POLL_SECONDS` (30 s) asks SSM, per resource, for records changed
  since its cursor: one list call each when nothing changed. It launches `ssm_to_sage` only when
  someone other than the connector's own SSM user changed a record a rep can edit (the push's
  writes and the flow's acknowledgements are echoes; a change made under the connector's own
  user waits for the 15-minute sync, which reads everything since its watermark). The job's own
  watermark in the warehouse stays the truth: a change the sensor saw but a failed run did not
  write is read again by the next run (or the next sync). With several companies on one tenant
  it reads only what can be its company's (`feed.scope`: its extId prefix, the new records it
  may take), so other companies' pushes cost it nothing, and a rep's new contact wakes it only
  when the contact's account is its own (that account read once, then remembered).
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from assets import company
from assets.inbox import feed
from assets.inbox.assets import QUOTE_ASSETS
from assets.inbox.rules import ReverseSettings, clean
from assets.ssm.settings import SyncSettings
from assets.ssm.summary import KIND_TAG
from pipelines.settings import warehouse_path
from resources.ssm import where as w
from resources.ssm.client import SSMClient
from resources.ssm.errors import SSMError
from resources.ssm.resource import SSMResource

REVERSE_JOB = "ssm_to_sage"
NOT_STARTED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]

reverse_job = dg.define_asset_job(
    REVERSE_JOB,
    selection=dg.AssetSelection.groups("inbox") - QUOTE_ASSETS,
    description="What reps created or changed in SSM, written into Sage (Client companies, "
    "prospects, contacts); SSM gets the Sage keys. Launched by the sensor ssm_changes.",
    tags={KIND_TAG: "reverse", **company.run_tags()},
)


def _fk(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _last_actor(record: dict[str, Any]) -> Any:
    """The SSM user who made the record's newest version."""
    return _fk(record.get("salesRepIdUpdated") if record.get("dateUpdated") else
               record.get("salesRepIdCreated"))  # fmt: skip


def _matters(resource: str, record: dict[str, Any], connector_user: Any) -> bool:
    """A change the reverse flow may act on: made by someone other than the connector's own
    SSM user (its pushes and acknowledgements are echoes), on a record a rep can edit."""
    if connector_user is not None and _last_actor(record) == connector_user:
        return False
    return resource != "accounts" or not record.get("readOnly")


# One client per SSM tenant for the life of the code server: a tick then costs one list call per
# resource, not a login as well (the session token is refreshed by the client when it expires).
_POLL_CLIENTS: dict[tuple[str, str], SSMClient] = {}


def _poll_client(ssm: SSMResource) -> SSMClient:
    key = (ssm.base_url, hashlib.sha256(f"{ssm.public_key}:{ssm.private_key}".encode()).hexdigest())
    client = _POLL_CLIENTS.get(key)
    if client is None:
        client = _POLL_CLIENTS[key] = ssm.new_client()
    return client


def _iso(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


# The sensors only wake a job up (the job's own feed re-reads SSM_FEED_OVERLAP_SECONDS, 300 s,
# before its watermark): a short window keeps a tick after a big push to a page or two instead of
# re-reading five minutes of pushed records every tick (~95 calls a tick on the small company).
SENSOR_OVERLAP_SECONDS = 30


def sensor_overlap(settings: ReverseSettings) -> timedelta:
    return timedelta(seconds=min(settings.overlap_seconds, SENSOR_OVERLAP_SECONDS))


def poll(
    client: SSMClient,
    resource: str,
    state: dict[str, Any] | None,
    overlap: timedelta,
    now: datetime,
    where: str | None = None,
    scope: feed.Scope | None = None,
    not_by: int | None = None,
) -> tuple[list[tuple[dict[str, Any], bool]], dict[str, Any]]:
    """One look at a resource's change feed from a sensor's cursor state (no state: from `now`):
    each record changed since that can be this company's (`scope`), with whether this version
    is news, and the state after. One list call when nothing changed; a version seen within the
    overlap window is not news twice. `not_by`: the connector's own SSM user, whose changes SSM
    leaves out (unless it refuses that filter, code 901: then they are read and passed over)."""
    state = state or {"watermark": _iso(now), "seen": []}
    mark = datetime.fromisoformat(state["watermark"])
    seen = {tuple(s) for s in state.get("seen", [])}

    records, newest_read = feed.read_scoped(
        scope or feed.Scope(),
        lambda narrowed: feed.changed_but_not_by(
            client, resource, mark, overlap, narrowed, not_by=not_by
        ),
        where,
    )
    newest = max(mark, newest_read or mark)  # past what was read, this company's or not
    read = []
    for record in records:
        version = feed.version_of(record)
        if version is None:
            continue
        key = (int(record["id"]), _iso(version))
        read.append((record, key not in seen))
        seen.add(key)
    floor = newest - overlap
    return read, {
        "watermark": _iso(newest),
        "seen": sorted(s for s in seen if datetime.fromisoformat(s[1]) >= floor),
    }


KNOWN_ACCOUNTS = 500  # accounts whose company the cursor remembers (new contacts on them)


def company_branch(client: SSMClient, sync: SyncSettings, state: dict[str, Any]) -> int | None:
    """SSM_BRANCH's id when it decides which new accounts are this company's: looked up once,
    remembered in the cursor `state` (None until found: the feed then reads every new
    account, and the run decides)."""
    if not (sync.branch and company.several()):
        return None
    kept = state.get("branch")
    if kept and kept[0] == sync.branch:
        return int(kept[1])
    found = feed.branch_id(client.list("branches"), sync.branch)
    if found is not None:
        state["branch"] = [sync.branch, found]
    return found


def own_accounts(
    client: SSMClient, contacts: list[dict[str, Any]], accounts: feed.Scope, state: dict[str, Any]
) -> set[int]:
    """Which of the new contacts' (or quotes') accounts are this company's, as the accounts'
    scope says of the account read (one call for those the cursor `state` does not remember): a
    rep's new contact or quote on another company's account starts no run here."""
    known: dict[str, bool] = dict(state.get("accounts_of") or {})
    ids = {i for i in (feed.fk(r.get("accountId")) for r in contacts) if i is not None}
    missing = sorted(i for i in ids if str(i) not in known)
    for start in range(0, len(missing), feed.ACCOUNT_BATCH):
        chunk = missing[start : start + feed.ACCOUNT_BATCH]
        for record in client.list("accounts", where=w.in_("id", chunk)):
            known[str(record["id"])] = accounts.admits(record)
    state["accounts_of"] = dict(list(known.items())[-KNOWN_ACCOUNTS:])
    return {i for i in ids if known.get(str(i), True)}  # not found: the run decides


@dg.sensor(
    name="ssm_changes",
    job=reverse_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ReverseSettings.from_env().poll_seconds,
    description="Polls SSM's change feed (one call per resource when nothing changed) and "
    "launches ssm_to_sage when a rep created or changed a company or a contact.",
)
def ssm_changes(
    context: dg.SensorEvaluationContext, ssm: SSMResource
) -> dg.RunRequest | dg.SkipReason:
    if (off := company.inactive()) is not None:
        company.mark_deactivated(warehouse_path())
        return dg.SkipReason(off)
    settings = ReverseSettings.from_env()
    overlap = sensor_overlap(settings)
    # No cursor yet: changes from the overlap window on (the sync reads everything before).
    cursor: dict[str, Any] = json.loads(context.cursor or "{}")
    now = datetime.now(UTC).replace(tzinfo=None)
    waiting = context.instance.get_run_records(
        dg.RunsFilter(job_name=REVERSE_JOB, statuses=NOT_STARTED, tags=company.run_tags()), limit=1
    )
    changed: list[str] = []
    # The connector's own SSM user, learnt from the read-only records only it writes: what that
    # user changed is an echo of a push, not a rep's work.
    connector_user = cursor.get("connector_user")
    kept = ("branch", "accounts_of", "no_user_lookup")
    new_cursor: dict[str, Any] = {k: cursor[k] for k in kept if k in cursor}
    sync = SyncSettings.from_env()
    if feed.scope("accounts", sync).skip is not None:
        return dg.SkipReason(feed.SHARED_NOT_OWNER)  # no call: no change in SSM is its to write
    try:
        client = _poll_client(ssm)
        if connector_user is None and not cursor.get("no_user_lookup"):
            try:  # so SSM leaves its changes out of the poll from now on
                connector_user = feed.connector_user(client, sync)
            except SSMError as exc:
                if exc.code != feed.SSM_SQL_ERROR:
                    raise
                new_cursor["no_user_lookup"] = True  # learnt from the records the poll reads
        branch = company_branch(client, sync, new_cursor)
        new_contacts: list[dict[str, Any]] = []
        for resource in feed.PARTY_FEEDS:
            read, new_cursor[resource] = poll(
                client, resource, cursor.get(resource), overlap, now,
                scope=feed.scope(resource, sync, branch), not_by=connector_user,
            )  # fmt: skip
            for record, new in read:
                if record.get("readOnly") and _last_actor(record) is not None:
                    connector_user = _last_actor(record)
                if not new or not _matters(resource, record, connector_user):
                    continue
                if resource == "contacts" and sync.ext_id_prefix and not clean(record.get("extId")):
                    new_contacts.append(record)  # whose is its account's
                else:
                    changed.append(f"{resource} {record['id']}")
        ours = own_accounts(client, new_contacts, feed.scope("accounts", sync, branch), new_cursor)
        changed += [
            f"contacts {r['id']}" for r in new_contacts if feed.fk(r.get("accountId")) in ours
        ]
    except SSMError as exc:
        _POLL_CLIENTS.clear()  # a fresh client (and login) next tick
        return dg.SkipReason(f"SSM did not answer the poll: {exc}")
    new_cursor["connector_user"] = connector_user
    context.update_cursor(json.dumps(new_cursor))
    if not changed:
        return dg.SkipReason("nothing a rep can edit changed in SSM")
    if waiting:
        return dg.SkipReason(
            f"{len(changed)} changes; run {waiting[0].dagster_run.run_id[:8]} of {REVERSE_JOB} "
            "is queued and will read them"
        )
    return dg.RunRequest(tags={"sync/reason": ", ".join(changed[:5])[:200]})


defs = dg.Definitions(jobs=[reverse_job], sensors=[ssm_changes])
