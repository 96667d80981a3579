"""No input makes a run hang (DESIGN invariant 10). tree-sitter-perl never returns on some
short inputs (its scanner spins in C, holding the interpreter): each file is chunked in a
child process with a deadline, a file past it is cut by line windows with the reason
``parse_timeout``, and a signal ends a run at once whatever it is parsing."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from semcode.config import DEFAULT_MODEL, Settings
from semcode.index.parse import index_shards
from semcode.index.pipeline import record_snapshot
from semcode.ingest.discovery import INDEXED
from semcode.ingest.sandbox import SandboxedChunker
from semcode.store.tables import Store
from semcode_dagster.assets.local_run import run_index_job
from tests.conftest import ALL_PASSED, commit_all, make_repo
from tests.dagster_helpers import FakeEmbedderResource

# Found by the property tests and by a probe: each never returns from the Perl grammar.
HANGS = {"bad.pl": 'r#"', "bad.pm": "%q(sub# c", "t/bad.t": "{\n// c\n## Title"}


def perl(text: str, path: str = "x.pl") -> tuple[dict, str]:
    return {"path": path, "shard": 0, "language": "perl", "content_hash": "h"}, text


def covered(text: str, rows: list[dict]) -> bool:
    """Every non-blank line of ``text`` is in some row's lines."""
    lines = {n for r in rows for n in range(r["start_line"], r["end_line"] + 1)}
    return all(n in lines for n, line in enumerate(text.split("\n"), 1) if line.strip())


@pytest.fixture(scope="module")
def sandbox():
    chunker = SandboxedChunker(DEFAULT_MODEL, deadline=2)
    yield chunker
    chunker.close()


@pytest.mark.parametrize("text", HANGS.values())
def test_a_grammar_that_never_returns_is_cut_by_line_windows(sandbox, text):
    started = time.monotonic()
    rows, note = sandbox.rows(*perl(text), "c1")
    assert time.monotonic() - started < 10
    assert note.startswith("parse_timeout: the perl grammar did not finish in 2 s")
    assert rows and covered(text, rows)


def test_the_file_after_a_timeout_is_cut_by_its_grammar_again(sandbox):
    sandbox.rows(*perl('r#"'), "c1")
    file = {"path": "ok.py", "shard": 0, "language": "python", "content_hash": "h"}
    rows, note = sandbox.rows(file, "def answer():\n    return 42\n", "c1")
    assert note == "" and [r["kind"] for r in rows] == ["function"]


def test_a_grammar_that_ends_its_process_is_cut_by_line_windows():
    """A grammar that crashes (here: its process killed while it spins) costs that file its
    grammar, not the run."""
    chunker = SandboxedChunker(DEFAULT_MODEL, deadline=120)
    answer: list = []
    worker = threading.Thread(target=lambda: answer.append(chunker.rows(*perl('r#"'), "c")))
    worker.start()
    deadline = time.monotonic() + 60
    while chunker._child is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the child has the file and spins on it
    os.kill(chunker._child.pid, signal.SIGKILL)
    worker.join(timeout=30)
    chunker.close()
    assert answer, "rows() did not return after its child died"
    rows, note = answer[0]
    assert note.startswith("parse_crash") and covered('r#"', rows)


def test_an_interrupted_request_never_answers_the_next_file():
    """A signal that ends a wait for one file (Ctrl-C in a long-lived process) must not leave
    that file's late answer in the pipe for the next file to read."""
    chunker = SandboxedChunker(DEFAULT_MODEL, deadline=60)

    class Stop(Exception):
        pass

    def stop(*_: object) -> None:
        raise Stop

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        with pytest.raises(Stop):
            chunker.columns(*perl('r#"'))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    file = {"path": "ok.py", "shard": 0, "language": "python", "content_hash": "h"}
    started = time.monotonic()
    columns, note = chunker.columns(file, "def answer():\n    return 42\n")
    chunker.close()
    assert note == "" and columns["symbol"] == ["answer"]
    assert time.monotonic() - started < 30


def hanging_repo(root: Path) -> Path:
    repo = make_repo(root)
    for path, text in HANGS.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    commit_all(repo, "perl that hangs its grammar")
    return repo


@pytest.mark.slow
def test_an_index_run_with_hanging_files_ends_green_with_every_line(tmp_path):
    repo, store = hanging_repo(tmp_path / "repo"), str(tmp_path / "store")
    settings = Settings(repo=str(repo), store=store, parse_timeout=2)
    report = run_index_job(settings, embedder=FakeEmbedderResource())
    assert report.ok and report.checks == ALL_PASSED, report.text()
    assert report.files.line_windows == {"parse_timeout": len(HANGS)}
    s = Store(store)
    files = {r["path"]: r for r in s.scan("files", ["path", "status", "reason"]).to_pylist()}
    for path, text in HANGS.items():
        assert files[path]["status"] == INDEXED
        assert files[path]["reason"].startswith("parse_timeout")
        rows = s.scan("chunks", ["start_line", "end_line"], f"path = '{path}'").to_pylist()
        assert covered(text, rows), path
    # unchanged files keep their note, and the next run has nothing to do
    again = run_index_job(settings, embedder=FakeEmbedderResource())
    assert again.ok
    kept = s.scan("files", ["reason"], "reason LIKE 'parse_timeout%'").num_rows
    assert kept == len(HANGS)


@pytest.mark.slow
def test_worker_processes_hold_the_deadline_too(tmp_path):
    repo, store = hanging_repo(tmp_path / "repo"), Store(str(tmp_path / "store"))
    record_snapshot(store, repo=str(repo), shards=4, max_file_bytes=1_000_000)
    reports = index_shards(store_uri=store.uri, repo=str(repo), shards=[0, 1, 2, 3],
                           model=DEFAULT_MODEL, is_git=True, workers=2, parse_timeout=2)
    assert sum(r.line_windows.get("parse_timeout", 0) for r in reports) == len(HANGS)
    indexed = store.count("files", f"status = '{INDEXED}'")
    with_chunks = len(set(store.scan("chunks", ["path"]).column("path").to_pylist()))
    assert with_chunks == indexed


def _sandbox_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"semcode.ingest.sandbox" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_a_run_stuck_in_a_grammar_within_seconds(tmp_path, sig):
    repo, store = hanging_repo(tmp_path / "repo"), str(tmp_path / "store")
    env = {**os.environ, "SEMCODE_PARSE_TIMEOUT": "600"}
    run = subprocess.Popen([sys.executable, "-m", "semcode", "index", str(repo),
                            "--store", store], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (children := _sandbox_children(run.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert children, "the run never started parsing"
        time.sleep(3)  # well inside a grammar that never returns
        sent = time.monotonic()
        run.send_signal(sig)
        output, _ = run.communicate(timeout=30)
        assert time.monotonic() - sent < 10
    finally:
        run.kill()
    assert run.returncode != 0 and "interrupted" in output, output
    time.sleep(0.5)
    assert not any(_alive(pid) for pid in children)
    env["SEMCODE_PARSE_TIMEOUT"] = "2"
    again = subprocess.run([sys.executable, "-m", "semcode", "index", str(repo),
                            "--store", store, "--json"], env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr
