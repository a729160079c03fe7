"""The Dagster UI of the production topology in a real browser: Debian's chromium driven by
Playwright (its wheel carries the driver; no browser is downloaded), against the webserver of the
session's topology (tests/deploy/conftest.py). Each step leaves a screenshot in the test's
temporary folder for a person to look at when it fails.

1. The asset graph loads with the connector's groups (sage, staging, derived, ssm, inbox).
2. A staging asset's page shows its column schema and its column lineage table.
3. The run summary of a sync shows (`ssm/run_summary`'s materialization metadata).
4. A 3-month backfill of the partitioned `sage` assets is launched from the UI and succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.deploy.conftest import RUN_TIMEOUT, Deployment

pytestmark = [pytest.mark.xdist_group("deploy"), pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium's own connections (updates, sync, Google's
# hosts) are refused by this machine's closed network, many at a time.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
GROUPS = ("sage", "staging", "derived", "ssm", "inbox")
UI_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = "Debian's chromium is not installed (apt-get install chromium; `make test` does)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield page
    finally:
        page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
        context.close()


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_the_asset_graph_shows_the_connector_groups(
    deployment: Deployment, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{deployment.topology.url}/asset-groups")
    for group in GROUPS:
        page.get_by_text(group, exact=True).first.wait_for()
    _shot(page, tmp_path, "asset-graph")


def test_an_asset_page_shows_its_column_schema_and_lineage_table(
    deployment: Deployment, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{deployment.topology.url}/assets/staging/customer_accounts")
    page.get_by_text("Columns", exact=True).first.wait_for()
    # A column of the schema, with its declared description.
    page.get_by_text("account_reference", exact=True).first.wait_for()
    page.get_by_text("column_lineage", exact=True).first.wait_for()
    _shot(page, tmp_path, "asset-staging-customer-accounts")


def test_the_run_summary_of_a_sync_shows(deployment: Deployment, page: Any, tmp_path: Path) -> None:
    deployment.a_successful_sync()
    page.goto(f"{deployment.topology.url}/assets/ssm/run_summary")
    for key in ("api_calls", "dead_letters", "pushes"):
        page.get_by_text(key, exact=True).first.wait_for()
    _shot(page, tmp_path, "run-summary")


def _partitioned_sage_assets(deployment: Deployment) -> list[str]:
    data = deployment.topology.graphql(
        "{ assetNodes(group: null) { assetKey { path } groupName isPartitioned } }"
    )
    return sorted(
        "/".join(node["assetKey"]["path"])
        for node in data["assetNodes"]
        if node["groupName"] == "sage" and node["isPartitioned"]
    )


def test_a_three_month_backfill_of_the_sage_assets_launches_from_the_ui(
    deployment: Deployment, page: Any, tmp_path: Path
) -> None:
    import dagster as dg
    from dagster._core.execution.backfill import BulkActionStatus

    from assets.partitions import document_months

    topology = deployment.topology
    deployment.a_successful_sync()  # the backfill's upstream (sage/deleted_records) exists
    partitioned = _partitioned_sage_assets(deployment)
    assert partitioned, "no partitioned asset in group sage"
    months = document_months.get_partition_keys()[-3:]  # in the dialog's default 90-day window
    page.goto(f"{topology.url}/asset-groups")
    # The lineage view's asset selection box (a CodeMirror editor, typed into as a person does).
    page.locator(".CodeMirror").first.click()
    page.keyboard.type(" or ".join(f'key:"{key}"' for key in partitioned))
    page.keyboard.press("Enter")
    for key in partitioned:
        page.get_by_text(key.split("/")[-1], exact=True).first.wait_for()
    _shot(page, tmp_path, "backfill-selection")
    page.get_by_role("button").filter(has_text="Materialize").first.click()
    confirm = page.get_by_role("button", name="Confirm")  # "upstream never materialized"
    dialog = page.get_by_role("dialog").filter(has_text="Partition selection")
    dialog.or_(confirm).first.wait_for()
    if confirm.is_visible():
        confirm.click()
    dialog.wait_for()
    ranges = dialog.get_by_placeholder("No matching partitions")
    ranges.fill(f"[{months[0]}...{months[-1]}]")
    ranges.press("Enter")
    dialog.get_by_text("3 partitions", exact=True).wait_for()
    _shot(page, tmp_path, "backfill-dialog")
    before = time.time()
    dialog.get_by_role("button", name="Launch backfill").click()
    page.get_by_text("Created backfill", exact=False).first.wait_for()
    _shot(page, tmp_path, "backfill-launched")

    backfills = [b for b in topology.instance.get_backfills() if b.backfill_timestamp >= before]
    assert len(backfills) == 1, backfills
    backfill = backfills[0]
    deadline = time.monotonic() + RUN_TIMEOUT
    while backfill.status == BulkActionStatus.REQUESTED and time.monotonic() < deadline:
        time.sleep(0.5)
        backfill = topology.instance.get_backfill(backfill.backfill_id)
    assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, backfill.status
    runs = topology.instance.get_run_records(dg.RunsFilter.for_backfill(backfill.backfill_id))
    assert runs and all(r.dagster_run.status.value == "SUCCESS" for r in runs), [
        (r.dagster_run.run_id, r.dagster_run.status.value) for r in runs
    ]
    # Every month of the range materialized for every partitioned sage asset.
    for key in partitioned:
        materialized = topology.instance.get_materialized_partitions(dg.AssetKey(key.split("/")))
        assert set(months) <= set(materialized), (key, sorted(materialized)[-5:])
    page.goto(f"{topology.url}/runs/b/{backfill.backfill_id}")
    page.get_by_text(backfill.backfill_id, exact=False).first.wait_for()
    _shot(page, tmp_path, "backfill-done")
