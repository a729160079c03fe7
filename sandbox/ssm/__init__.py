"""Local Sage Sales Management (ex-ForceManager) API v4 sandbox.

Start: `python -m sandbox.ssm --host 127.0.0.1 --port 8765 --db data/ssm-sandbox.sqlite3`
(`--help` lists every flag). State lives in the SQLite file and survives restarts.
Tests: `sandbox.ssm.testing.running_sandbox(tmp_path, **flags)`.

What the reference leaves open, and what the sandbox does:

Auth
  * `POST /api/v4/login` `{"username": public, "password": private}` (also `publicKey`/
    `privateKey`) -> `{"token"}`. Default keys `sandbox-public` / `sandbox-private`.
  * Every other API call needs `X-Session-Key`; missing, unknown or expired -> 401
    `{"statusCode":401,"message":"Unauthorized"}`; a failed login answers the same.
  * Token lifetime `--token-ttl` (default 3600 s). Sessions are stored, so they survive a
    restart; `POST /sandbox/expire-sessions` ends them all.
  * The API keys act as user 1, "Admin User": `salesRepIdCreated/Updated/Deleted` = 1.

Lists
  * Bare JSON arrays. `page` 0-based; page size from header `Count` or `X-FM-Entity-Count`
    (default 50, capped at 500 = `--max-page-size`; larger asks get 500 rows). Answers carry
    `X-FM-Page`, `X-FM-Entity-Count` (rows in this page) and `Count` (the page size applied,
    after the cap); clients should not need them.
  * Without `order`, rows come by id ascending. `order=field` sorts DESCENDING (the vendor's
    documented behaviour); `order=field asc` / `order=field desc` and comma-separated terms
    work. Nulls sort lowest; ties keep id order.
  * `where`: see `where.py`. Field names are matched case-insensitively; a foreign key
    compares by its id both as `typeId=3` and `typeId.id=3`; `typeId.value` is its label.
    Strings compare ignoring letter case (SQL Server's default collation). Dates compare as ISO
    strings after the literal is brought to the stored form, so `'2024-01-01 00:00:00'` and
    `'2024-01-01T00:00:00Z'` both work. `field = null` means IS NULL. An unknown field, a bad
    token, a number too long to read or a bad `order` -> 400
    `{"statusCode":400,"code":901,"message":...}`. `order` takes plain fields only (the
    reference documents `order=<field>`, not `field.id`); a foreign key sorts by its id.
    LIKE is matched without backtracking, and lists are filtered off the event loop.
  * JSON bodies nested more than 32 levels deep -> 400 (SSM bodies are flat).

HTTP (see `server.py`)
  * A request head (request line + headers) longer than `--max-head-bytes` (h11's 16 KiB) ->
    414 when the request line alone is too long, else 431; the server then drains what the
    client still sends, so the client reads the answer instead of a reset.
  * A body the app reads that does not arrive within `--read-timeout` (5 s) -> 408
    `{"statusCode":408,"message":"Request Timeout"}` and the connection closes; an unfinished
    request head is closed after the same time. Other connections are served meanwhile.
  * A login whose keys are not ASCII is a failed login (401), like any other.

Records
  * Answers list every field of the resource (null when unset), FKs as `{"id","value"}`
    (users' FKs as `{"id","description"}`, as the vendor's UserResponse has it), `gender` as
    `{"id","value"}`, `Z_*` custom fields as given, and the audit fields. Dates are written as
    `2021-12-16T14:05:53.027Z`; date input may also be `2021-12-16 14:05:53`.
  * Writes: FKs as integers (`{"id": n}` accepted too) and must point at an existing record
    (deleted ones included). Unknown fields, server fields (`id`, `date*`, `deleted`,
    `salesRepId{Created,Updated,Deleted}`), over-long text, wrong types, a missing or empty
    required field -> 400 `{"statusCode":400,"code":400,"message":"field 'x' ...","field":"x"}`.
    Text without a documented limit is capped at 255 characters; `extId` at 30 everywhere.
  * Types are the vendor OpenAPI's (the catalogue is checked against its write models and
    POST required lists): text is a string; an integer is a JSON number without a fraction
    (2 or 2.0), in int32, never true/false; a boolean is only true/false (not 0/1); a number
    fits a double; `Z_*` values are scalars; `branchVisibility` is an array.
  * A string holding a lone surrogate (JSON `"\\ud800"`), in a value or a field name, anywhere
    in a write body (bulk included) -> 400 naming the field; nothing of the call is stored.
  * Path ids are positive plain ASCII digits (`1_0`, `+1`, `１`, ` 1` -> 400 Bad Request);
    `page` and the page-size header are plain digits too.
  * Spelling aliases accepted on write: `salesForecastDate` -> `salesForcecastDate` (orders),
    `salesorderId` -> `salesOrderId` (order lines), `UseCompanyAddress` -> `useCompanyAddress`.
  * Order lines read `salesOrderId` (the vendor OpenAPI spelling). `quantity` is an integer.
  * POST -> 200 `{"Message":"entity created","id":n}`; PUT (partial) -> `{"Message":"entity
    updated"}`; DELETE (logical: `deleted`, `dateDeleted`, `salesRepIdDeleted` set, still
    listed) -> `{"Message":"entity deleted"}`. PUT or DELETE of a deleted record -> 400 with a
    message. Unknown id -> 400 `{"statusCode":400,"message":"Bad Request"}`. Unknown
    resource -> 400 with code 910.
  * `readOnly`: the integration may set it and may still write the record; a sales rep
    (`/sandbox/act-as/...`) may not set it and gets 403 editing or deleting such a record.

Bulk (`POST|PUT|DELETE /{resource}/bulk`)
  * Bodies `[{"guid","data"}]`, `[{"guid","id","data"}]`, `[{"guid","id"}]`. Answer: one
    `{"code","guid","id","message"}` per item, in order; code 1 = success ("Entity create
    success" / "Entity update success" / "Entity delete success"), code 400 = refused (the
    message names the field, and `field` is added); good items are applied all the same.
    `guid` is text and every item needs one (else that item is refused).
  * Limits per call: products 100 for every verb; other resources 200 create/update and
    120 delete. A larger batch -> 400 naming the limit; nothing is applied.

Rate limit
  * Token bucket, `--rate` requests/s (default 4; 0 = off), burst `--burst` (default = rate).
    Login counts too. Over the limit -> 429, `Retry-After` in whole seconds (>= 1), body
    `{"message":"Too Many Requests"}`. `/sandbox/...` and `/` are never limited.

Faults (see `faults.py`): API calls only; `/login` only with `--fault-login`; never `/sandbox`.
  5xx answers carry `{"statusCode":5xx,"code":900,"message":...}`, 408
  `{"statusCode":408,"message":"Request Timeout"}`.

Control routes (no token; the server binds to loopback by default)
  GET  /sandbox/health                     {"status":"ok"}
  GET  /sandbox/state[?resource=r]         every record as the API renders it
  POST /sandbox/reset                      re-seed; clears stats and faults
  GET|PUT|DELETE /sandbox/faults           read / partially update / clear fault settings
  GET|PUT /sandbox/rate-limit              {"rate": n, "burst": n}
  GET|DELETE /sandbox/stats                counters (requests per "METHOD /kind", writes, ...)
  POST /sandbox/expire-sessions            end every session (next API call gets 401)
  POST /sandbox/act-as/{userId}/{resource}            create as that rep
  PUT|DELETE /sandbox/act-as/{userId}/{resource}/{id} edit / delete as that rep (403 if readOnly)
"""
