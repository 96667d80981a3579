"""Store problems: each gets a message that says what happened and what to run, and
`semcode index` rebuilds without anyone deleting files by hand. `status` reports the store as
it is, not the last verdict."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assets.local_run import run_index_job
from semcode.config import Settings
from semcode.errors import StoreError, StoreNotFound
from semcode.search import Searcher
from semcode.store import CHUNKS_SCHEMA, Store
from tests.conftest import ALL_PASSED, make_repo
from tests.dagster_helpers import copy_store, indexed_with_fake
from tests.dagster_helpers import index_with_fake as index

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    return indexed_with_fake(tmp_path_factory.mktemp("problems"))




def semcode(*args):
    return subprocess.run([sys.executable, "-m", "semcode.cli", *args], capture_output=True,
                          text=True, timeout=300)


def _data_files(store: str, table: str) -> list[Path]:
    return sorted((Path(store) / f"{table}.lance" / "data").glob("*"))


@pytest.mark.parametrize("table", ["chunks", "vectors", "files", "meta"])
def test_a_table_whose_data_files_are_gone_is_rebuilt_by_the_next_run(indexed, tmp_path,
                                                                      table):
    repo, store = copy_store(indexed, tmp_path)
    victims = _data_files(store, table)
    assert victims
    for victim in victims:
        victim.unlink()
    report = index(repo, store)
    assert report.ok and report.checks == ALL_PASSED, report.text()
    assert report.repairs.get("damaged_tables") == 1


def test_a_table_of_an_older_layout_is_rebuilt(indexed, tmp_path):
    repo, store = copy_store(indexed, tmp_path)
    s = Store(store)
    old = s.scan("chunks", [n for n in CHUNKS_SCHEMA.names if n != "keywords"])
    s.db.create_table("chunks", old, mode="overwrite")  # what an older semcode wrote
    report = index(repo, store)
    assert report.ok and report.repairs.get("damaged_tables") == 1, report.text()
    assert "keywords" in Store(store).table("chunks").schema.names


@pytest.mark.model
def test_deleted_full_text_index_files_fail_search_softly_and_the_next_run_rebuilds(tmp_path):
    """Probe regression: `index` said both checks passed while every keyword search
    crashed, and nothing suggested a rebuild."""
    repo, store = make_repo(tmp_path / "repo"), str(tmp_path / "store")
    assert run_index_job(Settings(repo=str(repo), store=store)).ok
    for index_dir in (Path(store) / "chunks.lance" / "_indices").iterdir():
        for f in index_dir.iterdir():
            f.unlink()
    assert Store(store).keyword_index_problem()
    answer = Searcher(store).answer("user", mode="hybrid")
    assert answer.hits and any("full-text index" in w for w in answer.warnings)
    status = json.loads(semcode("status", "--repo", str(repo), "--store", store,
                                "--json").stdout)
    assert status["checks"]["keyword_index_answers"] is False
    report = run_index_job(Settings(repo=str(repo), store=store))
    assert report.ok and report.checks == ALL_PASSED, report.text()
    assert Searcher(store).answer("user", mode="keyword").hits


def test_status_reports_the_store_as_it_is_and_fails_when_broken(indexed, tmp_path):
    """Probe regression: 5 vectors deleted by hand, and status said "996 / 991" beside
    "vectors_match_chunks passed", exit 0."""
    repo, store = copy_store(indexed, tmp_path)
    healthy = semcode("status", "--repo", str(repo), "--store", store, "--json")
    assert healthy.returncode == 0 and json.loads(healthy.stdout)["checks"] == ALL_PASSED
    Store(store).delete("vectors", "language = 'python'")
    broken = semcode("status", "--repo", str(repo), "--store", store, "--json")
    status = json.loads(broken.stdout)
    assert broken.returncode == 1
    assert status["checks"]["vectors_match_chunks"] is False
    assert status["vectors"] < status["chunks"]


def test_a_missing_store_says_to_run_index(tmp_path):
    with pytest.raises(StoreNotFound, match="semcode index"):
        Searcher(str(tmp_path / "nowhere"))


def test_a_read_only_store_location_is_a_clear_error(indexed, tmp_path):
    if os.geteuid() == 0:
        target = "/proc/semcode-store"  # not writable even by root
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        target = str(tmp_path / "ro" / "store")
    repo, _ = indexed
    with pytest.raises(StoreError, match="cannot write"):
        Store(target)
    proc = semcode("index", str(repo), "--store", target)
    assert proc.returncode != 0 and "cannot write" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.model
def test_an_index_of_a_subdirectory_indexes_its_repository(tmp_path):
    """Probe regression: `semcode index repo/sub` printed paths that did not exist."""
    repo = make_repo(tmp_path / "repo")
    proc = semcode("index", str(repo / "src" / "shop"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "inside the repository" in proc.stderr
    assert (repo / ".semcode" / "lancedb").is_dir()
    assert not (repo / "src" / "shop" / ".semcode").exists()
