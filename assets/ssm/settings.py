"""Settings of the push that differ between companies, read from the environment.

| variable | default | meaning |
|---|---|---|
| `SAGE_REP_FIELD` | `analysis_2` | the `staging.customer_accounts` column that holds the rep (extId or full name) |
| `SSM_CUSTOM_FIELDS` | `{}` | JSON object renaming the contract's `Z_` fields: `{"Z_Balance": "Z_Saldo"}` |
| `SSM_ADMIN_USER` | `1` | the admin user (SSM id, extId, e-mail or full name) given to accounts without a rep, at creation |
| `SSM_BRANCH` | the default branch | the branch (id or description) new accounts and orders are filed under |
| `SSM_CLIENT_STATUS` | `Client` | the account status (description) of a Sage customer |
| `SSM_CREATE_USERS` | `false` | create SSM users for unmatched Sage reps (users are billable) |
| `SSM_DELETE_ADOPTED` | `false` | also delete, when Sage deletes them, the records the first push adopted (found in SSM under the same key, not created by the connector) |
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class SyncSettings:
    rep_column: str = "analysis_2"
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    admin_user: str = "1"
    branch: str | None = None
    client_status: str = "Client"
    create_users: bool = False
    # Adopted records were made by someone else (the vendor's connector, an import): by default
    # a Sage delete leaves them live in SSM, as the connector deletes only what it created.
    delete_adopted: bool = False

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.rep_column):
            raise ValueError(
                f"SAGE_REP_FIELD={self.rep_column!r} is not a column name; use e.g. analysis_2"
            )
        for name in self.custom_fields.values():
            if not name.startswith("Z_"):
                raise ValueError(f"SSM_CUSTOM_FIELDS: {name!r} must start with Z_")

    def custom_name(self, default: str) -> str:
        return self.custom_fields.get(default, default)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SyncSettings:
        env = os.environ if environ is None else environ
        custom = env.get("SSM_CUSTOM_FIELDS", "").strip()
        try:
            custom_fields = json.loads(custom) if custom else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"SSM_CUSTOM_FIELDS is not a JSON object: {exc}") from exc
        return cls(
            rep_column=env.get("SAGE_REP_FIELD", "analysis_2").strip().lower(),
            custom_fields=dict(custom_fields),
            admin_user=env.get("SSM_ADMIN_USER", "1").strip(),
            branch=env.get("SSM_BRANCH") or None,
            client_status=env.get("SSM_CLIENT_STATUS", "Client"),
            create_users=_flag(env.get("SSM_CREATE_USERS", "false")),
            delete_adopted=_flag(env.get("SSM_DELETE_ADOPTED", "false")),
        )
