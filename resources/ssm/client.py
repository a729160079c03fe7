"""The SSM (Sage Sales Management, ex-ForceManager) API v4 client.

Plain Python over httpx, no Dagster. What it guarantees, and how:

* Authentication: logs in lazily (``POST {base}/login`` with the public/private key as
  username/password, answer ``{"token"}``, sent as ``X-Session-Key``), logs in again ahead of
  the token's (undocumented) expiry every ``token_refresh_seconds``, and once more when SSM
  answers 401; a second 401 in a row is an :class:`SSMAuthError`.
* Pacing: every request (logins and retries included) first takes a slot from a thread-safe
  pacer set to the plan's rate, so the client never bursts past 4 (or 13) requests/s; with a
  ``pace_file`` the pace is shared by every process of the host that calls the same tenant.
* Retries: 429, 408, 5xx, timeouts and dropped connections are retried with exponential
  backoff and jitter, up to ``max_attempts`` sends per request. A ``Retry-After`` is honoured
  on any of them (429: exactly; 408/5xx: as a floor under the backoff), capped at 5 minutes.
* Paging: pages 0..n until an empty page, or a page shorter than the rows a page is known to
  hold (see :meth:`SSMClient.list`), so a tenant that caps the page size is still read whole.
* No duplicates: GET, PUT and DELETE are idempotent and simply retried. A create is never
  blindly re-sent: when its fate is unknown (timeout or dropped connection after sending, 408,
  5xx) the client looks the record up by ``extId`` and only sends it again if it is not there;
  a bulk create re-sends only the items whose ``extId`` is not found. 429 and failures to
  connect are retried directly, since SSM cannot have acted on them.
* Bulk writes are cut to SSM's batch limits and report each item's outcome
  (:class:`BulkResult`) instead of raising.
* Secrets: the keys and the token live only in private attributes (the keys in a holder whose
  repr masks them, so even ``vars(client)`` shows neither) and request headers/bodies; no repr,
  log line, exception or metadata built here contains them.

I wrote the retry loop by hand rather than with tenacity: a create has to interleave an
``extId`` lookup between attempts and treat "not sent" and "maybe applied" failures
differently, which a plain loop says more clearly than retry predicates and callbacks.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import httpx
import tenacity

from resources.ssm import where as w
from resources.ssm.errors import (
    SSMAuthError,
    SSMConfigurationError,
    SSMError,
    SSMNotFoundError,
    SSMRateLimitError,
    SSMUnavailableError,
    SSMValidationError,
)
from resources.ssm.ratelimit import Pacer, RequestPacer, SharedPacer

log = logging.getLogger(__name__)

# What the client raises when it ran out of retries (SSM down, or throttling hard); the callers
# that can wait leave the records concerned for later instead of failing.
GAVE_UP: tuple[type[SSMError], ...] = (SSMUnavailableError, SSMRateLimitError)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# BulkResult.code values the client sets itself (SSM's own codes are positive; 1 = success).
OUTCOME_UNKNOWN = -1  # sent, but SSM's answer was lost and could not be settled by extId
NOT_SENT = -2  # never reached SSM (it was unavailable or throttling), safe to send again

_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
_LOGIN_PATH = "login"
P = ParamSpec("P")
T = TypeVar("T")
# Transport failures that happen before the request leaves: SSM cannot have acted on them.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
_RESOURCE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(/[A-Za-z0-9_]+)*")
# SSM documents order=<field> (descending); the asc/desc suffix is UNCONFIRMED but harmless.
# `field.id` is documented for where only, so order takes plain field names (the sandbox agrees).
_ORDER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?i:\s+(?:asc|desc))?")
_PRODUCT_RESOURCES = frozenset({"products"})
# The literal IN (...) lists are kept short so the query string stays well under URL limits.
_LOOKUP_CHUNK = 40
_MAX_RETRY_AFTER_SECONDS = 300.0
# SSM's documented default page size [DEV][PAR]: a tenant is not expected to cut pages below it,
# so a shorter page is the last one even before the tenant's real page length is known.
_DOCUMENTED_PAGE_SIZE = 50
# The audit dates of every SSM record (ISO 8601 UTC with milliseconds, null when unset).
AUDIT_DATES = ("dateCreated", "dateUpdated", "dateDeleted")
_NO_CHANGE = datetime.min.replace(tzinfo=UTC)  # sorts a row without a readable date first


@dataclass(frozen=True)
class BulkResult:
    index: int  # position in the submitted list
    guid: str  # the client operation id sent to SSM ("" if the item was never sent)
    ok: bool
    id: int | None  # SSM id (created/updated/deleted record)
    code: int | None  # SSM's item code (1 = success), or OUTCOME_UNKNOWN / NOT_SENT
    message: str
    ext_id: str | None = None


class _AmbiguousFailure(Exception):
    """A write was sent and SSM may or may not have applied it."""

    def __init__(self, problem: str, retry_after: float = 0.0) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after  # seconds SSM asked us to wait (Retry-After), else 0


class _Keys:
    """The API keys, kept out of ``vars(client)`` output: the repr shows neither."""

    __slots__ = ("public", "private")

    def __init__(self, public: str, private: str) -> None:
        self.public = public
        self.private = private

    def __repr__(self) -> str:
        return "_Keys(public='***', private='***')"

    __str__ = __repr__


@dataclass(frozen=True)
class _ErrorInfo:
    message: str
    code: int | None
    field: str | None


class SSMClient:
    """A client for one SSM API v4 tenant; a context manager that closes its connections."""

    def __init__(
        self,
        base_url: str,
        public_key: str,
        private_key: str,
        *,
        requests_per_second: float = 4.0,
        timeout_seconds: float = 30.0,
        max_attempts: int = 6,
        page_size: int = 50,
        token_refresh_seconds: float = 3000.0,
        transport: httpx.BaseTransport | None = None,
        date_literal_format: str = w.DEFAULT_DATE_FORMAT,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        pace_file: str | Path | None = None,
    ) -> None:
        if max_attempts < 1:
            raise SSMConfigurationError(f"max_attempts must be at least 1, got {max_attempts}")
        if page_size < 1:
            raise SSMConfigurationError(f"page_size must be at least 1, got {page_size}")
        if not public_key or not private_key:
            raise SSMConfigurationError(
                "SSM API keys are missing: set SSM_PUBLIC_KEY and SSM_PRIVATE_KEY "
                "(SSM web app > Settings > Integrations > API key)."
            )
        self.base_url = _checked_base_url(base_url)
        self.requests_per_second = float(requests_per_second)
        self.max_attempts = max_attempts
        self.page_size = page_size
        # UNCONFIRMED: the literal format SSM's where accepts for dates (see where.py).
        try:
            self.date_literal_format = w.checked_date_format(date_literal_format)
        except ValueError as exc:
            raise SSMConfigurationError(f"SSM_WHERE_DATE_FORMAT: {exc}") from None
        self._keys = _Keys(public_key, private_key)
        self._token_refresh_seconds = token_refresh_seconds
        # Rows a page other than the last is known to hold: learnt from SSM's answers (list()).
        self._page_fill = min(page_size, _DOCUMENTED_PAGE_SIZE)
        self._backoff_seconds = backoff_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._clock = clock
        self._sleep = sleep
        self._random = random.Random()
        # With a pace file, every process of this host calling the tenant shares its rate.
        try:
            self._pacer: Pacer = (
                SharedPacer(requests_per_second, pace_file, sleep=sleep)
                if pace_file
                else RequestPacer(requests_per_second, clock=clock, sleep=sleep)
            )
        except ValueError as exc:
            raise SSMConfigurationError(
                f"{exc}; set SSM_REQUESTS_PER_SECOND to your plan's rate (4 or 13)"
            ) from exc
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._token: str | None = None
        self._token_obtained_at = 0.0
        self._auth_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._api_calls = 0
        self._write_calls = 0
        self._gave_up = 0

    # ----------------------------------------------------------------- housekeeping

    def __repr__(self) -> str:
        return (
            f"SSMClient(base_url={self.base_url!r}, requests_per_second={self.requests_per_second}, "
            f"max_attempts={self.max_attempts}, page_size={self.page_size})"
        )

    __str__ = __repr__

    def __enter__(self) -> SSMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        if isinstance(self._pacer, SharedPacer):
            self._pacer.close()

    @property
    def token_refresh_seconds(self) -> float:
        """Seconds after a login when the client logs in again before its next request."""
        return self._token_refresh_seconds

    @property
    def api_calls(self) -> int:
        """HTTP requests sent (logins and retries included), for run metadata."""
        return self._api_calls

    @property
    def write_calls(self) -> int:
        """POST/PUT/DELETE requests sent, for run metadata; a login changes nothing in SSM, so
        it counts as an API call, not as a write."""
        return self._write_calls

    @property
    def gave_up(self) -> int:
        """Requests the client stopped retrying (429, 5xx, timeouts after ``max_attempts``).

        A caller working through many batches compares it before and after one: a rise means
        SSM is down or throttling hard, so sending the next batch would only spend its retries
        too."""
        return self._gave_up

    def _giving_up(self, error: SSMError) -> SSMError:
        with self._count_lock:
            self._gave_up += 1
        return error

    def batch_size(self, resource: str, op: Literal["create", "update", "delete"]) -> int:
        """SSM's bulk limit: 100 for products, otherwise 200 for create/update and 120 for delete."""
        if op not in ("create", "update", "delete"):
            raise ValueError(f"unknown bulk operation {op!r}")
        if _checked_resource(resource).lower() in _PRODUCT_RESOURCES:
            return 100
        return 120 if op == "delete" else 200

    # ----------------------------------------------------------------- reads

    def list(
        self, resource: str, where: str | None = None, order: str | None = None
    ) -> Iterator[dict]:
        """Every record matching ``where``, page by page (pages 0..n), until the last page.

        ``where`` must be built with :mod:`resources.ssm.where` so that values are escaped.
        ``order`` sorts descending on that field (SSM's only documented order); a foreign key
        is ordered by its plain name (``typeId``), not ``typeId.id``.
        Deleted records are included (SSM keeps them with ``deleted: true``).

        A tenant may hold pages below ``page_size`` (the maximum is UNCONFIRMED), so a short
        page ends the list only if it is shorter than what a page is known to hold: the page
        size SSM echoes in a ``Count`` answer header (the sandbox does; whether SSM does is
        UNCONFIRMED), else the length learnt from earlier pages (a full ``page_size`` page, or a
        short page that was followed by more rows), else SSM's documented default of 50. An
        empty page always ends it, so a wrong guess costs one request, never lost rows.
        """
        resource = _checked_resource(resource)
        if order is not None and not _ORDER.fullmatch(order):
            raise ValueError(
                f"not an SSM order (a plain field, optionally ' asc'/' desc'; a foreign key is "
                f"ordered by its name, e.g. 'typeId' rather than 'typeId.id'): {order!r}"
            )
        page = 0
        previous = 0  # rows on the page before
        while True:
            rows, echoed = self._fetch_page(resource, page, where, order)
            yield from rows
            if not rows:
                return
            if 0 < previous < self.page_size:
                self._page_fill = previous  # a short page was followed by more: SSM's cap
            if len(rows) >= self.page_size:
                self._page_fill = self.page_size
            full = min(self.page_size, echoed) if echoed else self._page_fill
            if len(rows) < full:
                return
            previous = len(rows)
            page += 1

    def get(self, resource: str, id: int) -> dict:
        resource = _checked_resource(resource)
        response = self._send("GET", f"{resource}/{int(id)}", resource=resource)
        if not response.is_success:
            raise self._error_for_record(response, resource, id, "read")
        body = _json(response, resource)
        if not isinstance(body, dict):
            raise SSMError(
                f"SSM answered GET {resource}/{id} with something other than one record.",
                status=response.status_code,
                resource=resource,
            )
        return body

    def find_by_ext_id(
        self, resource: str, ext_id: str, *, include_deleted: bool = True
    ) -> dict | None:
        """The record whose ``extId`` is exactly ``ext_id``, or None.

        A live record wins over deleted ones, then the lowest id. The comparison is repeated
        client-side because SSM's database may compare strings case-insensitively.
        """
        rows = [
            row
            for row in self.list(resource, where=w.eq("extId", ext_id))
            if row.get("extId") == ext_id and (include_deleted or not _is_deleted(row))
        ]
        if not rows:
            return None
        return min(rows, key=lambda row: (_is_deleted(row), _as_int(row.get("id")) or 0))

    def changed_since(
        self,
        resource: str,
        since: datetime,
        *,
        lookback: timedelta = timedelta(minutes=5),
        where: str | None = None,
        not_by: int | None = None,
        not_created_by: int | None = None,
    ) -> Iterator[dict]:
        """Records created, updated or deleted after ``since - lookback``, each id once.

        For a change feed: the lookback catches changes committed late with an earlier
        timestamp. Pages are read ordered by id (descending): a row that starts matching while
        we page can only push others to later pages (read twice), never make us miss one. A
        row read twice, e.g. updated between two pages, is kept once, as its newest version
        (latest of ``dateUpdated``/``dateCreated``/``dateDeleted``; on a tie the later read).
        Rows come out oldest change first, then by id, so a caller can advance its watermark
        as it goes (:func:`newest_change`).

        Nothing changed costs one request (an empty first page), plus a login if this client
        has no session yet. The date literal uses ``date_literal_format`` (UNCONFIRMED against
        the real API: SSM_WHERE_DATE_FORMAT); a format without seconds rounds the cutoff down,
        which reads more, never less. Naive datetimes are taken as UTC. ``where`` narrows the
        feed further (e.g. to one status), built with :mod:`resources.ssm.where`. ``not_by``
        leaves out what that SSM user did (each change by its audit field: ``salesRepIdCreated``
        for a create, ...): a poll that wakes a job for reps' work need not page through the
        connector's own writes (a large first push: thousands of pages a tick).
        ``not_created_by`` leaves out only what that user created and nobody changed since: a
        record someone edited afterwards is still read, whoever edited it last.
        """
        cutoff = since - lookback
        if cutoff.tzinfo is None:
            cutoff = cutoff.replace(tzinfo=UTC)
        fmt = self.date_literal_format

        def clause(what: str) -> str:
            after = w.gt(f"date{what}", cutoff, date_format=fmt)
            user = not_by if not_by is not None else (not_created_by if what == "Created" else None)
            return after if user is None else w.and_(after, w.ne(f"salesRepId{what}", user))

        changed = w.or_(*(clause(what) for what in ("Created", "Updated", "Deleted")))
        where = changed if where is None else w.and_(changed, where)
        newest: dict[Any, tuple[datetime, int, dict]] = {}
        for read, row in enumerate(self.list(resource, where=where, order="id")):
            key = row.get("id")
            changed = _last_change(row) or _NO_CHANGE
            kept = newest.get(key)
            if kept is None or (changed, read) >= kept[:2]:
                newest[key] = (changed, read, row)
        for _, _, row in sorted(
            newest.values(), key=lambda kept: (kept[0], _as_int(kept[2].get("id")) or 0, kept[1])
        ):
            yield row

    # ----------------------------------------------------------------- single writes

    def create(self, resource: str, data: dict, *, check_existing: bool = False) -> int:
        """Create one record and return its SSM id; idempotent on ``data["extId"]``.

        After a failure that may have been applied, the record is looked up by extId and only
        sent again if it is absent. ``check_existing=True`` also looks it up before the first
        send (use it when re-trying a create whose earlier outcome is unknown). Without an
        extId such a failure raises :class:`SSMUnavailableError` instead of risking a duplicate.
        """
        resource = _checked_resource(resource)
        ext_id = _ext_id(data)
        if check_existing and ext_id is not None:
            found = self.find_by_ext_id(resource, ext_id, include_deleted=False)
            if found is not None:
                return int(found["id"])
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            wait = 0.0
            try:
                response = self._send(
                    "POST", resource, resource=resource, json_body=data, ambiguous=False
                )
            except _AmbiguousFailure as failure:
                problem, wait = failure.problem, failure.retry_after
            else:
                if not response.is_success:
                    raise self._error_for(response, resource, "create a record in")
                created_id = _as_int(_json_or_none(response, "id"))
                if created_id is not None:
                    return created_id
                problem = "SSM confirmed the create but its answer carried no id"
            if ext_id is None:
                raise SSMUnavailableError(
                    f"Creating a record in {resource} failed ambiguously ({problem}) and it has "
                    "no extId to check whether SSM kept it: look for it in SSM before sending it "
                    "again.",
                    resource=resource,
                )
            # Even after the last send, look: the record may have landed.
            log.warning(
                "SSM create in %s (extId %r) may not have landed (%s): checking by extId",
                resource,
                ext_id,
                problem,
            )
            self._sleep(max(self._backoff(attempt), wait))
            found = self.find_by_ext_id(resource, ext_id, include_deleted=False)
            if found is not None:
                return int(found["id"])
        raise self._giving_up(
            SSMUnavailableError(
                f"SSM did not confirm creating {resource} extId {ext_id!r} after "
                f"{self.max_attempts} attempts ({problem}) and it was not found by extId "
                "afterwards. Send it again later with check_existing=True (in case it lands "
                "late); if this persists, check SSM's status.",
                resource=resource,
            )
        )

    def update(self, resource: str, id: int, changes: dict) -> None:
        """Partial update (PUT sends only ``changes``); retried directly, PUT is idempotent."""
        resource = _checked_resource(resource)
        response = self._send("PUT", f"{resource}/{int(id)}", resource=resource, json_body=changes)
        if not response.is_success:
            raise self._error_for_record(response, resource, id, "update")

    def delete(self, resource: str, id: int) -> None:
        """Delete (SSM marks the record deleted). Deleting an already-deleted record succeeds."""
        resource = _checked_resource(resource)
        response = self._send("DELETE", f"{resource}/{int(id)}", resource=resource)
        if response.is_success:
            return
        if response.status_code in (400, 404):
            # Our own earlier attempt may have landed before its answer was lost.
            try:
                if _is_deleted(self.get(resource, id)):
                    return
            except SSMNotFoundError:
                pass
        raise self._error_for_record(response, resource, id, "delete")

    # ----------------------------------------------------------------- bulk writes

    def bulk_create(
        self, resource: str, items: Sequence[dict], *, check_existing: bool = False
    ) -> list[BulkResult]:
        """Create many records through ``POST /{r}/bulk``, batched to the limit.

        Never raises for rejected items: each gets a :class:`BulkResult`. Items of a batch
        whose answer was lost are looked up by extId; those found are reported ok with their
        id, only the others are sent again. ``check_existing=True`` looks every item up first.
        Raises only :class:`SSMAuthError` / :class:`SSMConfigurationError` (nothing can work).
        """
        resource = _checked_resource(resource)
        results: list[BulkResult | None] = [None] * len(items)
        size = self.batch_size(resource, "create")
        for start in range(0, len(items), size):
            indexes = list(range(start, min(start + size, len(items))))
            if check_existing:
                try:
                    indexes = self._settle_by_ext_id(
                        resource, items, indexes, results, "already in SSM"
                    )
                except (SSMUnavailableError, SSMRateLimitError) as exc:
                    self._mark_not_sent(items, range(start, len(items)), results, exc.message)
                    break
            stopped = self._bulk_create_batch(resource, items, indexes, results)
            if stopped is not None:
                self._mark_not_sent(items, range(start + size, len(items)), results, stopped)
                break
        return _completed(results)

    def bulk_update(self, resource: str, items: Sequence[tuple[int, dict]]) -> list[BulkResult]:
        """Partial updates through ``PUT /{r}/bulk``, batched; retried directly (idempotent)."""
        resource = _checked_resource(resource)
        entries = [
            ({"id": int(record_id), "data": data}, _ext_id(data)) for record_id, data in items
        ]
        return self._bulk_idempotent("PUT", resource, entries, self.batch_size(resource, "update"))

    def bulk_delete(self, resource: str, ids: Sequence[int]) -> list[BulkResult]:
        """Deletes through ``DELETE /{r}/bulk``, batched; an already-deleted record counts as ok."""
        resource = _checked_resource(resource)
        entries: list[tuple[dict, str | None]] = [({"id": int(i)}, None) for i in ids]
        return self._bulk_idempotent(
            "DELETE", resource, entries, self.batch_size(resource, "delete")
        )

    def _bulk_create_batch(
        self,
        resource: str,
        items: Sequence[dict],
        indexes: list[int],
        results: list[BulkResult | None],
    ) -> str | None:
        """Send one batch until every item is settled; the reason if SSM became unusable."""
        pending = indexes
        maybe_sent = False
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            if not pending:
                return None
            wait = 0.0
            guids = {index: uuid.uuid4().hex for index in pending}
            body = [{"guid": guids[i], "data": items[i]} for i in pending]
            try:
                response = self._send(
                    "POST", f"{resource}/bulk", resource=resource, json_body=body, ambiguous=False
                )
            except _AmbiguousFailure as failure:
                problem, unsettled, wait = failure.problem, pending, failure.retry_after
            except (SSMUnavailableError, SSMRateLimitError) as exc:
                code = OUTCOME_UNKNOWN if maybe_sent else NOT_SENT
                self._mark(items, pending, results, code, exc.message, guids)
                return exc.message
            else:
                if not response.is_success:
                    error = self._error_for(response, resource, "bulk-create records in")
                    for i in pending:
                        results[i] = BulkResult(
                            i, guids[i], False, None, error.code, error.message, _ext_id(items[i])
                        )
                    return None
                answers = _bulk_answers(response, resource)
                unsettled = []
                for i in pending:
                    answer = answers.get(guids[i])
                    if answer is None:
                        unsettled.append(i)
                    else:
                        results[i] = _bulk_result(i, guids[i], answer, _ext_id(items[i]))
                problem = f"SSM's answer left out {len(unsettled)} of {len(pending)} items"
            if not unsettled:
                return None
            maybe_sent = True
            no_ext_id = [i for i in unsettled if _ext_id(items[i]) is None]
            self._mark(
                items,
                no_ext_id,
                results,
                OUTCOME_UNKNOWN,
                f"outcome unknown ({problem}) and no extId to check it: look for it in SSM",
                guids,
            )
            pending = [i for i in unsettled if _ext_id(items[i]) is not None]
            if not pending:
                return None  # nothing left to look up or resend: no backoff to wait
            # Even after the last send, look: the items may have landed.
            log.warning(
                "SSM bulk create in %s: %s; checking %d by extId", resource, problem, len(pending)
            )
            self._sleep(max(self._backoff(attempt), wait))
            try:
                pending = self._settle_by_ext_id(
                    resource, items, pending, results, "found by extId after an unanswered create"
                )
            except (SSMUnavailableError, SSMRateLimitError) as exc:
                problem = exc.message  # the look-up gave up (counted where it did)
                break
        else:
            if pending:  # every attempt spent, some items still unsettled
                self._giving_up(SSMUnavailableError(problem, resource=resource))
        if not pending:
            return None
        message = (
            f"outcome unknown after {self.max_attempts} attempts ({problem}) and not found by "
            "extId; send it again with check_existing=True"
        )
        self._mark(items, pending, results, OUTCOME_UNKNOWN, message, {})
        return message

    def _settle_by_ext_id(
        self,
        resource: str,
        items: Sequence[dict],
        indexes: list[int],
        results: list[BulkResult | None],
        how: str,
    ) -> list[int]:
        """Report items whose extId already has a live record; return the ones still to send."""
        ids = self._live_ids_by_ext_id(resource, [e for i in indexes if (e := _ext_id(items[i]))])
        remaining = []
        for i in indexes:
            ext_id = _ext_id(items[i])
            if ext_id is not None and ext_id in ids:
                results[i] = BulkResult(i, "", True, ids[ext_id], None, how, ext_id)
            else:
                remaining.append(i)
        return remaining

    def _bulk_idempotent(
        self, method: str, resource: str, entries: list[tuple[dict, str | None]], size: int
    ) -> list[BulkResult]:
        """Bulk PUT/DELETE: resend whatever is unanswered, since applying twice is harmless."""
        results: list[BulkResult | None] = [None] * len(entries)
        action = "bulk-update records in" if method == "PUT" else "bulk-delete records in"
        for start in range(0, len(entries), size):
            pending = list(range(start, min(start + size, len(entries))))
            stopped: str | None = None
            for attempt in range(1, self.max_attempts + 1):
                guids = {i: uuid.uuid4().hex for i in pending}
                body = [{"guid": guids[i], **entries[i][0]} for i in pending]
                try:
                    response = self._send(
                        method, f"{resource}/bulk", resource=resource, json_body=body
                    )
                except (SSMUnavailableError, SSMRateLimitError) as exc:
                    # Throttled on the first try: nothing of this batch reached SSM.
                    first_refusal = isinstance(exc, SSMRateLimitError) and attempt == 1
                    code = NOT_SENT if first_refusal else OUTCOME_UNKNOWN
                    for i in pending:
                        results[i] = BulkResult(
                            i, guids[i], False, None, code, exc.message, entries[i][1]
                        )
                    stopped = exc.message
                    break
                if not response.is_success:
                    error = self._error_for(response, resource, action)
                    for i in pending:
                        results[i] = BulkResult(
                            i,
                            guids[i],
                            False,
                            entries[i][0]["id"],
                            error.code,
                            error.message,
                            entries[i][1],
                        )
                    break
                answers = _bulk_answers(response, resource)
                unanswered = []
                for i in pending:
                    answer = answers.get(guids[i])
                    if answer is None:
                        unanswered.append(i)
                        continue
                    result = _bulk_result(i, guids[i], answer, entries[i][1])
                    results[i] = _with_id(result, entries[i][0]["id"])
                pending = unanswered
                if not pending:
                    break
                if attempt < self.max_attempts:
                    self._sleep(self._backoff(attempt))
            for i in pending:
                if results[i] is None:
                    results[i] = BulkResult(
                        i, "", False, entries[i][0]["id"], OUTCOME_UNKNOWN,
                        "SSM never answered for this item; send it again", entries[i][1],
                    )  # fmt: skip
            if method == "DELETE":
                self._accept_already_deleted(
                    resource, range(start, min(start + size, len(entries))), results
                )
            if stopped is not None:
                for i in range(start + size, len(entries)):
                    results[i] = BulkResult(
                        i,
                        "",
                        False,
                        entries[i][0]["id"],
                        NOT_SENT,
                        f"not sent: {stopped}",
                        entries[i][1],
                    )
                break
        return _completed(results)

    def _accept_already_deleted(
        self, resource: str, indexes: range, results: list[BulkResult | None]
    ) -> None:
        """A failed delete of a record SSM already shows as deleted is a success."""
        failed = [
            r for i in indexes if (r := results[i]) is not None and not r.ok and r.id is not None
        ]
        if not failed:
            return
        try:
            deleted = {
                _as_int(row.get("id"))
                for chunk in _chunks(sorted({r.id for r in failed}), _LOOKUP_CHUNK)
                for row in self.list(resource, where=w.in_("id", chunk))
                if _is_deleted(row)
            }
        except (SSMUnavailableError, SSMRateLimitError, SSMValidationError):
            return  # keep the original failures; the next run retries them
        for result in failed:
            if result.id in deleted:
                results[result.index] = BulkResult(
                    result.index, result.guid, True, result.id, result.code,
                    "already deleted in SSM", result.ext_id,
                )  # fmt: skip

    def _live_ids_by_ext_id(self, resource: str, ext_ids: Sequence[str]) -> dict[str, int]:
        """extId -> id of its live record (lowest id if SSM holds duplicates)."""
        found: dict[str, int] = {}
        wanted = set(ext_ids)
        for chunk in _chunks(sorted(wanted), _LOOKUP_CHUNK):
            for row in self.list(resource, where=w.in_("extId", chunk)):
                ext_id, record_id = row.get("extId"), _as_int(row.get("id"))
                if ext_id in wanted and record_id is not None and not _is_deleted(row):
                    found[ext_id] = min(record_id, found.get(ext_id, record_id))
        return found

    def _mark(
        self,
        items: Sequence[dict],
        indexes: Sequence[int],
        results: list[BulkResult | None],
        code: int,
        message: str,
        guids: dict[int, str],
    ) -> None:
        for i in indexes:
            results[i] = BulkResult(
                i, guids.get(i, ""), False, None, code, message, _ext_id(items[i])
            )

    def _mark_not_sent(
        self, items: Sequence[dict], indexes: range, results: list[BulkResult | None], reason: str
    ) -> None:
        self._mark(items, list(indexes), results, NOT_SENT, f"not sent: {reason}", {})

    # ----------------------------------------------------------------- transport

    def _fetch_page(
        self, resource: str, page: int, where: str | None, order: str | None
    ) -> tuple[list[dict], int | None]:
        """One page's rows, and the page size SSM says it applied (``Count`` header) if any."""
        params: dict[str, str | int] = {"page": page}
        if where:
            params["where"] = where
        if order:
            params["order"] = order
        # The page-size header's name is UNCONFIRMED (Count vs X-FM-Entity-Count): send both.
        headers = {"Count": str(self.page_size), "X-FM-Entity-Count": str(self.page_size)}
        response = self._send("GET", resource, resource=resource, params=params, headers=headers)
        if not response.is_success:
            raise self._error_for(response, resource, "list")
        rows = _json(response, resource)
        if not isinstance(rows, list):
            raise SSMError(
                f"SSM answered the {resource} list with something other than an array.",
                status=response.status_code,
                resource=resource,
            )
        echoed = response.headers.get("Count", "").strip()
        return rows, (int(echoed) if echoed.isdigit() and int(echoed) > 0 else None)

    def _send(
        self,
        method: str,
        path: str,
        *,
        resource: str,
        params: dict[str, str | int] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        ambiguous: bool = True,
    ) -> httpx.Response:
        """Send one logical request; return SSM's answer unless it is worth retrying.

        ``ambiguous=False`` (creates): a failure after which SSM may have applied the request
        raises :class:`_AmbiguousFailure` instead of being retried here. Returns 2xx and
        non-retryable 4xx answers; raises SSMAuthError, SSMRateLimitError, SSMUnavailableError.
        """
        relogged = False
        attempt = 0
        while True:
            attempt += 1
            token = self._session_token()
            request_headers = {"X-Session-Key": token, **(headers or {})}
            problem: str
            retry_after = 0.0
            try:
                response = self._transmit(method, path, params, json_body, request_headers)
            except httpx.UnsupportedProtocol as exc:
                raise SSMConfigurationError(f"SSM_BASE_URL is not usable: {exc}") from None
            except _NOT_SENT_ERRORS as exc:
                problem, maybe_applied = _describe(exc), False
            except httpx.TransportError as exc:
                problem, maybe_applied = _describe(exc), True
            else:
                status = response.status_code
                if status == 401:
                    if relogged:
                        raise SSMAuthError(
                            f"SSM refused {method} {path} with 401 Unauthorized even with a fresh "
                            "session: check that SSM_PUBLIC_KEY/SSM_PRIVATE_KEY belong to an "
                            "administrator and the plan includes API access (Starter or above).",
                            status=401,
                            resource=resource,
                        )
                    relogged = True
                    attempt -= 1  # a re-login is not a failed attempt
                    self._forget_token(token)
                    continue
                if status == 429:
                    if attempt >= self.max_attempts:
                        raise self._giving_up(self._rate_limit_error(resource))
                    delay = self._retry_after(response, attempt)
                    log.warning("SSM answered 429 to %s %s; waiting %.1fs", method, path, delay)
                    self._pacer.hold(delay)  # everyone sharing this client waits, not just us
                    continue
                if status != 408 and status < 500:
                    return response
                problem, maybe_applied = f"HTTP {status} {_error_info(response).message}", True
                # A 503/408 may say when to come back: wait at least that long.
                retry_after = self._retry_after_seconds(response) or 0.0
            if maybe_applied and not ambiguous:
                raise _AmbiguousFailure(problem, retry_after)
            if attempt >= self.max_attempts:
                raise self._giving_up(
                    SSMUnavailableError(
                        f"SSM did not answer {method} {path} after {self.max_attempts} attempts "
                        f"(last: {problem}). Check {self.base_url} is reachable and SSM's "
                        "status, or raise the SSM resource's timeout_seconds if answers are "
                        "just slow.",
                        resource=resource,
                    )
                )
            delay = max(self._backoff(attempt), retry_after)
            log.warning(
                "SSM %s %s failed (%s); retry %d in %.1fs", method, path, problem, attempt, delay
            )
            self._sleep(delay)

    def _transmit(
        self,
        method: str,
        path: str,
        params: dict[str, str | int] | None,
        json_body: Any,
        headers: dict[str, str],
    ) -> httpx.Response:
        self._pacer.acquire()
        with self._count_lock:
            self._api_calls += 1
            if method in _WRITE_METHODS and path != _LOGIN_PATH:
                self._write_calls += 1
        return self._http.request(method, path, params=params, json=json_body, headers=headers)

    def _session_token(self) -> str:
        with self._auth_lock:
            expired = self._clock() - self._token_obtained_at >= self._token_refresh_seconds
            if self._token is None or expired:
                self._token = self._login()
                self._token_obtained_at = self._clock()
            return self._token

    def _forget_token(self, token: str) -> None:
        with self._auth_lock:
            if self._token == token:  # another thread may already have logged in again
                self._token = None

    def _login(self) -> str:
        """POST /login; retried like any safe request (logging in twice is harmless)."""
        body = {"username": self._keys.public, "password": self._keys.private}
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            retry_after = 0.0
            try:
                response = self._transmit("POST", _LOGIN_PATH, None, body, {})
            except httpx.UnsupportedProtocol as exc:
                raise SSMConfigurationError(f"SSM_BASE_URL is not usable: {exc}") from None
            except httpx.TransportError as exc:
                problem = _describe(exc)
            else:
                status = response.status_code
                if response.is_success:
                    token = _json_or_none(response, "token")
                    if isinstance(token, str) and token:
                        return token
                    raise SSMAuthError(
                        "SSM accepted the login but sent no session token: check SSM_BASE_URL "
                        f"points at the API v4 root (now {self.base_url}).",
                        status=status,
                    )
                if status == 429:
                    if attempt == self.max_attempts:
                        raise self._giving_up(self._rate_limit_error(None))
                    self._pacer.hold(self._retry_after(response, attempt))
                    continue
                if status in (400, 401, 403, 404):
                    raise SSMAuthError(
                        f"SSM refused to log in (HTTP {status}): check SSM_PUBLIC_KEY and "
                        "SSM_PRIVATE_KEY (SSM web app > Settings > Integrations > API key; the "
                        f"plan must include API access) and that SSM_BASE_URL ({self.base_url}) "
                        "is the API v4 root.",
                        status=status,
                    )
                problem = f"HTTP {status}"
                retry_after = self._retry_after_seconds(response) or 0.0
            if attempt < self.max_attempts:
                self._sleep(max(self._backoff(attempt), retry_after))
        raise self._giving_up(
            SSMUnavailableError(
                f"Could not log in to SSM at {self.base_url} after {self.max_attempts} attempts "
                f"(last: {problem}). Check the address is reachable and SSM's status.",
            )
        )

    def _rate_limit_error(self, resource: str | None) -> SSMRateLimitError:
        return SSMRateLimitError(
            f"SSM still answered 429 Too Many Requests after {self.max_attempts} attempts, with "
            f"this client paced at {self.requests_per_second:g} requests/s. SSM plans allow 4 or "
            "13 requests/s per API key, shared by every program using the key: set "
            "requests_per_second (env SSM_REQUESTS_PER_SECOND) to your plan's rate, stop other "
            "programs using the same keys, or upgrade the plan and raise SSM_REQUESTS_PER_SECOND "
            "to 13.",
            status=429,
            resource=resource,
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half fixed, half random, so retries spread out."""
        ceiling = min(self._max_backoff_seconds, self._backoff_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        """Seconds SSM asked us to wait (Retry-After), else backoff."""
        seconds = self._retry_after_seconds(response)
        return self._backoff(attempt) if seconds is None else seconds

    @staticmethod
    def _retry_after_seconds(response: httpx.Response) -> float | None:
        """Retry-After as seconds or an HTTP date, capped at 5 minutes; None if absent or bad."""
        value = response.headers.get("Retry-After")
        seconds: float | None = None
        if value:
            try:
                seconds = float(value)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                    seconds = (when - datetime.now(UTC)).total_seconds()
                except (TypeError, ValueError):
                    seconds = None
        if seconds is None or not seconds >= 0:  # also refuses NaN
            return None
        return min(seconds, _MAX_RETRY_AFTER_SECONDS)

    # ----------------------------------------------------------------- errors

    def _error_for(self, response: httpx.Response, resource: str, action: str) -> SSMError:
        info = _error_info(response)
        status = response.status_code
        detail = f"{info.message} (HTTP {status}"
        detail += f", code {info.code}" if info.code is not None else ""
        detail += f", field {info.field!r})" if info.field else ")"
        if status in (401, 403):
            return SSMAuthError(
                f"SSM refused to {action} {resource}: {detail}. Check the API user's permissions "
                "(SSM_PUBLIC_KEY/SSM_PRIVATE_KEY).",
                status=status, code=info.code, field=info.field, resource=resource,
            )  # fmt: skip
        if status == 404 or info.code == 910:
            return SSMNotFoundError(
                f"SSM does not know {resource}: {detail}. Check the resource name.",
                status=status, code=info.code, field=info.field, resource=resource,
            )  # fmt: skip
        if 400 <= status < 500:
            hint = (
                "the where filter is not valid for SSM; build it with resources.ssm.where"
                if info.code == 901
                else "fix the data (it goes to the dead letters and is retried on later runs)"
            )
            return SSMValidationError(
                f"SSM refused to {action} {resource}: {detail}; {hint}.",
                status=status, code=info.code, field=info.field, resource=resource,
            )  # fmt: skip
        return SSMError(
            f"SSM answered an unexpected HTTP {status} to {action} {resource}: {detail}.",
            status=status, code=info.code, field=info.field, resource=resource,
        )  # fmt: skip

    def _error_for_record(
        self, response: httpx.Response, resource: str, record_id: int, action: str
    ) -> SSMError:
        """Tell an unknown id apart from a bad request: SSM answers both with 400."""
        info = _error_info(response)
        status = response.status_code
        if info.code == 910:  # the resource (entity type) itself is unknown
            return self._error_for(response, resource, action)
        unknown = status == 404
        if status == 400:
            try:
                unknown = not any(
                    True for _ in self._fetch_page(resource, 0, w.eq("id", int(record_id)), None)[0]
                )
            except SSMValidationError:
                # This tenant cannot filter on id: fall back on SSM's generic wording.
                unknown = info.message.strip().lower() == "bad request"
        if unknown:
            return SSMNotFoundError(
                f"SSM has no {resource} record with id {record_id} (asked to {action} it). "
                "It may have been removed in SSM: drop it from the sync ledger so it is recreated.",
                status=status, code=info.code, resource=resource,
            )  # fmt: skip
        return self._error_for(response, resource, f"{action} record {record_id} of")


# --------------------------------------------------------------------- helpers


def read_again(read: Callable[P, T]) -> Callable[P, T]:
    """`read`, tried once more when the client gave up on it: a fresh set of retries. Under a
    flaky API a request out of retries is a fluke (6 failures in a row) that the second try
    almost always gets past; when SSM is down, it raises after the second try as before. Only
    for reads: they are safe to repeat, and nothing of them is half done."""
    retrying = tenacity.retry(
        retry=tenacity.retry_if_exception_type(GAVE_UP),
        stop=tenacity.stop_after_attempt(2),
        reraise=True,
    )
    return retrying(read)


def _checked_base_url(base_url: str) -> str:
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise SSMConfigurationError(f"SSM_BASE_URL is not a URL: {exc}") from None
    host = (url.host or "").strip("[]").lower()
    if not host or url.scheme not in ("https", "http"):
        raise SSMConfigurationError(
            "SSM_BASE_URL must be an https:// address such as https://api.forcemanager.com/api/v4."
        )
    if url.scheme == "http" and host not in LOCAL_HOSTS:
        raise SSMConfigurationError(
            f"SSM_BASE_URL uses plain http to {host}: the API keys and session token would cross "
            "the network unencrypted. Use https:// (https://api.forcemanager.com/api/v4); plain "
            "http is allowed only to localhost, 127.0.0.1 or ::1 (the sandbox)."
        )
    if url.userinfo:
        raise SSMConfigurationError(
            "SSM_BASE_URL must not contain credentials; use SSM_PUBLIC_KEY/SSM_PRIVATE_KEY."
        )
    return str(url.copy_with(query=None, fragment=None)).rstrip("/")


def _checked_resource(resource: str) -> str:
    if not isinstance(resource, str) or not _RESOURCE.fullmatch(resource):
        raise ValueError(f"not an SSM resource path: {resource!r}")
    return resource


def _describe(exc: Exception) -> str:
    # httpx messages name the URL at most, never headers or bodies.
    if isinstance(exc, httpx.TimeoutException):
        return f"{type(exc).__name__}: no answer within the timeout"
    return f"{type(exc).__name__}: {exc}"


def _json(response: httpx.Response, resource: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise SSMError(
            f"SSM answered {resource} with HTTP {response.status_code} but a body that is not "
            "JSON: check SSM_BASE_URL points at the API v4 root.",
            status=response.status_code,
            resource=resource,
        ) from None


def _json_or_none(response: httpx.Response, key: str) -> Any:
    """``key`` of a JSON object answer, read case-insensitively (SSM mixes id/Id, message/Message)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for name, value in body.items():
        if name.lower() == key:
            return value
    return None


def _error_info(response: httpx.Response) -> _ErrorInfo:
    """SSM's error bodies vary ({message}, {Message}, {statusCode, message, error}, {code})."""
    message = _json_or_none(response, "message") or _json_or_none(response, "error")
    if not isinstance(message, str) or not message:
        message = response.reason_phrase or f"HTTP {response.status_code}"
        text = response.text.strip()
        # A short plain-text body is SSM's message; HTML error pages are not worth quoting.
        if text and len(text) < 200 and "<" not in text and not text.startswith("{"):
            message = text
    field = _json_or_none(response, "field")
    return _ErrorInfo(
        message=message[:500],
        code=_as_int(_json_or_none(response, "code")),
        field=field if isinstance(field, str) and field else None,
    )


def _bulk_answers(response: httpx.Response, resource: str) -> dict[str, dict]:
    body = _json(response, resource)
    if not isinstance(body, list):
        raise SSMError(
            f"SSM answered a {resource} bulk request with something other than an array.",
            status=response.status_code,
            resource=resource,
        )
    answers: dict[str, dict] = {}
    for entry in body:
        if isinstance(entry, dict):
            normalised = {str(k).lower(): v for k, v in entry.items()}
            if isinstance(normalised.get("guid"), str):
                answers[normalised["guid"]] = normalised
    return answers


def _bulk_result(index: int, guid: str, answer: dict, ext_id: str | None) -> BulkResult:
    code = _as_int(answer.get("code"))
    message = answer.get("message")
    return BulkResult(
        index=index,
        guid=guid,
        ok=code == 1,
        id=_as_int(answer.get("id")),
        code=code,
        message=message if isinstance(message, str) else "",
        ext_id=ext_id,
    )


def _with_id(result: BulkResult, record_id: int) -> BulkResult:
    """Bulk update/delete answers may omit the id: we know which record each item was."""
    if result.id is not None:
        return result
    return BulkResult(
        result.index, result.guid, result.ok, record_id, result.code, result.message, result.ext_id
    )


def _completed(results: list[BulkResult | None]) -> list[BulkResult]:
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:  # every path above settles every item; this guards against a silent gap
        raise AssertionError(f"bulk items left without a result: {missing[:10]}")
    return [r for r in results if r is not None]


def newest_change(rows: Iterable[Mapping[str, Any]]) -> datetime | None:
    """The latest ``dateUpdated``/``dateCreated``/``dateDeleted`` of ``rows`` (UTC), or None
    when no row has a readable one: the watermark a change-feed reader stores after handling
    the rows. Dates without a zone are UTC, as SSM writes them."""
    changes = [moment for row in rows if (moment := _last_change(row)) is not None]
    return max(changes, default=None)


def parse_ssm_datetime(value: Any) -> datetime | None:
    """An SSM date (``2021-12-16T14:05:53.027Z``, ``2018-10-10 00:00:00``...) as an aware UTC
    datetime; None when unset or unreadable (a feed must not fail on one odd value)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _last_change(row: Mapping[str, Any]) -> datetime | None:
    moments = [m for name in AUDIT_DATES if (m := parse_ssm_datetime(row.get(name))) is not None]
    return max(moments, default=None)


def _ext_id(data: dict) -> str | None:
    value = data.get("extId")
    return value if isinstance(value, str) and value else None


def _is_deleted(row: dict) -> bool:
    return row.get("deleted") in (True, 1, "1", "true", "True")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, dict):  # foreign keys are read back as {"id", "value"}
        return _as_int(value.get("id"))
    return None


def _chunks(values: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])
