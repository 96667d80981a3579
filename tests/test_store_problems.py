"""Store problems: each gets a message that says what happened and what to run, and
`semcode index` rebuilds without anyone deleting files by hand. `status` reports the store as
it is, not the last verdict."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from semcode.config import Settings
from semcode.errors import StoreError, StoreNotFound
from semcode.search.searcher import Searcher
from semcode.store.search_indexes import keyword_index_problem
from semcode.store.tables import CHUNKS_SCHEMA, Store
from semcode_dagster.assets.local_run import run_index_job
from tests.conftest import ALL_PASSED, make_repo
from tests.dagster_helpers import copy_store, indexed_with_fake
from tests.dagster_helpers import index_with_fake as index

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    return indexed_with_fake(tmp_path_factory.mktemp("problems"))




def semcode(*args):
    return subprocess.run([sys.executable, "-m", "semcode", *args], capture_output=True,
                          text=True, timeout=900)


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
    assert keyword_index_problem(Store(store))
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


# -- damaged files: truncated, zeroed or overwritten, in any table or index ------------------
DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "zeroed": lambda data: bytes(len(data)),
    "garbage": lambda data: os.urandom(len(data)),
}
# An index's directory, known by a file only its kind of index has ("ids": the BTree
# lookups, of chunk ids and of paths).
INDEX_FILES = {"ids": "page_data.lance", "shards": "bitmap_page_lookup.lance",
               "full_text": "part_0_invert.lance"}


def damage(path: Path, how: str) -> None:
    path.write_bytes(DAMAGE[how](path.read_bytes()))


def newest_data_file(store: str, table: str) -> Path:
    """The data file written last: one the table's current version surely reads."""
    return max(_data_files(store, table), key=lambda p: p.stat().st_mtime_ns)


def index_files(store: str, kind: str) -> list[Path]:
    found = sorted((Path(store) / "chunks.lance" / "_indices").glob(f"*/{INDEX_FILES[kind]}"))
    assert found, kind
    return found


def assert_reported_broken(repo, store: str) -> dict:
    proc = semcode("status", "--repo", str(repo), "--store", store, "--json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    status = json.loads(proc.stdout)
    assert not all(status["checks"].values())
    assert "semcode index" in (status["hint"] or "") + " ".join(
        status["check_failures"].values())
    return status


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("table", ["chunks", "vectors", "files", "meta"])
def test_a_damaged_data_file_is_reported_and_a_plain_run_repairs_it(indexed, tmp_path, table,
                                                                    how):
    repo, store = copy_store(indexed, tmp_path)
    damage(newest_data_file(store, table), how)
    status = assert_reported_broken(repo, store)
    assert table in status["check_failures"]["store_readable"]
    report = index(repo, store)
    assert report.ok and report.checks == ALL_PASSED, report.text()
    assert report.repairs.get("damaged_tables") == 1
    assert semcode("status", "--repo", str(repo), "--store", store).returncode == 0


@pytest.mark.parametrize("how", ["truncated", "garbage"])
@pytest.mark.parametrize("kind", INDEX_FILES)
def test_a_damaged_index_file_is_reported_and_a_plain_run_rebuilds_it(indexed, tmp_path, kind,
                                                                      how):
    repo, store = copy_store(indexed, tmp_path)
    for file in index_files(store, kind):
        damage(file, how)
    assert_reported_broken(repo, store)
    report = index(repo, store)
    assert report.ok and report.checks == ALL_PASSED, report.text()
    assert semcode("status", "--repo", str(repo), "--store", store).returncode == 0


def test_a_damaged_writer_lease_is_made_anew_by_the_next_run(indexed, tmp_path):
    repo, store = copy_store(indexed, tmp_path)
    damage(newest_data_file(store, "writer_lease"), "garbage")
    report = index(repo, store)
    assert report.ok and report.checks == ALL_PASSED, report.text()


@pytest.fixture(scope="module")
def indexed_for_real(tmp_path_factory):
    """The fixture repository indexed with the packaged model (search needs it)."""
    root = tmp_path_factory.mktemp("real")
    repo, store = make_repo(root / "repo"), str(root / "store")
    assert run_index_job(Settings(repo=str(repo), store=store)).ok
    return repo, store


@pytest.mark.model
def test_a_plain_index_of_a_damaged_store_does_not_take_the_up_to_date_shortcut(
        indexed_for_real, tmp_path):
    from semcode.index.pipeline import nothing_to_do

    repo, store = copy_store(indexed_for_real, tmp_path)
    settings = Settings(repo=str(repo), store=store)
    assert nothing_to_do(settings) is not None  # healthy: nothing to do
    damage(newest_data_file(store, "vectors"), "truncated")
    assert nothing_to_do(settings) is None
    proc = semcode("index", str(repo), "--store", store, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["repairs"] == {"damaged_tables": 1}


@pytest.mark.model
def test_search_over_damaged_vectors_answers_by_keyword_and_says_so(indexed_for_real,
                                                                    tmp_path):
    _, store = copy_store(indexed_for_real, tmp_path)
    damage(newest_data_file(store, "vectors"), "garbage")
    proc = semcode("search", "getUserName", "--store", store, "--json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["hits"] and {h["matched_by"] for h in answer["hits"]} == {"keyword"}
    assert any("by keyword only" in w for w in answer["warnings"])


@pytest.mark.model
@pytest.mark.parametrize("how", ["truncated", "zeroed"])
def test_search_over_damaged_chunks_says_it_cannot_answer(indexed_for_real, tmp_path, how):
    _, store = copy_store(indexed_for_real, tmp_path)
    for victim in _data_files(store, "chunks"):
        damage(victim, how)
    proc = semcode("search", "user name", "--store", store)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot be read" in proc.stderr and "semcode index" in proc.stderr


@pytest.mark.model
def test_search_over_a_damaged_meta_table_answers_and_says_so(indexed_for_real, tmp_path):
    _, store = copy_store(indexed_for_real, tmp_path)
    damage(newest_data_file(store, "meta"), "garbage")
    proc = semcode("search", "getUserName", "--store", store, "--json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["hits"] and any("meta table cannot be read" in w for w in answer["warnings"])


def test_a_table_being_created_reads_as_empty_and_a_writer_still_creates_it(tmp_path):
    """A table's folder is listed before its first version is committed: a reader in that
    moment (`semcode status`, MCP `index_status` during a first index) reads it as empty, as
    a moment before, instead of failing with "Table 'chunks' was not found"."""
    store = Store(str(tmp_path / "store"))
    store.files()
    (tmp_path / "store" / "chunks.lance").mkdir()  # listed, not yet openable
    assert store.has("chunks")
    assert store.count("chunks") == 0
    assert store.scan("chunks", ["path"]).num_rows == 0
    assert list(store.stream("chunks", ["path"])) == []
    assert store.chunks().count_rows() == 0  # a writer creates it all the same
