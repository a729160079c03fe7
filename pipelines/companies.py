"""Several Sage companies, one SSM tenant: the companies file, and one code location each.

With no companies file the connector serves one company from the environment, exactly as the
README's settings say (zero configuration). With one, `companies.yaml` (COMPANIES_FILE) lists
them; each company is a Dagster code location of the same code (`pipelines.location:<name>`),
with its own environment, asset keys under `<name>/`, pools, runs, checks, dead letters and run
summary, so a company whose Sage is unreachable, or whose settings are wrong, breaks only its own
location. docs/architecture.md ("Several companies") says why this shape.

    defaults:                  # every company's environment starts from these
      SSM_SYNC_CRON: "*/15 * * * *"
    companies:
      north:                   # the name: lower-case, the location's and the asset prefix's
        active: true           # false: no sync; its records stay in SSM as they are
        keys: prefix           # prefix (default): extIds `NORTH-ABS001`; shared: same extIds
        prefix: NORTH-         # default: the name in capitals and "-"
        env:                   # any setting that differs, by the README's variable names
          SAGE_ODBC_CONNECTION: ${NORTH_ODBC}   # ${VAR} comes from the environment, so a
          SSM_BRANCH: North                     # secret never sits in this file

`python -m pipelines.companies workspace` writes the workspace that loads every company
(data/workspace.yaml; `make dev` does it), `python -m pipelines.companies list` shows them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from assets import company as this_company
from pipelines.settings import PROJECT_ROOT, data_dir

KeyPolicy = Literal["prefix", "shared"]
FILE_VARIABLE = "COMPANIES_FILE"
LOCATION_MODULE = "pipelines.location"
SINGLE_LOCATION = "sage50_ssm"
ROOT_VARIABLE = "COMPANIES_DATA_DIR"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CompaniesError(ValueError):
    """The companies file is wrong: one sentence naming the file, the company and the field."""


@dataclass(frozen=True)
class Company:
    name: str
    active: bool = True
    keys: KeyPolicy = "prefix"
    prefix: str = ""
    owner: bool = True  # with shared keys: this company's fields win on the shared records
    env: Mapping[str, str] = field(default_factory=dict)

    def environment(self, defaults: Mapping[str, str], root: Path, several: bool) -> dict[str, str]:
        """The environment this company's processes run with (on top of the host's)."""
        env = {**defaults, **self.env}
        env = {k: _expand(v, f"{self.name}.env.{k}") for k, v in env.items()}
        env.setdefault("DATA_DIR", str(root / "companies" / self.name))
        # The tenant's rate is shared by every company of this host: one pace for all.
        env.setdefault("SSM_PACE_DIR", str(root / "ssm-pace"))
        env[this_company.COMPANY_VARIABLE] = self.name
        env[this_company.ACTIVE_VARIABLE] = "true" if self.active else "false"
        env[this_company.COUNT_VARIABLE] = "2" if several else "1"
        prefix = self.prefix if self.keys == "prefix" and several else ""
        env["SSM_EXT_ID_PREFIX"] = prefix
        env["SSM_SHARED_KEYS_OWNER"] = "true" if self.owner else "false"
        return env


@dataclass(frozen=True)
class Catalogue:
    path: Path | None
    companies: tuple[Company, ...]
    defaults: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Company:
        for found in self.companies:
            if found.name == name:
                return found
        where = self.path or "the companies file"
        raise CompaniesError(f"{where} has no company {name!r} (it has {self.names()}).")

    def names(self) -> str:
        return ", ".join(c.name for c in self.companies) or "none"

    def environment(self, name: str) -> dict[str, str]:
        env = self.get(name).environment(self.defaults, root_data_dir(), len(self.companies) > 1)
        return {**env, ROOT_VARIABLE: str(root_data_dir())}


def root_data_dir() -> Path:
    """The host's data folder, above the companies' own: a run worker inherits its code
    server's environment, whose DATA_DIR is already the company's."""
    root = os.environ.get(ROOT_VARIABLE, "").strip()
    return Path(root) if root else data_dir()


def _expand(value: str, where: str) -> str:
    def variable(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None:
            raise CompaniesError(f"{where} names ${{{match.group(1)}}}, which is not set.")
        return found

    return _REFERENCE.sub(variable, value)


def companies_file() -> Path | None:
    """COMPANIES_FILE, else companies.yaml in the project, else the one `make demo
    DEMO_COMPANIES=2` wrote in the data folder, if there is one."""
    named = os.environ.get(FILE_VARIABLE, "").strip()
    if named:
        return Path(named)
    for default in (PROJECT_ROOT / "companies.yaml", root_data_dir() / "companies.yaml"):
        if default.is_file():
            return default
    return None


def _text_map(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CompaniesError(f"{where} must be a mapping of setting names to values.")
    return {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in raw.items()}  # fmt: skip


def load(path: Path | None = None) -> Catalogue | None:
    """The companies file, checked whole; None when there is none (one company)."""
    path = path or companies_file()
    if path is None:
        return None
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CompaniesError(f"{path} cannot be read: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("companies"), dict):
        raise CompaniesError(f"{path} needs a `companies:` mapping of names to companies.")
    companies = []
    for name, spec in raw["companies"].items():
        where = f"{path}: company {name!r}"
        if not isinstance(name, str) or not this_company.NAME.match(name):
            raise CompaniesError(
                f"{where}: a name is lower-case letters, digits and underscores, from a letter."
            )
        spec = spec or {}
        if not isinstance(spec, dict):
            raise CompaniesError(f"{where} must be a mapping (active, keys, prefix, env).")
        unknown = set(spec) - {"active", "keys", "prefix", "owner", "env"}
        if unknown:
            raise CompaniesError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
        keys = spec.get("keys", "prefix")
        if keys not in ("prefix", "shared"):
            raise CompaniesError(f"{where}: keys is {keys!r}, not prefix or shared.")
        for flag in ("active", "owner"):
            if not isinstance(spec.get(flag, True), bool):
                raise CompaniesError(f"{where}: {flag} is true or false.")
        companies.append(
            Company(
                name=name,
                active=spec.get("active", True),
                keys=keys,
                prefix=str(spec.get("prefix") or f"{name.upper()}-"),
                owner=spec.get("owner", True),
                env=_text_map(spec.get("env"), f"{where}: env"),
            )
        )
    if not companies:
        raise CompaniesError(f"{path} lists no company.")
    catalogue = Catalogue(
        path, tuple(companies), _text_map(raw.get("defaults"), f"{path}: defaults")
    )
    _check_keys(catalogue)
    return catalogue


def _check_keys(catalogue: Catalogue) -> None:
    """Two companies must never make the same extId, unless both say they share keys."""
    if len(catalogue.companies) < 2:
        return
    prefixed = [c for c in catalogue.companies if c.keys == "prefix"]
    seen: dict[str, str] = {}
    for c in prefixed:
        for other, theirs in seen.items():
            if c.prefix.startswith(theirs) or theirs.startswith(c.prefix):
                raise CompaniesError(
                    f"{catalogue.path}: companies {other!r} and {c.name!r} have prefixes "
                    f"{theirs!r} and {c.prefix!r}: one starts the other, so their extIds could meet."
                )
        seen[c.name] = c.prefix
    shared = [c for c in catalogue.companies if c.keys == "shared"]
    if len(shared) == 1:
        raise CompaniesError(
            f"{catalogue.path}: company {shared[0].name!r} shares keys with no other company."
        )
    owners = [c.name for c in shared if c.owner]
    if shared and len(owners) != 1:
        raise CompaniesError(
            f"{catalogue.path}: the companies that share keys ({', '.join(c.name for c in shared)}) "
            f"need exactly one owner (owner: true), not {len(owners)}: its fields win on the "
            "shared accounts and contacts."
        )


_active: str | None = None


def activate(name: str, catalogue: Catalogue | None = None) -> dict[str, str]:
    """Give this process company `name`'s environment (before the definitions are imported:
    asset keys and pools are named after the company). One company per process."""
    global _active
    if _active is not None and _active != name:
        raise CompaniesError(
            f"this process serves company {_active!r}: company {name!r} needs its own process "
            "(its own code location)."
        )
    catalogue = catalogue or load()
    if catalogue is None:
        raise CompaniesError(
            f"no companies file (set {FILE_VARIABLE} or add companies.yaml) names {name!r}."
        )
    env = catalogue.environment(name)
    os.environ.update(env)
    _active = name
    return env


def workspace_yaml(catalogue: Catalogue | None) -> str:
    """One code location per company (the same code, another environment); the single
    location of the project's workspace.yaml when there is no companies file."""
    if catalogue is None:
        entries = [{"python_module": {"module_name": "pipelines.definitions",
                                      "location_name": SINGLE_LOCATION,
                                      "working_directory": str(PROJECT_ROOT)}}]  # fmt: skip
    else:
        entries = [
            {
                "python_module": {
                    "module_name": LOCATION_MODULE,
                    "attribute": c.name,
                    "location_name": c.name,
                    "working_directory": str(PROJECT_ROOT),
                }
            }
            for c in catalogue.companies
        ]
    head = "# Written by `python -m pipelines.companies workspace` from the companies file.\n"
    return head + yaml.safe_dump({"load_from": entries}, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.companies", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("workspace", help="write the workspace of every company")
    write.add_argument("--out", type=Path, default=None, help="default data/workspace.yaml")
    commands.add_parser("list", help="the companies, active or not, and their keys")
    args = parser.parse_args(argv)
    try:
        catalogue = load()
    except CompaniesError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "workspace":
        out = args.out or data_dir() / "workspace.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(workspace_yaml(catalogue), encoding="utf-8")
        count = len(catalogue.companies) if catalogue else 1
        print(f"wrote {out}: {count} code location(s)")
        return 0
    if catalogue is None:
        print("one company, from the environment (no companies file)")
        return 0
    for c in catalogue.companies:
        keys = f"prefix {c.prefix}" if c.keys == "prefix" else f"shared, owner {c.owner}"
        state = "active" if c.active else "deactivated"
        print(f"{c.name}: {state}, keys {keys}, {len(c.env)} setting(s) of its own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
