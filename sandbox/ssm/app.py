"""The sandbox as an ASGI application: the API v4 routes, the control routes and the HTML page.

`SandboxGate` is the outer ASGI layer: for API calls it counts the request, applies the rate
limit and injects faults, then hands the call to the Starlette app. Control routes
(`/sandbox/...`) and the page (`/`) pass straight through: never limited, never faulted.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.ssm.catalogue import (
    RESOURCES,
    Field,
    Resource,
    resource_named,
)
from sandbox.ssm.faults import (
    FaultInjector,
    FaultSettings,
    FaultSettingsError,
    RequestStats,
    TokenBucket,
    retry_after_header,
)
from sandbox.ssm.page import RepPages
from sandbox.ssm.seed import DEFAULT_REPS, SeedOptions
from sandbox.ssm.store import Store, UnknownRecord, WriteRefused
from sandbox.ssm.where import (
    CompiledWhere,
    FieldRef,
    WhereError,
    field_refs,
    parse_date_literal,
    parse_where,
)

API_PREFIX = "/api/v4"
DEFAULT_PUBLIC_KEY = "sandbox-public"
DEFAULT_PRIVATE_KEY = "sandbox-private"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# SSM bodies are shallow (bulk array > item > data > a value list); real ones never come close.
MAX_JSON_DEPTH = 32
# How long a request's body may take to arrive once the app reads it (then 408 and close).
DEFAULT_READ_TIMEOUT = 5.0
# A path id, page or page size: ASCII digits only. int() would also take "+1", "1_0", " 1" and
# other scripts' digits ("１"); ten digits already pass int32.
_PLAIN_NUMBER = re.compile(r"[0-9]{1,10}")
BULK_MESSAGES = {
    "POST": "Entity create success",
    "PUT": "Entity update success",
    "DELETE": "Entity delete success",
}
BULK_VERBS = {"POST": "create", "PUT": "update", "DELETE": "delete"}
BULK_FAILURE_CODE = 400

# Audit fields are readable and filterable, though not writable.
_SERVER_FIELD_SPECS = {
    "id": Field("id", "int"),
    "dateCreated": Field("dateCreated", "datetime"),
    "dateUpdated": Field("dateUpdated", "datetime"),
    "dateDeleted": Field("dateDeleted", "datetime"),
    "deleted": Field("deleted", "bool"),
    "salesRepIdCreated": Field("salesRepIdCreated", "int"),
    "salesRepIdUpdated": Field("salesRepIdUpdated", "int"),
    "salesRepIdDeleted": Field("salesRepIdDeleted", "int"),
}


@dataclass
class SandboxConfig:
    db_path: Path
    public_key: str = DEFAULT_PUBLIC_KEY
    private_key: str = DEFAULT_PRIVATE_KEY
    token_ttl: float = 3600.0
    rate: float = 4.0
    burst: float | None = None
    reps: tuple[str, ...] = DEFAULT_REPS
    faults: FaultSettings = field(default_factory=FaultSettings)
    default_page_size: int = DEFAULT_PAGE_SIZE
    max_page_size: int = MAX_PAGE_SIZE
    read_timeout: float = DEFAULT_READ_TIMEOUT


class Sandbox:
    """The state shared by the routes: store, rate limit, faults, counters."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store(config.db_path, SeedOptions(reps=config.reps))
        self.bucket = TokenBucket(config.rate, config.burst)
        self.faults = FaultInjector(config.faults)
        self.stats = RequestStats()


# --- answers ---------------------------------------------------------------------------------


def error(
    status: int,
    message: str,
    code: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"statusCode": status}
    if code is not None:
        body["code"] = code
    body["message"] = message
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers)


def bad_request() -> JSONResponse:
    """The API's answer to an unknown id."""
    return JSONResponse({"statusCode": 400, "message": "Bad Request"}, status_code=400)


def unauthorised() -> JSONResponse:
    return JSONResponse({"statusCode": 401, "message": "Unauthorized"}, status_code=401)


def refused(exc: WriteRefused) -> JSONResponse:
    extra = {"field": exc.field} if exc.field else {}
    return error(exc.status, str(exc), code=exc.status, **extra)


