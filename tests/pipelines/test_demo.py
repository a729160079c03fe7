"""`make demo`'s console: progress per layer instead of Dagster's event stream, every event in a
log file it names, the instance still holding the whole run; one sentence when something fails.
And the demo itself, once, as `make demo` runs it: a sales rep's records in the sandbox reach the
demo Sage company and come back to SSM, and the last run writes nothing."""

import io
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from pipelines import demo
from pipelines.instance import open_instance
from sandbox.ssm.testing import SandboxProcess, running_sandbox

EVENT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


@dg.asset(key=["sage", "customers"], group_name="sage")
def customers(context: dg.AssetExecutionContext) -> int:
    context.log.debug("a debug line the console must not show")
    return 1


@dg.asset(key=["sage", "stock"], group_name="sage")
def stock(context: dg.AssetExecutionContext) -> int:
    context.log.warning("stock read through pyodbc\n(detail on a second line)")
    return 2


@dg.asset(key=["staging", "accounts"], group_name="staging", deps=[customers, stock])
def accounts() -> int:
    return 3


@dg.asset(key=["staging", "orders"], group_name="staging", deps=[accounts])
def orders() -> int:
    raise ValueError("The Sage 50 demo company x.sqlite does not exist: generate it")


def job(*assets: dg.AssetsDefinition) -> dg.JobDefinition:
    selection = dg.AssetSelection.assets(*assets)
    defs = dg.Definitions(assets=list(assets), jobs=[dg.define_asset_job("tiny", selection)])
    return defs.resolve_job_def("tiny")


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    monkeypatch.setenv("SSM_BASE_URL", "https://ssm.invalid/api/v4")  # no sandbox counters
    (tmp_path / "instance").mkdir()
    no_telemetry = {"telemetry": {"enabled": False}}
    with dg.DagsterInstance.local_temp(str(tmp_path / "instance"), no_telemetry) as persistent:
        yield persistent


