"""semcode as people install it: the wheel in a fresh virtual environment outside the
checkout (the CPU PyTorch first, as the README says), used from another directory on a
separate repository — index, search, MCP, the CI command and the UI. Catches what a checkout
hides: package data left out, a module found only because the checkout is the current
directory, names semcode does not own."""

import contextlib
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

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import make_repo

pytestmark = [pytest.mark.slow, pytest.mark.model]

ROOT = Path(__file__).resolve().parent.parent
TORCH = os.environ.get("SEMCODE_TEST_TORCH", "torch==2.13.0")  # the README's CPU build


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the environment's bin folder, a folder outside the checkout, a repository there)."""
    work = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    wheel = next((work / "dist").glob("semcode-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    bin_ = work / "venv" / "bin"
    for spec in ([TORCH], [str(wheel)]):
        proc = subprocess.run([str(bin_ / "python"), "-m", "pip", "install", "--quiet", *spec],
                              capture_output=True, text=True, timeout=1800, cwd=work)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return bin_, work, make_repo(work / "elsewhere")


def run(bin_: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_ / args[0]), *args[1:]], cwd=cwd, capture_output=True,
                          text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **env})


def test_the_wheel_installs_only_names_semcode_owns(installed):
    bin_, _, _ = installed
    site = Path(run(bin_, ROOT, "python", "-c", "import sysconfig; "
                    "print(sysconfig.get_paths()['purelib'])").stdout.strip())
    record = next(site.glob("semcode-*.dist-info")) / "RECORD"
    tops = {line.split("/", 1)[0] for line in record.read_text().splitlines()
            if not line.startswith("..")}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"semcode", "semcode_dagster"}
    assert (site / "semcode_dagster" / "dagster.yaml").is_file()  # the run queue and pools
    tuned = site / "semcode" / "embed" / "models" / "minilm-code"  # SEMCODE_MODEL=code's deltas
    assert {p.name for p in tuned.iterdir()} >= {"adapter_model.safetensors",
                                                 "adapter_config.json", "manifest.json"}


def test_from_another_folder_it_indexes_searches_and_serves_mcp(installed):
    bin_, work, repo = installed
    indexed = run(bin_, work, "semcode", "index", str(repo), "--json")
    assert indexed.returncode == 0, indexed.stderr[-3000:]
    assert json.loads(indexed.stdout)["checks"]
    found = run(bin_, work, "semcode", "search", "--repo", str(repo), "--json",
                "check that an email address is well formed")
    assert found.returncode == 0, found.stderr[-3000:]
    assert json.loads(found.stdout)["hits"][0]["symbol"] == "validate_email_address"

    async def tools():
        server = StdioServerParameters(command=str(bin_ / "semcode"),
                                       args=["mcp", "--repo", str(repo)],
                                       env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=work)
        async with Client(server) as client:
            return {t.name for t in (await client.list_tools()).tools}

    assert anyio.run(tools) == {"search_code", "find_similar", "find_symbol", "index_status",
                                "update_index"}


def test_the_ci_command_runs_from_any_folder(installed):
    """As a Dagster user types it: no tags (the whole index), SEMCODE_REPO only."""
    bin_, work, repo = installed
    proc = run(bin_, work, "dagster", "job", "execute", "-m", "semcode_dagster.definitions",
               "-j", "index_job", SEMCODE_REPO=str(repo), SEMCODE_STORE=str(work / "ci-store"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / "ci-store" / "chunks.lance").is_dir()


def test_semcode_ui_starts_the_graph_with_the_run_queue(installed, tmp_path):
    bin_, work, repo = installed
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tmp_path / "dagster-home"
    proc = subprocess.Popen([str(bin_ / "semcode"), "ui", "--repo", str(repo), "--port",
                             str(port)], cwd=work, start_new_session=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "DAGSTER_HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, answered = time.monotonic() + 240, ""
        while time.monotonic() < deadline and not answered:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info",
                                            timeout=5) as reply:
                    answered = reply.read().decode()
            except OSError:
                time.sleep(1)
        assert "dagster_webserver_version" in answered
        assert "semcode/index" in (home / "dagster.yaml").read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_semcode_ui_ends_when_told_and_leaves_no_dagster_process(installed, tmp_path):
    """SIGTERM to `semcode ui` alone (not its group), as a supervisor or an IDE sends it:
    nothing of its session is left running after it — also when it was started with SIGINT
    ignored, as a shell starts a background job (dagster dev stops its children with SIGINT:
    inherited ignored, they never stopped, and neither did it)."""
    bin_, work, repo = installed
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([str(bin_ / "semcode"), "ui", "--repo", str(repo), "--port",
                             str(port)], cwd=work, start_new_session=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1",
                                 "DAGSTER_HOME": str(tmp_path / "dagster-home")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))

    def session() -> list[str]:
        listed = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(proc.pid)],
                                capture_output=True, text=True).stdout
        return [line for line in listed.splitlines() if line.strip()]

    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and len(session()) < 3:  # dev, webserver, daemon…
            time.sleep(1)
        assert len(session()) >= 3, session()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and session():
            time.sleep(1)
        assert session() == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_the_checkout_still_loads_its_workspace():
    proc = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w",
                           "workspace.yaml"], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "SEMCODE_REPO": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_demo_installs_only_what_indexing_needs(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")

    def planned(target: str) -> str:
        return subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
                              cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    demo, test = planned("demo"), planned("test")
    assert "echo \"setup 1/4" in demo and "pip install --quiet -e ." in demo
    assert "[dev]" not in demo and "dagster-k8s" not in demo and "kubernetes" not in demo
    assert "[dev]" in test and "dagster-k8s" in test
