"""Crash safety: a real index run is killed (SIGKILL) at many points — mid-parse, between
shard commits, mid-embedding, mid-index-build, mid-compaction. Each time the store stays
readable at its last committed version, search keeps answering, no process of the run
survives it, and the next run converges to what a fresh run builds, checks green."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from semcode.config import Settings
from semcode.search.searcher import Searcher
from semcode.store.tables import Store
from semcode_dagster.assets.local_run import run_index_job
from tests.conftest import ALL_PASSED, commit_all, make_repo

pytestmark = [pytest.mark.model, pytest.mark.slow]
KILL_RUN = Path(__file__).parent / "kill_run.py"

# (stage, reported count, seconds after it): where the kill lands
KILL_POINTS = [
    ("snapshot", 0, 0.0),
    ("parse", 0, 0.2),  # workers starting
    ("parse", 0, 1.5),  # workers parsing and committing shards
    ("parse", 1, 0.0),  # as the first files are done
    ("embed", 0, 0.3),  # mid-embedding
    ("embed", 0, 1.5),
    ("index", 0, 0.0),  # the full-text, id and shard indexes being built
    ("index", 1, 0.0),  # the chunks table's compaction, when due
    ("index", 2, 0.05),  # the vectors table's index and compaction
]


def session_processes(sid: int) -> list[str]:
    """Processes still alive in the killed run's session (its parse workers, git, …)."""
    out = subprocess.run(["ps", "-eo", "pid=,sid=,stat=,args="], capture_output=True,
                         text=True).stdout
    return [line for line in out.splitlines()
            if line.split()[1] == str(sid) and not line.split()[2].startswith("Z")]


def change(repo: Path, n: int) -> None:
    """A commit that touches parsing and embedding: a new file and an edited one."""
    (repo / "src" / "shop" / f"feature_{n}.py").write_text(
        f"def feature_{n}(order):\n    return order.total * {n}\n\n\n"
        f"def describe_feature_{n}():\n    return 'feature {n} for orders'\n")
    cart = repo / "src" / "shop" / "cart.py"
    cart.write_text(cart.read_text() + f"\n\ndef cart_helper_{n}(cart):\n"
                    f"    return len(cart.items) + {n}\n")
    commit_all(repo, f"change {n}")


def state(store: str) -> tuple[list[str], list[str]]:
    s = Store(store)
    return (sorted(s.scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist()),
            sorted(s.scan("vectors", ["chunk_id"]).column("chunk_id").to_pylist()))


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    repo = make_repo(root / "repo")
    store = str(root / "store")
    assert run_index_job(Settings(repo=str(repo), store=store)).ok
    return repo, store


@pytest.mark.parametrize("stage,done,delay", KILL_POINTS,
                         ids=[f"{s}{d}+{t}s" for s, d, t in KILL_POINTS])
def test_a_run_killed_here_leaves_a_readable_store_and_the_next_run_converges(
        indexed, tmp_path, stage, done, delay):
    repo, store = indexed
    change(repo, len(list((repo / "src" / "shop").glob("feature_*.py"))))
    with open(tmp_path / "run.log", "wb") as log:  # a file, not a pipe a survivor could hold
        proc = subprocess.Popen([sys.executable, str(KILL_RUN), str(repo), store, stage,
                                 str(done), str(delay)], stdout=log, stderr=log,
                                start_new_session=True)
        proc.wait(timeout=600)
    assert proc.returncode == -9, (tmp_path / "run.log").read_text()[-2000:]
    deadline = time.monotonic() + 5
    while session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert session_processes(proc.pid) == []  # no worker outlives the run

    # readable at its last committed version, and search answers (saying what is missing)
    chunks, vectors = state(store)
    answer = Searcher(store).answer("total of an order", k=3)
    assert answer.hits
    assert bool(answer.warnings) == (len(vectors) < len(chunks))

    report = run_index_job(Settings(repo=str(repo), store=store))
    assert report.ok and report.checks == ALL_PASSED, report.text()
    fresh = str(tmp_path / "fresh")
    assert run_index_job(Settings(repo=str(repo), store=fresh)).ok
    assert state(store) == state(fresh)
    assert state(store)[0] == state(store)[1]


def test_search_keeps_answering_while_a_run_rewrites_the_index(indexed, tmp_path):
    repo, store = indexed
    change(repo, 100)
    with open(tmp_path / "run.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "semcode", "index", str(repo),
                                 "--store", store], stdout=log, stderr=log)
        searcher, answered = Searcher(store), 0
        while proc.poll() is None:
            assert searcher.answer("total of an order", k=3).hits
            answered += 1
        assert proc.wait(timeout=600) == 0, (tmp_path / "run.log").read_text()[-2000:]
    assert answered > 3
    assert searcher.answer("feature 100 for orders", k=3).hits[0].path.endswith(
        "feature_100.py")