def where_error(message: str) -> JSONResponse:
    return error(400, message, code=901)


def plain_number(text: str) -> int | None:
    """The value of a path id, `page` or page-size header, or None unless plain ASCII digits."""
    return int(text) if _PLAIN_NUMBER.fullmatch(text) else None


def record_id_in(segment: str) -> int | None:
    """A record id in a path: a positive plain number (the OpenAPI's integer `id`)."""
    return plain_number(segment) or None


class BodyReadTimeout(Exception):
    """The request's body did not arrive within the read timeout (answered 408, then closed)."""


def read_within(receive: Receive, seconds: float) -> Receive:
    """`receive` bounded by a deadline that starts when the app first reads the body: a body
    shorter than its Content-Length would otherwise hold the request open for ever."""
    deadline: float | None = None

    async def receive_in_time() -> Message:
        nonlocal deadline
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + seconds
        try:
            async with asyncio.timeout_at(deadline):
                return await receive()
        except TimeoutError:
            raise BodyReadTimeout from None

    return receive_in_time


async def request_timeout(request: Request, exc: Exception) -> Response:
    # The rest of the body may still come: close the connection rather than read it as a request.
    return error(408, "Request Timeout", headers={"Connection": "close"})


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise WriteRefused("the request has no JSON body")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WriteRefused(f"the body is not valid JSON: {exc}") from exc
    except RecursionError:
        # json's parser recurses per `[`/`{`: 100,000 of them would otherwise be a 500.
        raise WriteRefused(f"the body is nested more than {MAX_JSON_DEPTH} levels deep") from None
    _check_body(body)
    return body


