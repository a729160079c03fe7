"""Several Sage companies, one SSM tenant (issue 16): the companies file, one code location per
company, and the companies syncing side by side through a real `dagster-daemon`.

The fast tests check the file (every mistake one sentence naming the file, the company and the
field) and what each company's processes get. The launched test starts one daemon on a
workspace of three companies written by `python -m pipelines.companies workspace`: `north` and
`south` are the same tiny demo company (the same codes) with different names, `broken` names an
ODBC data source that does not exist. Their syncs run at once into one SSM sandbox holding the
plan's real rate (4 requests/s).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assets import company
from bench.launched import SYNC_JOB, LaunchedDagster
from pipelines import companies
from pipelines.companies import CompaniesError, load
from sandbox.sage_demo import generate
from sandbox.ssm.testing import running_sandbox

TWO = """
companies:
  north:
    env:
      SSM_BRANCH: North
  south:
    active: false
    env:
      SAGE_ODBC_CONNECTION: ${SOUTH_ODBC}
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "companies.yaml"
    path.write_text(text)
    return path


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(CompaniesError) as raised:
        load(_file(tmp_path, text))
    return str(raised.value)


def test_no_file_is_one_company_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(companies.FILE_VARIABLE, "")
    monkeypatch.setattr(companies, "PROJECT_ROOT", Path("/nonexistent"))
    assert load() is None
    text = companies.workspace_yaml(None)
    assert "pipelines.definitions" in text and "sage50_ssm" in text
    monkeypatch.delenv(company.COMPANY_VARIABLE, raising=False)
    assert company.key("sage", "customers").path == ["sage", "customers"]
    assert company.pool("warehouse") == "warehouse" and company.run_tags() == {}


def test_each_company_gets_its_own_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOUTH_ODBC", "DSN=South;PWD=s3cret")
    catalogue = load(_file(tmp_path, TWO))
    assert catalogue is not None
    north, south = catalogue.environment("north"), catalogue.environment("south")
    assert north["SAGE_COMPANY"] == "north" and north["SAGE_COMPANY_ACTIVE"] == "true"
    assert south["SAGE_COMPANY_ACTIVE"] == "false"
    # each its own files, one pace for the tenant, prefixes that never meet
    assert north["DATA_DIR"] != south["DATA_DIR"]
    assert north["SSM_PACE_DIR"] == south["SSM_PACE_DIR"]
    assert (north["SSM_EXT_ID_PREFIX"], south["SSM_EXT_ID_PREFIX"]) == ("NORTH-", "SOUTH-")
    assert north["SSM_BRANCH"] == "North"
    # ${VAR} comes from the environment: the secret is in no file
    assert south["SAGE_ODBC_CONNECTION"] == "DSN=South;PWD=s3cret"
    text = companies.workspace_yaml(catalogue)
    assert text.count("module_name: pipelines.location") == 2
    assert "attribute: north" in text and "location_name: south" in text


def test_a_single_company_in_the_file_keeps_its_keys(tmp_path: Path) -> None:
    catalogue = load(_file(tmp_path, "companies:\n  only: {}\n"))
    assert catalogue is not None
    assert catalogue.environment("only")["SSM_EXT_ID_PREFIX"] == ""


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("companies:\n  North: {}\n", "lower-case letters"),
        ("companies:\n  a: {colour: red}\n", "unknown field(s) colour"),
        ("companies:\n  a: {keys: both}\n", "keys is 'both'"),
        ("companies:\n  a: {active: maybe}\n", "active is true or false"),
        ("companies:\n  a: {prefix: A-}\n  b: {prefix: A-B-}\n", "one starts the other"),
        ("companies:\n  a: {keys: shared}\n  b: {}\n", "shares keys with no other company"),
        ("companies:\n  a: {keys: shared}\n  b: {keys: shared}\n", "exactly one owner"),
        ("nothing: here\n", "needs a `companies:` mapping"),
        ("companies: {}\n", "lists no company"),
    ],
)
def test_a_wrong_file_is_one_sentence(tmp_path: Path, text: str, says: str) -> None:
    message = _refused(tmp_path, text)
    assert says in message and str(tmp_path) in message


def test_a_missing_variable_is_named_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOUTH_ODBC", raising=False)
    catalogue = load(_file(tmp_path, TWO))
    assert catalogue is not None
    with pytest.raises(
        CompaniesError, match=r"south.env.SAGE_ODBC_CONNECTION names \$\{SOUTH_ODBC\}"
    ):
        catalogue.environment("south")


