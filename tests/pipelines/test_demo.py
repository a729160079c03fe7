"""`make demo`'s console: progress per layer instead of Dagster's event stream, every event in a
log file it names, the instance still holding the whole run; one sentence when something fails."""

import io
import re
from pathlib import Path

import dagster as dg
import pytest

from pipelines import demo
from pipelines.instance import open_instance

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
