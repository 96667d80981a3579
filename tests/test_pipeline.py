"""The whole index_job, on a real git repository, real LanceDB and the real packaged model."""

import shutil

import pytest

from semcode.search.searcher import Searcher
from semcode.store.tables import Store, sql_str
from tests.conftest import ALL_PASSED
from tests.dagster_helpers import checks, defs_for, index_fixture_repo, metadata, run_job

pytestmark = [pytest.mark.model, pytest.mark.slow]
MODEL = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    return index_fixture_repo(tmp_path_factory.mktemp("indexed"))


def test_job_succeeds_with_passing_checks(indexed):
    _, _, result = indexed
    assert result.success
    assert {name: e.passed for name, e in checks(result).items()} == \
        {**ALL_PASSED, "index_matches_branch_head": True}  # the last one only warns


def test_every_chunk_has_one_vector(indexed):
    _, uri, _ = indexed
    store = Store(uri)
    chunk_ids = store.scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist()
    vector_ids = store.scan("vectors", ["chunk_id"]).column("chunk_id").to_pylist()
    assert len(chunk_ids) > 40
    assert sorted(chunk_ids) == sorted(vector_ids)
    assert len(set(chunk_ids)) == len(chunk_ids)


def test_metadata_reports_counts(indexed):
    _, uri, result = indexed
    chunks, vectors = metadata(result, "code_chunks"), metadata(result, "code_vectors")
    assert chunks["chunks_total"] == Store(uri).count("chunks") == vectors["total"]
    assert vectors["embedded"] + vectors["reused"] == vectors["total"]
    assert vectors["texts_per_s"] > 0 and vectors["store_bytes"] > 0 and vectors["dim"] == 384
    assert metadata(result, "repo_snapshot")["skipped"] == 7


@pytest.mark.parametrize("query,symbol", [
    ("check whether an email address is valid", "validate_email_address"),
    ("least recently used cache lookup", "LRU.Get"),
    ("determinant of a matrix", "Matrix.determinant"),
    ("deposit money into a bank account", "Bank.Account.Deposit"),
    ("delay calling a function until input stops", "debounce"),
])
def test_search_finds_the_described_function_in_the_top_3(indexed, query, symbol):
    _, uri, _ = indexed
    hits = Searcher(uri, model=MODEL).search(query, k=3)
    assert symbol in [h.symbol for h in hits]


def test_running_twice_changes_nothing(indexed):
    repo, uri, _ = indexed
    before = sorted(Store(uri).scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist())
    again = run_job(defs_for(repo, uri))
    assert again.success
    after = sorted(Store(uri).scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist())
    assert after == before
    assert metadata(again, "code_chunks")["parsed"] == 0
    assert metadata(again, "code_vectors")["embedded"] == 0
    assert Store(uri).count("vectors") == len(before)


def _tampered_copy(indexed, tmp_path):
    repo, uri, _ = indexed
    copy = str(tmp_path / "store")
    shutil.copytree(uri, copy)
    return repo, copy


def test_check_fails_and_names_a_missing_vector(indexed, tmp_path):
    repo, uri = _tampered_copy(indexed, tmp_path)
    store = Store(uri)
    victim = store.scan("vectors", ["chunk_id"]).column("chunk_id")[0].as_py()
    store.delete("vectors", f"chunk_id = {sql_str(victim)}")
    result = run_job(defs_for(repo, uri), "checks_only")
    evaluation = checks(result)["vectors_match_chunks"]
    assert not evaluation.passed
    assert victim in evaluation.metadata["sample_missing"].value
    assert evaluation.metadata["missing_vectors"].value == 1


def test_check_fails_and_names_an_orphaned_vector(indexed, tmp_path):
    repo, uri = _tampered_copy(indexed, tmp_path)
    store = Store(uri)
    row = store.scan("vectors", ["chunk_id", "text_hash", "model", "path", "language", "kind",
                                 "vector"]).slice(0, 1).to_pylist()[0]
    row["chunk_id"] = "orphan-0000"
    store.table("vectors").add([row])
    result = run_job(defs_for(repo, uri), "checks_only")
    evaluation = checks(result)["vectors_match_chunks"]
    assert not evaluation.passed
    assert "orphan-0000" in evaluation.metadata["sample_orphaned"].value


def test_failed_check_fails_the_run(indexed, tmp_path):
    repo, uri = _tampered_copy(indexed, tmp_path)
    Store(uri).delete("chunks", "path = 'src/shop/cart.py'")
    result = run_job(defs_for(repo, uri), "checks_only")
    assert not result.success
    evaluation = checks(result)["chunks_match_manifest"]
    assert "src/shop/cart.py" in evaluation.metadata["sample_without_chunks"].value


def test_a_failed_check_says_what_it_found_and_how_to_repair(indexed, tmp_path):
    from semcode_dagster.assets.local_run import summarize

    repo, uri = _tampered_copy(indexed, tmp_path)
    Store(uri).delete("chunks", "path = 'src/shop/cart.py'")
    report = summarize(run_job(defs_for(repo, uri), "checks_only"))
    assert report.checks["chunks_match_manifest"] is False and not report.ok
    why = report.check_failures["chunks_match_manifest"]
    assert "1 indexed files have no chunks" in why and "src/shop/cart.py" in why
    assert "run `semcode index` to repair" in why
    assert f"check chunks_match_manifest failed: {why}" in report.text()
    assert set(report.check_failures) == {n for n, ok in report.checks.items() if not ok}


def test_status_rereads_the_store_and_says_what_a_failed_check_found(indexed, tmp_path):
    from semcode.interfaces.status import index_status

    repo, uri = _tampered_copy(indexed, tmp_path)
    assert index_status(uri, str(repo)).healthy
    Store(uri).delete("chunks", "path = 'src/shop/cart.py'")
    status = index_status(uri, str(repo))
    assert not status.healthy and status.checks["chunks_match_manifest"] is False
    assert "src/shop/cart.py" in status.check_failures["chunks_match_manifest"]
    assert "semcode index" in status.text()
