"""The sandbox's state: records of every resource and API sessions, kept in a SQLite file.

Records live in memory (a dict per resource) for fast filtering and are written through to
SQLite on every change, so the state survives a restart or a kill. One lock serialises all
access; a bulk batch is one SQLite transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.ssm.catalogue import (
    RESOURCES,
    SERVER_FIELDS,
    Field,
    FieldError,
    Resource,
    coerce_value,
    format_when,
)
from sandbox.ssm.seed import API_USER_ID, SeedOptions, seed_records

_Z_FIELD_MAX = 64


class UnknownRecord(LookupError):
    """GET/PUT/DELETE of an id the resource does not hold (the API answers 400 Bad Request)."""


class WriteRefused(ValueError):
    """A write the API refuses; `status` is the HTTP status, `field` the field at fault."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def now_iso() -> str:
    return format_when(datetime.now(UTC))


class Store:
    """All records and sessions of one sandbox, backed by one SQLite file."""

    def __init__(self, path: Path, seed: SeedOptions) -> None:
        self.path = path
        self.seed_options = seed
        self.lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS records (
                resource TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
                PRIMARY KEY (resource, id)
            );
            CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, expires_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        self.records: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in RESOURCES}
        self.sessions: dict[str, float] = {}
        self._dirty: set[tuple[str, int]] = set()
        self._next_ids: dict[str, int] = {}
        self._batch_depth = 0
        with self.lock:
            self._load()
            if self._db.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone() is None:
                self._seed()

    # --- persistence -------------------------------------------------------------------------

    def _load(self) -> None:
        for resource, record_id, body in self._db.execute("SELECT resource, id, body FROM records"):
            if resource in self.records:
                self.records[resource][record_id] = json.loads(body)
        self.sessions = dict(self._db.execute("SELECT token, expires_at FROM sessions").fetchall())

    def _seed(self) -> None:
        with self.batch():
            for resource, record in seed_records(self.seed_options, now_iso()):
                self.records[resource][record["id"]] = record
                self._dirty.add((resource, record["id"]))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('seeded', ?)", (now_iso(),))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group changes into one SQLite transaction (a bulk call, a seed)."""
        with self.lock:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
                if self._batch_depth == 0:
                    self._flush()

    def _flush(self) -> None:
        if not self._dirty:
            return
        rows = [
            (resource, record_id, json.dumps(self.records[resource][record_id]))
            for resource, record_id in sorted(self._dirty)
        ]
        self._dirty.clear()
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def reset(self) -> None:
        """Forget every record and start again from the seed (sessions stay valid)."""
        with self.lock:
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM meta")
            self.records = {name: {} for name in RESOURCES}
            self._dirty.clear()
            self._next_ids.clear()
            self._seed()

    def close(self) -> None:
        with self.lock:
            self._db.close()

    # --- sessions ----------------------------------------------------------------------------

    def add_session(self, token: str, expires_at: float) -> None:
        with self.lock:
            self.sessions[token] = expires_at
            self._db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?)", (token, expires_at))
            # Keep the table small: drop sessions that expired a day ago.
            self._db.execute("DELETE FROM sessions WHERE expires_at < ?", (expires_at - 86400 * 2,))

    def session_valid(self, token: str, now: float) -> bool:
        with self.lock:
            expires_at = self.sessions.get(token)
            return expires_at is not None and now < expires_at

    def expire_sessions(self) -> int:
        with self.lock:
            count = len(self.sessions)
            self.sessions.clear()
            self._db.execute("DELETE FROM sessions")
            return count

    # --- reading -----------------------------------------------------------------------------

    def get(self, resource: Resource, record_id: int) -> dict[str, Any]:
        record = self.records[resource.name].get(record_id)
        if record is None:
            raise UnknownRecord(f"{resource.name} {record_id} does not exist")
        return record

    def all(self, resource: Resource) -> Iterable[dict[str, Any]]:
        return self.records[resource.name].values()

    def label(self, target: str, record_id: int) -> str | None:
        record = self.records.get(target, {}).get(record_id)
        if record is None:
            return None
        parts = [record.get(name) for name in RESOURCES[target].label_fields]
        return " ".join(str(p) for p in parts if p not in (None, "")) or None

    def render(self, resource: Resource, record: dict[str, Any]) -> dict[str, Any]:
        """A record as the API reads it: every field (null when unset), FKs as {id, value}."""
        out: dict[str, Any] = {"id": record["id"]}
        for spec in resource.fields:
            out[spec.name] = self.render_value(spec, record.get(spec.name))
        for key, value in record.items():
            if key.startswith("Z_"):
                out[key] = value
        for key in SERVER_FIELDS[1:]:
            out[key] = record.get(key)
        return out

    def render_value(self, spec: Field, value: Any) -> Any:
        if value is None:
            return None
        if spec.kind == "fk":
            label = self.label(spec.fk_target, value) if spec.fk_target else None
            return {"id": value, spec.label_key: label or ""}
        if spec.kind == "enum":
            return {"id": value, "value": spec.enum_labels.get(value, "")}
        return value

    # --- writing -----------------------------------------------------------------------------

    def check_write(self, resource: Resource, data: Any, *, creating: bool) -> dict[str, Any]:
        """Validate a create or partial-update body; return the values to store."""
        if not isinstance(data, dict):
            raise WriteRefused("the body must be a JSON object")
        values: dict[str, Any] = {}
        for key, value in data.items():
            spec = self._writable_field(resource, key)
            try:
                stored = coerce_value(spec, value)
            except FieldError as exc:
                raise WriteRefused(str(exc), field=exc.field) from exc
            if spec.kind == "fk" and spec.fk_target and stored is not None:
                if stored not in self.records[spec.fk_target]:
                    raise WriteRefused(
                        f"field '{spec.name}' refers to {spec.fk_target} {stored}, which does not exist",
                        field=spec.name,
                    )
            values[spec.name] = stored
        for name in resource.required:
            if creating and values.get(name) in (None, ""):
                raise WriteRefused(f"field '{name}' is required", field=name)
            if not creating and name in values and values[name] in (None, ""):
                raise WriteRefused(f"field '{name}' is required and cannot be cleared", field=name)
        return values

    @staticmethod
    def _writable_field(resource: Resource, key: str) -> Field:
        if key in SERVER_FIELDS:
            raise WriteRefused(
                f"field '{key}' is set by the server and cannot be written", field=key
            )
        if key.startswith("Z_"):
            if not resource.custom_fields:
                raise WriteRefused(f"{resource.name} has no custom fields ('{key}')", field=key)
            if len(key) > _Z_FIELD_MAX or not key[2:].replace("_", "a").isalnum():
                raise WriteRefused(f"'{key}' is not a valid custom field name", field=key)
        name = key if resource.field_named(key) else resource.aliases.get(key)
        spec = resource.field_named(name) if name else None
        if spec is None:
            raise WriteRefused(f"unknown field '{key}' for {resource.name}", field=key)
        return spec

    def _next_id(self, resource: str) -> int:
        # Ids are never reused: logical deletes keep every record, so max + 1 is stable.
        if resource not in self._next_ids:
            self._next_ids[resource] = max(self.records[resource], default=0) + 1
        record_id = self._next_ids[resource]
        self._next_ids[resource] = record_id + 1
        return record_id

    def _save(self, resource: Resource, record: dict[str, Any]) -> None:
        self.records[resource.name][record["id"]] = record
        self._dirty.add((resource.name, record["id"]))

    def create(self, resource: Resource, data: Any, actor: int = API_USER_ID) -> int:
        with self.batch():
            values = self.check_write(resource, data, creating=True)
            record_id = self._next_id(resource.name)
            record: dict[str, Any] = {
                "id": record_id,
                "readOnly": False,
                **values,
                "dateCreated": now_iso(),
                "dateUpdated": None,
                "dateDeleted": None,
                "deleted": False,
                "salesRepIdCreated": actor,
                "salesRepIdUpdated": None,
                "salesRepIdDeleted": None,
            }
            self._save(resource, record)
            return record_id

    def update(
        self, resource: Resource, record_id: int, data: Any, actor: int = API_USER_ID
    ) -> None:
        with self.batch():
            record = self.get(resource, record_id)
            if record.get("deleted"):
                raise WriteRefused(f"{resource.name} {record_id} is deleted and cannot be updated")
            values = self.check_write(resource, data, creating=False)
            updated = {
                **record,
                **values,
                "dateUpdated": now_iso(),
                "salesRepIdUpdated": actor,
            }
            self._save(resource, updated)

    def delete(self, resource: Resource, record_id: int, actor: int = API_USER_ID) -> None:
        """Logical delete: the record stays listed with deleted=true and dateDeleted set."""
        with self.batch():
            record = self.get(resource, record_id)
            if record.get("deleted"):
                raise WriteRefused(f"{resource.name} {record_id} is already deleted")
            self._save(
                resource,
                {**record, "deleted": True, "dateDeleted": now_iso(), "salesRepIdDeleted": actor},
            )

    # --- a sales rep in the SSM app (the act-as routes and the page's forms) ------------------

    def check_rep(self, user_id: int) -> None:
        """Refuse a user who does not exist (400) or is not an active user (403)."""
        with self.lock:
            user = self.records["users"].get(user_id)
            if user is None:
                raise WriteRefused(f"user {user_id} does not exist")
            if user.get("deleted") or not user.get("isActive"):
                raise WriteRefused(f"user {user_id} is not an active user", status=403)

    def create_as_rep(self, resource: Resource, data: Any, user_id: int) -> int:
        """What a rep's create in the app stores: the API's create, with the rep as creator;
        no extId and readOnly false unless the rep typed an extId (only the integration sets
        readOnly)."""
        with self.batch():
            self.check_rep(user_id)
            _refuse_read_only_flag(data)
            return self.create(resource, data, actor=user_id)

    def update_as_rep(self, resource: Resource, record_id: int, data: Any, user_id: int) -> None:
        """A rep's edit: the API's partial update, refused on a read-only record (403)."""
        with self.batch():
            self.check_rep(user_id)
            _refuse_read_only_flag(data)
            self._refuse_read_only_record(resource, record_id)
            self.update(resource, record_id, data, actor=user_id)

    def delete_as_rep(self, resource: Resource, record_id: int, user_id: int) -> None:
        with self.batch():
            self.check_rep(user_id)
            self._refuse_read_only_record(resource, record_id)
            self.delete(resource, record_id, actor=user_id)

    def _refuse_read_only_record(self, resource: Resource, record_id: int) -> None:
        if self.get(resource, record_id).get("readOnly"):
            raise WriteRefused(
                f"{resource.name} {record_id} is read-only: a sales rep cannot change it",
                status=403,
            )

    def counts(self) -> dict[str, int]:
        return {name: len(records) for name, records in self.records.items()}


def _refuse_read_only_flag(body: Any) -> None:
    if isinstance(body, dict) and "readOnly" in body:
        raise WriteRefused(
            "a sales rep cannot set readOnly; only the integration can",
            field="readOnly",
            status=403,
        )
