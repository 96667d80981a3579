"""The Dagster UI as a person uses it, in a real browser: `dagster dev` on a loopback port,
headless Chromium, "Materialize all" over every partition while an index_job run (what the
sensor sends) is launched too. Every run succeeds, no two overlap, each shard partition's
`chunks` sum to the store's rows, and the checks pass. Screenshots of each step land in
``test-artifacts/ui/`` (the README's tour uses them).

Skipped where Chromium, its driver or selenium is missing; `.ci/run` installs all three."""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from semcode.store.checks import live_checks
from semcode.store.tables import Store
from tests.conftest import make_repo

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "ui"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow, pytest.mark.model, pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and DRIVER and importlib.util.find_spec("selenium")),
                       reason="needs chromium, chromedriver and selenium (.ci/run installs them)"),
]
WAIT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ui(tmp_path):
    """`dagster dev` over a fresh repository and store, in its own process group (it may
    inherit SIGINT/SIGTERM as ignored: the group is killed at the end)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    repo, store, port = make_repo(tmp_path / "repo"), tmp_path / "store", free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "SEMCODE_REPO": str(repo),
           "SEMCODE_STORE": str(store), "HF_HUB_OFFLINE": "1"}
    log = open(tmp_path / "dagster-dev.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-m",
                             "semcode_dagster.definitions", "-h", "127.0.0.1", "-p",
                             str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "dagster-dev.log").read_text()[-3000:]
                time.sleep(1)
        yield url, env, home, store
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=15)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--window-size=1600,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def click(driver, text: str, required: bool = True) -> bool:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for button in driver.find_elements(By.XPATH, f"//button[normalize-space()='{text}']"):
            if button.is_displayed() and button.is_enabled():
                button.click()
                time.sleep(1.5)  # the UI re-renders
                return True
        if not required:
            return False
        time.sleep(0.5)
    raise AssertionError(f"no enabled button {text!r} on {driver.current_url}")


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def launch_index_job(env: dict) -> None:
    """What git_push_sensor sends: index_job over every shard, through the run queue."""
    tags = {"dagster/asset_partition_range_start": "shard-00",
            "dagster/asset_partition_range_end": "shard-07"}
    subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-m",
                    "semcode_dagster.definitions", "-j", "index_job", "--tags",
                    json.dumps(tags)], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=900)


def finished(instance) -> bool:
    """The backfill is settled (its status leaves REQUESTED) and every run has ended."""
    backfills, runs = instance.get_backfills(), instance.get_runs()
    return bool(backfills) and len(runs) >= 2 and all(r.is_finished for r in runs) and all(
        b.status.value != "REQUESTED" for b in backfills)


def test_materialize_all_from_the_ui_while_a_sensor_run_is_launched(ui, browser, monkeypatch):
    import dagster as dg
    from selenium.webdriver.common.by import By

    url, env, home, store = ui
    browser.get(f"{url}/asset-groups")
    time.sleep(5)
    click(browser, "Skip", required=False)  # Dagster's newsletter dialog, first visit only
    shot(browser, "1-asset-graph")
    click(browser, "Materialize all…")
    shot(browser, "2-launch-dialog-custom")  # opens on "Custom", 0 partitions, greyed out
    click(browser, "All")
    shot(browser, "3-launch-dialog-all")
    click(browser, "Launch backfill")
    launch_index_job(env)

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()  # the one dagster dev runs on
    deadline = time.monotonic() + WAIT_S
    while not finished(instance):
        assert time.monotonic() < deadline, "the runs did not finish in time"
        time.sleep(3)
    runs = instance.get_runs()
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), \
        [(r.run_id, r.status) for r in runs]
    spans = sorted((s.start_time, s.end_time) for s in
                   (instance.get_run_stats(r.run_id) for r in runs))
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"two runs overlapped: {spans}"
    chunks_run = [r for r in runs if r.asset_selection and  # one step writes both
                  {a.to_user_string() for a in r.asset_selection} == {"code_chunks",
                                                                      "code_symbols"}]
    assert len(chunks_run) == 1  # the backfill's shards: one run, not one per shard
    latest = {}
    for key in (f"shard-{n:02d}" for n in range(8)):
        result = instance.fetch_materializations(dg.AssetRecordsFilter(
            asset_key=dg.AssetKey("code_chunks"), asset_partitions=[key]), limit=1)
        latest[key] = result.records[0].asset_materialization.metadata["chunks"].value
    handle = Store(str(store), create=False)
    assert sum(latest.values()) == handle.count("chunks") > 0
    assert all(live_checks(handle, handle.last_vectors()).values())
    for run in runs:
        for record in instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records:
            evaluation = record.event_log_entry.dagster_event.event_specific_data
            assert evaluation.passed, (evaluation.check_name, evaluation.description)
    browser.get(f"{url}/asset-groups")
    deadline, shown = time.monotonic() + 90, ""
    while "5 / 5 Passed" not in shown:  # code_vectors' checks, once the graph has loaded them
        assert time.monotonic() < deadline, shown
        time.sleep(1)
        shown = " ".join(browser.find_element(By.TAG_NAME, "body").text.split())
    shot(browser, "4-asset-graph-after")
    browser.get(f"{url}/runs")
    time.sleep(4)
    shot(browser, "5-runs")


def test_the_ui_shows_what_semcode_index_did(tmp_path, browser):
    """The doors share one history: `semcode index`, then `semcode ui` (no DAGSTER_HOME
    anywhere) shows that run, the shards it filled and its checks passed."""
    from selenium.webdriver.common.by import By

    repo = make_repo(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(HF_HUB_OFFLINE="1", XDG_DATA_HOME=str(tmp_path / "data"))
    subprocess.run([sys.executable, "-m", "semcode", "index", str(repo)], env=env,
                   check=True, capture_output=True, timeout=900)
    port, log = free_port(), open(tmp_path / "ui.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "semcode", "ui", "--repo", str(repo),
                             "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def page_says(path: str, *words: str) -> str:
        browser.get(f"{url}{path}")
        deadline, shown = time.monotonic() + 120, ""
        while not all(word in shown for word in words):
            assert time.monotonic() < deadline, shown[-2000:]
            time.sleep(1)
            shown = " ".join(browser.find_element(By.TAG_NAME, "body").text.split())
        return shown

    try:
        for _ in range(WAIT_S):
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "ui.log").read_text()[-3000:]
                time.sleep(1)
        browser.get(f"{url}/asset-groups")
        time.sleep(3)
        click(browser, "Skip", required=False)  # the newsletter dialog, first visit only
        page_says("/runs", "index_job", "Success")
        shot(browser, "6-runs-after-semcode-index")
        page_says("/asset-groups", "5 / 5 Passed")  # code_vectors' checks, from the CLI's run
        shot(browser, "7-asset-graph-after-semcode-index")
        page_says("/assets/code_chunks?view=partitions", "Materialized (8)", "Missing (0)")
        shot(browser, "8-partitions-after-semcode-index")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