def test_a_process_serves_one_company(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue = load(_file(tmp_path, "companies:\n  a: {}\n  b: {}\n"))
    monkeypatch.setattr(companies, "_active", "a")
    with pytest.raises(CompaniesError, match="needs its own process"):
        companies.activate("b", catalogue)


# ------------------------------------------------------------------------------ launched

THREE = """
companies:
  north: {}
  south: {}
  broken:
    env:
      SAGE_ODBC_CONNECTION: DSN=NoSuchSage50
"""


def _state(control_url: str, resource: str) -> list[dict]:
    answer = httpx.get(control_url + "/state", params={"resource": resource}, timeout=60)
    return next(iter(answer.json().values()))


def _failures(dagster: LaunchedDagster, run_id: str) -> list[str]:
    """What the run's failed steps and the run itself said."""
    import dagster as dg

    events = dagster.instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
    )
    out = []
    for event in events:
        data = event.dagster_event.event_specific_data if event.dagster_event else None
        error = getattr(data, "error", None)
        while error is not None and error.cause is not None:  # the step's own exception
            error = error.cause
        out.append(
            error.message.strip() + "".join(error.stack[-4:])
            if error is not None
            else event.message
        )
    return out


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LaunchedDagster, str, Path]]:
    work = tmp_path_factory.mktemp("companies")
    root = work / "data"
    for name in ("north", "south"):
        path = root / "companies" / name / "sage50-demo.sqlite"
        path.parent.mkdir(parents=True)
        generate(path, size="tiny", seed=1)  # the same codes in both companies
    with sqlite3.connect(root / "companies" / "south" / "sage50-demo.sqlite") as con:
        con.execute("UPDATE SALES_LEDGER SET NAME = substr(NAME, 1, 50) || ' South'")
    catalogue_path = _file(work, THREE)
    with running_sandbox(work, rate=4) as ssm:
        env = {
            "DATA_DIR": str(root),
            "COMPANIES_FILE": str(catalogue_path),
            "SSM_BASE_URL": ssm.base_url,
            "SSM_PUBLIC_KEY": ssm.public_key,
            "SSM_PRIVATE_KEY": ssm.private_key,
            "SSM_REQUESTS_PER_SECOND": "4",
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            workspace = companies.workspace_yaml(load(catalogue_path))
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        with LaunchedDagster(work / "dagster", env, workspace=workspace) as dagster:
            yield dagster, ssm.control_url, root


@pytest.mark.slow
@pytest.mark.xdist_group("companies")
def test_three_companies_sync_at_once_each_on_its_own(
    three: tuple[LaunchedDagster, str, Path],
) -> None:
    dagster, control_url, _root = three
    httpx.delete(control_url + "/stats")
    runs = {name: dagster.launch(SYNC_JOB, location=name, sample=False)
            for name in ("north", "south", "broken")}  # fmt: skip
    done = {name: dagster.wait(run_id, timeout=900) for name, run_id in runs.items()}

    # One company's unreachable Sage stops only that company, with one sentence.
    assert done["north"].status == "SUCCESS", _failures(dagster, runs["north"])[:3]
    assert done["south"].status == "SUCCESS", _failures(dagster, runs["south"])[:3]
    assert done["broken"].status == "FAILURE"
    failure = dagster.instance.get_run_by_id(runs["broken"])
    assert failure is not None
    for name, record in done.items():
        assert record.tags.get(company.COMPANY_TAG) == name  # each run names its company
    summaries = {
        name: next(m["metadata"] for m in done[name].materialization_metadata
                   if m["asset"] == f"{name}/ssm/run_summary")
        for name in ("north", "south")
    }  # fmt: skip
    assert {n: s["company"] for n, s in summaries.items()} == {"north": "north", "south": "south"}

    # Both sets in SSM, each under its own prefix, none overwritten by the other company.
    accounts = [a for a in _state(control_url, "accounts") if not a.get("deleted")]
    by_ext = Counter(a.get("extId") for a in accounts if a.get("extId"))
    assert [k for k, n in by_ext.items() if n > 1] == []  # every record once
    north = {a["extId"].removeprefix("NORTH-"): a["name"] for a in accounts
             if str(a.get("extId", "")).startswith("NORTH-")}  # fmt: skip
    south = {a["extId"].removeprefix("SOUTH-"): a["name"] for a in accounts
             if str(a.get("extId", "")).startswith("SOUTH-")}  # fmt: skip
    assert north and north.keys() == south.keys()
    assert all(south[code].endswith(" South") and not north[code].endswith(" South")
               for code in north)  # fmt: skip

    # Two companies pushing at once stayed under the tenant's 4 requests/s together.
    stats = httpx.get(control_url + "/stats").json()
    assert stats["rate_limited"] <= 2, json.dumps(stats)[:2000]


# ------------------------------------------------------------------------------ reactivation


def _account(ssm_state: list[dict], ssm_id: int) -> dict:
    return next(a for a in ssm_state if a["id"] == ssm_id)


@pytest.mark.xdist_group("companies")
def test_a_reactivated_company_compares_every_record_sage_wins_ssm_keeps_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deactivate, change data on both sides, reactivate: the first sync compares every record
    with what SSM holds now. A Sage edit reaches SSM; an SSM edit of a field Sage owns goes back
    to Sage's value (the ledger alone still believed SSM held the old value, so a plain sync
    would have sent nothing); an SSM reassignment of a rep-less account's rep stays."""
    import dagster as dg

    from pipelines import sync
    from pipelines.definitions import defs
    from resources.ssm.client import SSMClient
    from tests.test_end_to_end import _resources

    sage = tmp_path / "sage50-demo.sqlite"
    generate(sage, size="tiny", seed=1)
    with running_sandbox(tmp_path) as ssm, dg.instance_for_test() as instance:
        resources = _resources(tmp_path, sage, ssm)
        warehouse = str(tmp_path / "warehouse.duckdb")
        monkeypatch.setenv("WAREHOUSE_PATH", warehouse)
        job = defs.resolve_job_def(sync.SYNC_JOB)
        assert job.execute_in_process(instance=instance, resources=resources).success
        context = dg.build_schedule_context(
            instance=instance, repository_def=defs.get_repository_def()
        )

        monkeypatch.setenv(company.ACTIVE_VARIABLE, "false")
        skipped = sync.sync_schedule(context)
        assert isinstance(skipped, dg.SkipReason) and "deactivated" in str(skipped.skip_message)
        assert company.deactivated_since(warehouse) is not None

        import duckdb

        with duckdb.connect(warehouse, read_only=True) as con:
            ids = dict(con.execute("SELECT ext_id, ssm_id FROM ssm.synced_accounts").fetchall())
        with sqlite3.connect(sage) as con:
            refs = [r for (r,) in con.execute("SELECT ACCOUNT_REF FROM SALES_LEDGER ORDER BY 1")]
            repless = [r for (r,) in con.execute(
                "SELECT ACCOUNT_REF FROM SALES_LEDGER WHERE coalesce(trim(ANALYSIS_2), '') = '' "
                "ORDER BY 1")]  # fmt: skip
            sage_phone = con.execute(
                "SELECT TELEPHONE FROM SALES_LEDGER WHERE ACCOUNT_REF = ?", (refs[1],)
            ).fetchone()[0]
            # in Sage, while paused: a customer renamed
            con.execute(
                "UPDATE SALES_LEDGER SET NAME = 'Renamed in Sage', "
                "RECORD_MODIFY_DATE = datetime('now') WHERE ACCOUNT_REF = ?",
                (refs[0],),
            )
        assert repless, "the tiny company has a customer without a rep"
        with SSMClient(ssm.base_url, ssm.public_key, ssm.private_key,
                       requests_per_second=200) as client:  # fmt: skip
            # in SSM, while paused: an admin edits a Sage-owned field and reassigns a rep
            client.update("accounts", ids[refs[1]], {"phone": "000 edited in SSM"})
            client.update("accounts", ids[repless[0]], {"salesRepId1": 2})

        monkeypatch.setenv(company.ACTIVE_VARIABLE, "true")
        request = sync.sync_schedule(context)
        assert isinstance(request, dg.RunRequest)
        assert request.tags[company.COMPARE_TAG] == company.FULL
        result = job.execute_in_process(instance=instance, resources=resources, tags=request.tags)
        assert result.success
        state = _state(ssm.control_url, "accounts")

    assert _account(state, ids[refs[0]])["name"] == "Renamed in Sage"  # Sage's edit
    assert _account(state, ids[refs[1]])["phone"] == sage_phone  # Sage wins on its field
    rep = _account(state, ids[repless[0]])["salesRepId1"]
    assert (rep or {}).get("id", rep) == 2  # SSM keeps the rep it assigned
    assert company.deactivated_since(warehouse) is None  # the pause is over