def test_the_console_shows_layers_and_the_log_file_every_event(
    instance: dg.DagsterInstance, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = demo.run_job(job(customers, stock, accounts), instance, "initial", tmp_path / "logs")

    out, err = capfd.readouterr()
    assert run.success and err == ""
    assert "DEBUG" not in out and "STEP_START" not in out
    lines = out.splitlines()
    assert lines[:2] == [
        f"initial sync run {run.run_id}: every event in {run.log_path}",
        "  WARNING sage__stock: stock read through pyodbc",
    ]
    assert re.fullmatch(r"  sage\s+2/2 assets\s+[\d.]+ s", lines[2])
    assert re.fullmatch(r"  staging\s+1/1 assets\s+[\d.]+ s", lines[3])
    assert len(lines) == 4

    # The file holds one entry per event the instance stored (the UI shows the same run).
    assert run.log_path == tmp_path / "logs" / f"demo-{run.run_id}.log"
    text = run.log_path.read_text(encoding="utf-8")
    stored = instance.all_logs(run.run_id)
    assert sum(1 for line in text.splitlines() if EVENT_LINE.match(line)) == len(stored)
    assert sum(1 for entry in stored if entry.level == 10) > 10  # DEBUG events kept in full
    assert "a debug line the console must not show" in text
    assert "    (detail on a second line)" in text
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS


def test_a_failed_step_is_one_sentence_on_the_console_and_its_trace_in_the_file(
    instance: dg.DagsterInstance, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = demo.run_job(
        job(customers, stock, accounts, orders), instance, "initial", tmp_path / "logs"
    )

    out, _ = capfd.readouterr()
    assert not run.success
    assert run.failures == [
        "staging__orders: ValueError: The Sage 50 demo company x.sqlite does not exist: generate it"
    ]
    assert "Traceback" not in out and "Stack Trace" not in out
    assert re.search(r"  staging\s+1/2 assets", out)
    assert "Stack Trace" in run.log_path.read_text(encoding="utf-8")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_live_line_counts_every_layer(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    screen = Terminal()
    demo.run_job(job(customers, stock, accounts), instance, "initial", tmp_path / "logs", screen)

    shown = screen.getvalue()
    assert "\r  sage 1/2, staging 0/1  (" in shown
    # What stays on screen once every live line is overwritten: the lines a log file would get.
    final = [line.split("\r")[-1] for line in shown.rstrip("\n").split("\n")]
    assert len(final) == 4 and final[1].startswith("  WARNING sage__stock")
    assert re.fullmatch(r"  sage\s+2/2 assets\s+[\d.]+ s", final[2])
    assert re.fullmatch(r"  staging\s+1/1 assets\s+[\d.]+ s", final[3])


def test_without_dagster_home_the_demo_opens_the_projects_instance_in_data_dagster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("DAGSTER_INSTANCE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # dagster.yaml's data/dagster is relative to where Dagster starts
    with open_instance() as instance:
        assert Path(instance.root_directory).resolve() == tmp_path / "data" / "dagster"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    assert (tmp_path / "data" / "dagster" / "history" / "runs.db").is_file()


def test_an_instance_directory_that_cannot_be_made_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").write_text("a file where the data directory should be")
    with pytest.raises(SystemExit) as stopped:
        open_instance()
    message = str(stopped.value)
    assert message.startswith(f"Cannot create the Dagster instance at {tmp_path / 'data'}")
    assert "\n" not in message and "DAGSTER_HOME" in message


def test_a_relative_dagster_home_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", "relative/home")
    with pytest.raises(SystemExit, match=r"^Cannot open the Dagster instance: .*absolute path"):
        open_instance()


# --- the demo, once ------------------------------------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT = 600
# Settings of the developer's shell the demo must not inherit: it runs on its own files.
FOREIGN = ("SAGE_", "SSM_", "WAREHOUSE_", "DAGSTER_", "DATA_DIR", "DEMO_SIZE")


@dataclass
class DemoRun:
    out: str
    data: Path
    ssm: SandboxProcess

    def section(self, title: str) -> list[list[str]]:
        """The rows of the table under the line starting with `title`, cells split on 2+ spaces."""
        lines = self.out.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith(title))
        rows = []
        for line in lines[start + 1 :]:
            if not line.startswith("  "):
                break
            rows.append(re.split(r"\s{2,}", line.strip()))
        return rows

    def ssm_record(self, resource: str, record_id: int) -> dict[str, Any]:
        state = httpx.get(self.ssm.control_url + "/state", params={"resource": resource}).json()
        return next(r for r in state[resource] if r["id"] == record_id)

    def sage(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.data / "sage50-demo.sqlite") as con:
            return con.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """`python -m pipelines.demo` on the tiny company against a sandbox process (no rate limit)."""
    tmp = tmp_path_factory.mktemp("demo")
    home = tmp / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with running_sandbox(tmp) as ssm:
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
        env.update(
            DATA_DIR=str(tmp / "data"), DAGSTER_HOME=str(home), DEMO_SIZE="tiny",
            SSM_BASE_URL=ssm.base_url, SSM_PUBLIC_KEY=ssm.public_key,
            SSM_PRIVATE_KEY=ssm.private_key, SSM_REQUESTS_PER_SECOND="200",
        )  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.demo"], cwd=PROJECT_ROOT, env=env,
            capture_output=True, text=True, timeout=DEMO_TIMEOUT, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        yield DemoRun(done.stdout, tmp / "data", ssm)


@pytest.mark.slow
@pytest.mark.demo
def test_the_demo_acts_as_a_rep_and_the_client_company_comes_back_read_only(
    demo_run: DemoRun,
) -> None:
    out = demo_run.out
    assert "Traceback" not in out
    acting = re.search(r"acting as sales rep (.+) \(SSM user (\d+)\) .* the forms at (\S+)", out)
    assert acting, out
    rep_name, page = acting.group(1), acting.group(3)
    assert page == demo_run.ssm.root_url + "/#act-as-rep"
    assert 'id="act-as-rep"' in httpx.get(demo_run.ssm.root_url + "/").text  # the forms exist

    back = demo_run.section("what came back to SSM")[1:]
    assert sorted(row[1] for row in back) == [
        "Client company", "contact", "contact", "contact", "prospect company",
    ]  # fmt: skip
    client, prospect = (
        next(row for row in back if row[1] == what)
        for what in ("Client company", "prospect company")
    )
    # The Client company: an account code in Sage with the rep's name, extId + read-only in SSM.
    client_id = int(client[0].removeprefix("accounts "))
    ((code, name, rep, marker),) = demo_run.sage(
        "SELECT ACCOUNT_REF, NAME, ANALYSIS_2, ANALYSIS_1 FROM SALES_LEDGER WHERE ANALYSIS_3 = ?",
        f"SSM:{client_id}",
    )
    assert re.fullmatch(r"Harbour Lights [0-9a-f]{4} Ltd", name)
    assert rep == rep_name and not marker  # no prospect marker: a customer
    assert client[3:] == [code, "true"]
    record = demo_run.ssm_record("accounts", client_id)
    assert (record["extId"], record["readOnly"]) == (code, True)
    # Its two contacts are contact addresses of the new customer, and SSM holds their keys.
    contacts = demo_run.sage(
        "SELECT ADDRESS_REF, CONTACT_NAME, NOTES FROM SALES_DEL_ADDR "
        "WHERE ACCOUNT_REF = ? AND ADDRESS_TYPE = 1 ORDER BY ADDRESS_REF",
        code,
    )
    assert [c[1] for c in contacts] == ["Ada Quayle", "Ben Okafor"]
    for number, _, notes in contacts:
        contact_id = int(str(notes).removeprefix("SSM:"))
        assert demo_run.ssm_record("contacts", contact_id)["extId"] == f"{code}/{number}"
    # The prospect carries the marker in Sage and stays editable in SSM.
    prospect_id = int(prospect[0].removeprefix("accounts "))
    ((prospect_code, prospect_marker),) = demo_run.sage(
        "SELECT ACCOUNT_REF, ANALYSIS_1 FROM SALES_LEDGER WHERE ANALYSIS_3 = ?",
        f"SSM:{prospect_id}",
    )
    assert prospect_marker == "Prospect"
    assert demo_run.ssm_record("accounts", prospect_id)["readOnly"] is False
    assert prospect[3:] == [prospect_code, "false"]
    # The contact on a customer the first run pushed: an address of that account in Sage.
    (on_customer,) = [
        row for row in back if row[1] == "contact" and not row[3].startswith(code + "/")
    ]
    account, _, number = on_customer[3].partition("/")
    assert account not in (code, prospect_code)
    assert demo_run.sage(
        "SELECT CONTACT_NAME FROM SALES_DEL_ADDR WHERE ACCOUNT_REF = ? AND ADDRESS_REF = ?",
        account, int(number),
    ) == [(on_customer[2],)]  # fmt: skip


@pytest.mark.slow
@pytest.mark.demo
def test_the_demo_prints_the_reverse_flows_figures_and_a_last_run_that_writes_nothing(
    demo_run: DemoRun,
) -> None:
    figures = demo_run.section("reverse flow per run")
    assert figures[0] == ["asset", "run", *demo.REVERSE_FIGURES]
    by_run = {(row[0], row[1]): [int(c) for c in row[2:]] for row in figures[1:]}
    # created, acknowledged_in_ssm, deferred, dead_letters, conflicts, sage_writes, api_calls
    assert by_run[("inbox/sage_customers", "reps")][:6] == [2, 2, 0, 0, 0, 2]
    assert by_run[("inbox/sage_contacts", "reps")][:6] == [3, 3, 0, 0, 0, 3]
    for asset in ("inbox/sage_customers", "inbox/sage_contacts"):
        assert by_run[(asset, "repeat")][0] == by_run[(asset, "repeat")][5] == 0

    section = demo_run.section("its decisions in the quotes and reps runs")
    decided = {row[0]: row[1:] for row in section[1:]}
    mine = {k: v for k, v in decided.items() if re.fullmatch(r"(accounts|contacts) \d+", k)}
    assert sorted(v[0] for v in mine.values()) == ["created"] * 5
    assert any(v[1].startswith("Sage client ") for v in mine.values())
    assert any(v[1].startswith("Sage prospect ") for v in mine.values())

    sage_rows = demo_run.section("what reached Sage")
    assert ["ACCOUNT_REF", "ADDRESS_REF", "CONTACT_NAME", "SSM contact"] in sage_rows
    assert "the repeat run found nothing new: 0 writes to SSM, 0 Sage writes" in demo_run.out
    for label in ("initial", "reps", "repeat"):
        assert re.search(rf"^{label} sync run \S+ succeeded in [\d.]+ s$", demo_run.out, re.M)


RULES = ("special_price", "price_list", "sales_price")


@pytest.mark.slow
@pytest.mark.demo
def test_the_demos_quotes_come_back_priced_with_the_rule_per_line(demo_run: DemoRun) -> None:
    out = demo_run.out
    made = re.findall(r"^  quote (\d+) for (\S+) '.*' \(([^;]+); ([A-Z]{3})", out, re.M)
    assert [m[2] for m in made] == ["a price list and a quantity break", "a foreign customer"]
    assert made[0][3] != made[1][3]  # the second customer's currency is not the base one
    rules_seen: list[str] = []
    for quote_id, account, _, currency in made:
        ((number, kind, sage_account),) = demo_run.sage(
            "SELECT ORDER_NUMBER, ORDER_OR_QUOTE, ACCOUNT_REF FROM SALES_ORDER "
            "WHERE CUST_ORDER_NUMBER = ?",
            f"SSM:{quote_id}",
        )
        assert (kind, sage_account) == ("Quotation", account)
        order = demo_run.ssm_record("salesorders", int(quote_id))
        assert (order["extId"], order["readOnly"]) == (str(number), True)
        assert re.search(
            rf"^  quote {quote_id} \(.+\) for {account} .+, in {currency}: Sage quotation "
            rf"{number}; in SSM status 'Quote - priced', extId {number}, readOnly true",
            out,
            re.M,
        )
        # SSM's lines carry Sage's unit prices, read-only.
        sage_lines = demo_run.sage(
            "SELECT ITEM_NUMBER, FOREIGN_UNIT_PRICE FROM SOP_ITEM WHERE ORDER_NUMBER = ? "
            "ORDER BY ITEM_NUMBER",
            number,
        )
        state = httpx.get(
            demo_run.ssm.control_url + "/state", params={"resource": "salesordersLines"}
        ).json()["salesordersLines"]
        ssm_lines = sorted(
            (line for line in state if line["salesOrderId"]["id"] == int(quote_id)),
            key=lambda line: line["order"],
        )
        assert [(line["order"], line["price"], line["readOnly"]) for line in ssm_lines] == [
            (item, pytest.approx(price), True) for item, price in sage_lines
        ]
        # One printed row per Sage line, ending with the rule that fired (or why none is said).
        start = out.index(f"  quote {quote_id} (")
        table = out[start:].splitlines()[2 : 2 + len(sage_lines)]
        for row, (item, _) in zip(table, sage_lines, strict=True):
            cells = re.split(r"\s{2,}", row.strip())
            assert cells[0] == str(item)
            assert cells[-1] in (*RULES, "explanation not available"), row
            rules_seen.append(cells[-1])
    if "explanation not available" not in rules_seen:
        assert "price_list" in rules_seen  # the first customer's list fired on a listed product
    # The quote job posted and acknowledged both; no sync handles a quote.
    figures = demo_run.section("reverse flow per run")
    quoted = [row for row in figures if row[0] == "inbox/sage_quotes"]
    assert [row[1] for row in quoted] == ["quotes"]
    assert quoted[0][2:4] == ["2", "2"]  # created, acknowledged in SSM
    assert re.search(r"^quotes ssm_quotes run \S+ succeeded in [\d.]+ s$", demo_run.out, re.M)


@pytest.mark.slow
@pytest.mark.demo
def test_two_demo_companies_with_the_same_codes_land_side_by_side(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """`make demo DEMO_COMPANIES=2`: north and south have the same account codes; SSM holds
    both, each under its company's extId prefix with its own names, and each company's repeat
    sync writes nothing."""
    tmp = tmp_path_factory.mktemp("demo2")
    home = tmp / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with running_sandbox(tmp) as ssm:
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
        env.update(
            DATA_DIR=str(tmp / "data"), DAGSTER_HOME=str(home), DEMO_SIZE="tiny",
            DEMO_COMPANIES="2", SSM_BASE_URL=ssm.base_url, SSM_PUBLIC_KEY=ssm.public_key,
            SSM_PRIVATE_KEY=ssm.private_key, SSM_REQUESTS_PER_SECOND="200",
        )  # fmt: skip
        env.pop("COMPANIES_FILE", None)
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.demo"], cwd=PROJECT_ROOT, env=env,
            capture_output=True, text=True, timeout=DEMO_TIMEOUT, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        state = httpx.get(ssm.control_url + "/state", params={"resource": "accounts"}).json()
    out = done.stdout
    for name in ("north", "south"):
        assert f"the {name} repeat run found nothing new: 0 writes to SSM, 0 Sage writes" in out
    accounts = [a for a in next(iter(state.values())) if not a.get("deleted") and a.get("extId")]
    north = {a["extId"][6:]: a["name"] for a in accounts if a["extId"].startswith("NORTH-")}
    south = {a["extId"][6:]: a["name"] for a in accounts if a["extId"].startswith("SOUTH-")}
    assert north and north.keys() == south.keys()  # the same codes, two SSM accounts each
    assert all(south[c] == north[c][:50] + " south" for c in north)
    assert (tmp / "data" / "companies" / "north" / "sage50-demo.sqlite").is_file()
    assert "north: 30 accounts under NORTH-" in out