def _check_body(body: Any) -> None:
    """Refuse, before anything is stored, what could not be answered back afterwards.

    A value nested just under the parser's recursion limit could fail when rendered (deeper in
    the stack); a lone surrogate (JSON `"\\ud800"`, which json accepts) cannot be encoded as
    UTF-8. Either stored would make every later read of the record a 500.
    """
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(body, 1, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            _refuse_invalid_unicode(item, path)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise WriteRefused(f"the body is nested more than {MAX_JSON_DEPTH} levels deep")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    _refuse_invalid_unicode(key, (*path, key), is_name=True)
                stack.append((child, depth + 1, (*path, key)))


def _refuse_invalid_unicode(text: str, path: tuple[str | int, ...], is_name: bool = False) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = printable(text[exc.start])
        field, where = _field_at(path)
        subject = f"field {'name ' if is_name else ''}'{field}'{where}" if field else "the body"
        raise WriteRefused(
            f"{subject} is not valid Unicode: it holds a lone surrogate ({bad})",
            field=field,
        ) from None


def _field_at(path: tuple[str | int, ...]) -> tuple[str | None, str]:
    """The record field a body path is under, and where: `("name", " of bulk item 2")`."""
    where = ""
    if path and isinstance(path[0], int):
        where = f" of bulk item {path[0]}"
        path = path[2:] if path[1:2] == ("data",) and len(path) > 2 else path[1:]
    if path and isinstance(path[0], str):
        return printable(path[0]), where
    return None, where


def printable(text: str) -> str:
    """Text made safe to answer in an error message: a lone surrogate becomes `\\ud800`."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _refuse_constant(name: str) -> float:
    # NaN and Infinity are not JSON; Python would accept them and then fail writing the answer.
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


# --- lists: where, order, paging -------------------------------------------------------------


def _field_spec(resource: Resource, ref_name: str) -> tuple[str, Field]:
    if ref_name[:2].lower() == "z_" and resource.custom_fields:
        return "Z_" + ref_name[2:], Field(ref_name, "any")
    canonical = resource.canonical_field(ref_name)
    if canonical is None:
        raise WhereError(f"unknown field '{ref_name}' for {resource.name}")
    spec = _SERVER_FIELD_SPECS.get(canonical) or resource.field_named(canonical)
    assert spec is not None
    return canonical, spec


def compile_where(sandbox: Sandbox, resource: Resource, source: str) -> CompiledWhere | None:
    condition = parse_where(source)
    if condition is None:
        return None
    bound: dict[FieldRef, tuple[str, Field, str | None]] = {}
    for ref in field_refs(condition):
        canonical, spec = _field_spec(resource, ref.name)
        sub = ref.sub.lower() if ref.sub else None
        if sub is not None and (spec.kind not in ("fk", "enum") or sub not in ("id", "value")):
            raise WhereError(f"field '{ref.name}' has no '.{ref.sub}'")
        bound[ref] = (canonical, spec, sub)
    store = sandbox.store

    def resolve(record: dict[str, Any], ref: FieldRef) -> Any:
        canonical, spec, sub = bound[ref]
        value = record.get(canonical)
        if sub == "value" and value is not None:
            rendered = store.render_value(spec, value)
            return rendered.get(spec.label_key) if isinstance(rendered, dict) else None
        return value  # a foreign key (plain or `.id`) compares by its id

    def prepare(ref: FieldRef, literal: Any, op: str) -> Any:
        canonical, spec, _ = bound[ref]
        if spec.kind != "datetime" or op == "LIKE" or literal is None:
            return literal
        # A date compares as an instant, whatever form the client wrote it in (the real
        # API's date-literal syntax is UNCONFIRMED); anything else is bad SQL, as in SSM.
        moment = parse_date_literal(literal) if isinstance(literal, str) else None
        if moment is None:
            raise WhereError(
                f"cannot read {printable(str(literal))[:60]!r} as a date for field "
                f"'{canonical}' (write it like '2026-12-03T10:00:00')"
            )
        return moment

    return CompiledWhere(condition, resolve, prepare)


def _sort_key(value: Any) -> tuple[Any, ...]:
    if value is None:
        return (0,)
    if isinstance(value, bool | int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value.casefold())
    return (3, json.dumps(value, sort_keys=True))


def order_records(
    resource: Resource, records: list[dict[str, Any]], order: str
) -> list[dict[str, Any]]:
    """`order=field` sorts descending (the vendor's documented behaviour); `asc`/`desc` may
    follow a field, and several comma-separated terms are applied left to right."""
    terms: list[tuple[str, bool]] = []
    for term in order.split(","):
        words = term.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise WhereError(f"cannot read order term '{term.strip()}'")
        canonical, _ = _field_spec(resource, words[0])
        descending = len(words) == 1 or words[1].lower() == "desc"
        terms.append((canonical, descending))
    ordered = sorted(records, key=lambda r: r["id"])
    for canonical, descending in reversed(terms):
        ordered.sort(key=lambda r, f=canonical: _sort_key(r.get(f)), reverse=descending)
    return ordered


def _page_size(request: Request, config: SandboxConfig) -> int:
    raw = request.headers.get("count") or request.headers.get("x-fm-entity-count")
    if raw is None:
        return min(config.default_page_size, config.max_page_size)
    size = plain_number(raw.strip())
    if size is None:
        raise WriteRefused(f"page size header must be a whole number, got {raw[:40]!r}")
    if size < 1:
        raise WriteRefused("page size header must be at least 1")
    return min(size, config.max_page_size)


# --- the API ---------------------------------------------------------------------------------


def _same_key(given: Any, expected: str) -> bool:
    """A login key compared in constant time as UTF-8 bytes: compare_digest refuses non-ASCII
    text (a TypeError, once a 500), and a wrong key of any kind is just a failed login."""
    if not isinstance(given, str):
        return False
    encoded = given.encode("utf-8", "surrogatepass")
    return secrets.compare_digest(encoded, expected.encode("utf-8", "surrogatepass"))


class Api:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def login(self, request: Request) -> Response:
        try:
            body = await json_body(request)
        except WriteRefused:
            return unauthorised()
        if not isinstance(body, dict):
            return unauthorised()
        username = body.get("username", body.get("publicKey"))
        password = body.get("password", body.get("privateKey"))
        config = self.sandbox.config
        if not (_same_key(username, config.public_key) and _same_key(password, config.private_key)):
            return unauthorised()
        token = secrets.token_urlsafe(32)
        self.sandbox.store.add_session(token, time.time() + config.token_ttl)
        return JSONResponse({"token": token})

    async def dispatch(self, request: Request) -> Response:
        segments = [s for s in request.path_params["rest"].split("/") if s]
        method = request.method
        if segments and segments[0].lower() == "login" and len(segments) == 1:
            if method != "POST":
                return error(405, "Method Not Allowed")
            return await self.login(request)
        token = request.headers.get("x-session-key", "")
        if not token or not self.sandbox.store.session_valid(token, time.time()):
            return unauthorised()
        if not segments:
            return error(400, "no resource given", code=910)
        resource = resource_named(segments[0])
        if resource is None:
            return error(400, f"resource '{segments[0]}' does not exist", code=910)
        try:
            if len(segments) == 1:
                if method == "GET":
                    # Filtering is CPU work under the store lock: keep it off the event loop
                    # so one heavy list cannot stall every other connection.
                    return await run_in_threadpool(self.list, request, resource)
                if method == "POST":
                    return await self.create(request, resource)
            elif len(segments) == 2 and segments[1].lower() == "bulk":
                if method in BULK_VERBS:
                    return await self.bulk(request, resource)
            elif len(segments) == 2 and segments[1].lower() == "schema":
                if method == "GET":
                    return JSONResponse(describe(resource))
            elif len(segments) == 2:
                record_id = record_id_in(segments[1])
                if record_id is None:
                    return bad_request()
                if method == "GET":
                    return self.get(resource, record_id)
                if method == "PUT":
                    return await self.update(request, resource, record_id)
                if method == "DELETE":
                    return self.delete(resource, record_id)
            else:
                return error(400, f"no such path under {resource.name}", code=910)
        except WriteRefused as exc:
            return refused(exc)
        except UnknownRecord:
            return bad_request()
        return error(405, "Method Not Allowed")

    def list(self, request: Request, resource: Resource) -> Response:
        params = request.query_params
        page = plain_number(params.get("page", "0"))
        if page is None:
            raise WriteRefused("page must be a whole number, 0 or more", field="page")
        size = _page_size(request, self.sandbox.config)
        store = self.sandbox.store
        with store.lock:
            try:
                compiled = compile_where(self.sandbox, resource, params.get("where", ""))
                records = list(store.all(resource))
                if compiled is not None:
                    records = [r for r in records if compiled.matches(r)]
                order = params.get("order", "").strip()
                if order:
                    records = order_records(resource, records, order)
                else:
                    records.sort(key=lambda r: r["id"])
            except WhereError as exc:
                return where_error(str(exc))
            except (ValueError, OverflowError, RecursionError) as exc:
                # Whatever a where or order makes parsing or comparing fail on is the caller's
                # bad SQL (901), never a 500.
                return where_error(f"cannot evaluate where: {type(exc).__name__}: {exc}"[:500])
            chunk = records[page * size : (page + 1) * size]
            body = [store.render(resource, r) for r in chunk]
        # `Count` echoes the page size applied (a capped ask gets less): clients may use it to
        # tell a capped page from the last one. The real API's headers are UNCONFIRMED.
        headers = {
            "X-FM-Page": str(page),
            "X-FM-Entity-Count": str(len(body)),
            "Count": str(size),
        }
        return JSONResponse(body, headers=headers)

    def get(self, resource: Resource, record_id: int) -> Response:
        store = self.sandbox.store
        with store.lock:
            return JSONResponse(store.render(resource, store.get(resource, record_id)))

    async def create(self, request: Request, resource: Resource) -> Response:
        body = await json_body(request)
        record_id = self.sandbox.store.create(resource, body)
        return JSONResponse({"Message": "entity created", "id": record_id})

    async def update(self, request: Request, resource: Resource, record_id: int) -> Response:
        body = await json_body(request)
        self.sandbox.store.update(resource, record_id, body)
        return JSONResponse({"Message": "entity updated"})

    def delete(self, resource: Resource, record_id: int) -> Response:
        self.sandbox.store.delete(resource, record_id)
        return JSONResponse({"Message": "entity deleted"})

    async def bulk(self, request: Request, resource: Resource) -> Response:
        method = request.method
        body = await json_body(request)
        if not isinstance(body, list):
            raise WriteRefused("a bulk body must be a JSON array of items")
        limit = {
            "POST": resource.bulk_create_limit,
            "PUT": resource.bulk_update_limit,
            "DELETE": resource.bulk_delete_limit,
        }[method]
        verb = BULK_VERBS[method]
        if len(body) > limit:
            raise WriteRefused(
                f"bulk {verb} of {resource.name} takes at most {limit} items per call, got {len(body)}"
            )
        self.sandbox.stats.count_bulk_items(f"{method} /{resource.name}/bulk", len(body))
        store = self.sandbox.store
        results = []
        with store.batch():
            for item in body:
                results.append(bulk_item(store, resource, method, item))
        return JSONResponse(results)


def bulk_item(store: Store, resource: Resource, method: str, item: Any) -> dict[str, Any]:
    """Apply one bulk item; its failure is reported in its result and stops nothing else."""
    guid = item.get("guid") if isinstance(item, dict) else None
    record_id = item.get("id") if isinstance(item, dict) else None
    try:
        if not isinstance(item, dict):
            raise WriteRefused("each bulk item must be a JSON object")
        allowed = {"POST": {"guid", "data"}, "PUT": {"guid", "id", "data"}}.get(
            method, {"guid", "id"}
        )
        extra = set(item) - allowed
        if extra:
            name = sorted(extra)[0]
            raise WriteRefused(f"unknown bulk item key '{name}'", field=name)
        if not isinstance(guid, str) or not guid:
            # The reference's bodies all carry one: the client's id to match the results by.
            raise WriteRefused("each bulk item needs a text 'guid'", field="guid")
        if method == "POST":
            record_id = store.create(resource, item.get("data"))
        else:
            if isinstance(record_id, bool) or not isinstance(record_id, int):
                raise WriteRefused("each bulk item needs an integer 'id'", field="id")
            if method == "PUT":
                store.update(resource, record_id, item.get("data"))
            else:
                store.delete(resource, record_id)
    except WriteRefused as exc:
        failure: dict[str, Any] = {
            "code": BULK_FAILURE_CODE,
            "guid": guid,
            "id": record_id if method != "POST" else None,
            "message": str(exc),
        }
        if exc.field:
            failure["field"] = exc.field
        return failure
    except UnknownRecord as exc:
        return {"code": BULK_FAILURE_CODE, "guid": guid, "id": record_id, "message": str(exc)}
    return {"code": 1, "guid": guid, "id": record_id, "message": BULK_MESSAGES[method]}


def describe(resource: Resource) -> dict[str, Any]:
    """`GET /{resource}/schema`: the sandbox's own description of the fields."""
    return {
        "entity": resource.name,
        "customFields": resource.custom_fields,
        "fields": [
            {
                "name": spec.name,
                "type": spec.kind,
                "required": spec.name in resource.required,
                **({"maxLength": spec.max_length} if spec.max_length else {}),
                **({"references": spec.fk_target} if spec.fk_target else {}),
            }
            for spec in resource.fields
        ],
        "bulkLimits": {
            "create": resource.bulk_create_limit,
            "update": resource.bulk_update_limit,
            "delete": resource.bulk_delete_limit,
        },
    }


# --- control routes --------------------------------------------------------------------------


class Control:
    """`/sandbox/...`: what a test or a person uses to steer the sandbox; no token needed."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def state(self, request: Request) -> Response:
        store = self.sandbox.store
        wanted = request.query_params.get("resource")
        names = list(RESOURCES)
        if wanted:
            resource = resource_named(wanted)
            if resource is None:
                return error(400, f"resource '{wanted}' does not exist", code=910)
            names = [resource.name]
        with store.lock:
            body = {
                name: [store.render(RESOURCES[name], r) for r in store.all(RESOURCES[name])]
                for name in names
            }
        return JSONResponse(body)

    async def reset(self, request: Request) -> Response:
        self.sandbox.store.reset()
        self.sandbox.stats.reset()
        self.sandbox.faults.clear()
        config = self.sandbox.config
        self.sandbox.bucket.configure(self.sandbox.bucket.rate, self.sandbox.bucket.burst)
        return JSONResponse({"Message": "sandbox reset", "reps": list(config.reps)})

    async def faults(self, request: Request) -> Response:
        injector = self.sandbox.faults
        if request.method == "PUT":
            try:
                injector.update(await json_body(request))
            except (FaultSettingsError, WriteRefused) as exc:
                return error(400, str(exc), code=400)
        elif request.method == "DELETE":
            injector.clear()
        return JSONResponse(injector.settings.as_json())

    async def rate_limit(self, request: Request) -> Response:
        bucket = self.sandbox.bucket
        if request.method == "PUT":
            try:
                body = await json_body(request)
            except WriteRefused as exc:
                return refused(exc)
            rate, burst = (
                (body.get("rate"), body.get("burst")) if isinstance(body, dict) else (-1, None)
            )
            valid = all(
                v is None or (isinstance(v, int | float) and not isinstance(v, bool) and v >= 0)
                for v in (rate, burst)
            )
            if not valid or not isinstance(body, dict) or set(body) - {"rate", "burst"}:
                return error(400, 'send {"rate": n, "burst": n?} with n >= 0 (0 = off)', code=400)
            bucket.configure(rate, burst)
        return JSONResponse(bucket.as_json())

    async def stats(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sandbox.stats.reset()
        return JSONResponse(self.sandbox.stats.as_json())

    async def expire_sessions(self, request: Request) -> Response:
        return JSONResponse({"expired": self.sandbox.store.expire_sessions()})

    async def act_as(self, request: Request) -> Response:
        """A sales rep working in the SSM app: read-only records refuse the rep's edits."""
        store = self.sandbox.store
        params = request.path_params
        resource = resource_named(params["resource"])
        if resource is None:
            return error(400, f"resource '{params['resource']}' does not exist", code=910)
        user_id = record_id_in(params["user_id"])
        if user_id is None:
            return error(400, f"user {params['user_id']} does not exist", code=400)
        try:
            body = await json_body(request) if request.method in ("POST", "PUT") else None
            if request.method == "POST":
                record_id = store.create_as_rep(resource, body, user_id)
                return JSONResponse({"Message": "entity created", "id": record_id})
            record_id = record_id_in(params["record_id"])
            if record_id is None:
                store.check_rep(user_id)
                return bad_request()
            if request.method == "PUT":
                store.update_as_rep(resource, record_id, body, user_id)
                return JSONResponse({"Message": "entity updated"})
            store.delete_as_rep(resource, record_id, user_id)
            return JSONResponse({"Message": "entity deleted"})
        except WriteRefused as exc:
            return refused(exc)
        except UnknownRecord:
            return bad_request()


# --- the gate: counting, rate limit, faults ---------------------------------------------------


class ConnectionDropped(ConnectionError):
    """Raised where the server has no socket to close (in-process ASGI transport)."""


async def drop_connection(send: Send, receive: Receive) -> None:
    """Close the socket without an HTTP answer, so the client sees the connection die.

    uvicorn hands the app the bound `send` of its request cycle, which holds the transport.
    After closing it we wait for uvicorn to notice the disconnect, so it does not try to write
    its own 500 answer.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("sandbox dropped the connection")
    transport.close()
    while (await receive())["type"] != "http.disconnect":
        pass


def _json_answer(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


_STATUS_TEXT = {
    408: "Request Timeout",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def request_kind(rest: str) -> tuple[str, str | None, bool]:
    """("/products/bulk", "products", False) for stats keys and fault matching."""
    segments = [s for s in rest.split("/") if s]
    if segments == ["login"] or [s.lower() for s in segments] == ["login"]:
        return "/login", None, True
    if not segments:
        return "/", None, False
    resource = resource_named(segments[0])
    name = resource.name if resource else segments[0]
    if len(segments) == 1:
        return f"/{name}", name, False
    second = segments[1].lower()
    if len(segments) == 2 and second in ("bulk", "schema"):
        return f"/{name}/{second}", name, False
    if len(segments) == 2:
        return f"/{name}/{{id}}", name, False
    return f"/{name}/...", name, False


class SandboxGate:
    def __init__(self, sandbox: Sandbox, app: ASGIApp) -> None:
        self.sandbox = sandbox
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The app reads bodies through the deadline; drop_connection keeps the plain receive.
        read = read_within(receive, self.sandbox.config.read_timeout)
        path: str = scope["path"]
        if path[: len(API_PREFIX)].lower() != API_PREFIX.lower():
            await self.app(scope, read, send)
            return
        rest = path[len(API_PREFIX) :]
        # Paths are matched case-insensitively, the prefix included.
        scope = {**scope, "path": API_PREFIX + rest}
        sandbox = self.sandbox
        method: str = scope["method"]
        kind, resource, is_login = request_kind(rest)
        sandbox.stats.count_request(f"{method} {kind}")

        async def counted_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sandbox.stats.count_status(message["status"])
            await send(message)

        wait = sandbox.bucket.take()
        if wait > 0:
            answer = _json_answer(
                429, {"message": "Too Many Requests"}, {"Retry-After": retry_after_header(wait)}
            )
            await answer(scope, receive, counted_send)
            return
        decision = sandbox.faults.decide(method, resource, is_login)
        if decision.kind is not None:
            sandbox.stats.count_fault(decision.kind)
        if decision.kind == "5xx" and decision.status:
            status = decision.status
            body = {
                "statusCode": status,
                "code": 900,
                "message": _STATUS_TEXT.get(status, "Server Error"),
            }
            await _json_answer(status, body)(scope, receive, counted_send)
            return
        if decision.kind == "408":
            await _json_answer(408, {"statusCode": 408, "message": "Request Timeout"})(
                scope, receive, counted_send
            )
            return
        if decision.kind == "429":
            await _json_answer(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})(
                scope, receive, counted_send
            )
            return
        if decision.kind == "hang":
            await asyncio.sleep(sandbox.faults.settings.hang_seconds)
            await _json_answer(504, {"statusCode": 504, "message": "Gateway Timeout"})(
                scope, receive, counted_send
            )
            return
        if decision.kind == "drop":
            await drop_connection(send, receive)
            return
        if decision.kind == "slow":
            await asyncio.sleep(sandbox.faults.settings.slow_seconds)
        if decision.kind == "lost_answer":
            await self._lose_answer(scope, read, receive, send, counted_send)
            return
        await self.app(scope, read, counted_send)

    async def _lose_answer(
        self,
        scope: Scope,
        read: Receive,
        receive: Receive,
        send: Send,
        counted_send: Callable[..., Any],
    ) -> None:
        """Handle the call (the write commits), then throw its answer away."""

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, read, swallow)
        mode = self.sandbox.faults.settings.lost_answer_mode
        if mode == "drop":
            await drop_connection(send, receive)
            return
        status = int(mode)
        body = {"statusCode": status, "code": 900, "message": _STATUS_TEXT[status]}
        await _json_answer(status, body)(scope, receive, counted_send)


def create_app(config: SandboxConfig) -> SandboxGate:
    sandbox = Sandbox(config)
    api = Api(sandbox)
    control = Control(sandbox)

    pages = RepPages(sandbox.store)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes = [
        Route("/", pages.home, methods=["GET"]),
        Route("/page/{resource}", pages.create, methods=["POST"]),
        Route("/page/{resource}/{record_id}", pages.record, methods=["GET", "POST"]),
        Route("/sandbox/health", control.health, methods=["GET"]),
        Route("/sandbox/state", control.state, methods=["GET"]),
        Route("/sandbox/reset", control.reset, methods=["POST"]),
        Route("/sandbox/faults", control.faults, methods=["GET", "PUT", "DELETE"]),
        Route("/sandbox/rate-limit", control.rate_limit, methods=["GET", "PUT"]),
        Route("/sandbox/stats", control.stats, methods=["GET", "DELETE"]),
        Route("/sandbox/expire-sessions", control.expire_sessions, methods=["POST"]),
        Route("/sandbox/act-as/{user_id}/{resource}", control.act_as, methods=["POST"]),
        Route(
            "/sandbox/act-as/{user_id}/{resource}/{record_id}",
            control.act_as,
            methods=["PUT", "DELETE"],
        ),
        Route(API_PREFIX + "{rest:path}", api.dispatch, methods=methods),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        sandbox.store.close()

    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={BodyReadTimeout: request_timeout},
    )
    return SandboxGate(sandbox, starlette)
