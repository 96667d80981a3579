"""The shape of the code: settings as a value, definitions from settings, typed reports that
round-trip, and errors that are typed where they are decided."""

import dagster as dg
import pytest
from dagster._core.definitions.metadata import normalize_metadata
from pydantic import ValidationError

from semcode.config import DEFAULT_SHARDS, Settings
from semcode.errors import CommitConflict, ConfigError, SemcodeError
from semcode.reports import ChunksReport, IndexReport, ShardReport, VectorReport
from semcode.sharding import parse_shard_ranges, shard_ranges
from semcode.status_reports import IndexStatus
from semcode.store.tables import Store, retry_conflicts
from semcode_dagster.assets.local_run import run_index_job
from semcode_dagster.assets.metadata import from_metadata, materialized, to_metadata
from semcode_dagster.definitions import build_defs
from tests.dagster_helpers import FakeEmbedderResource, run_job


def test_settings_come_from_the_environment_given_and_nothing_else():
    env = {"SEMCODE_REPO": "/src/app", "SEMCODE_SHARDS": "16", "SEMCODE_BATCH_SIZE": " 4 ",
           "SEMCODE_MODEL": ""}
    settings = Settings.from_env(env)
    assert (settings.repo, settings.shards, settings.batch_size) == ("/src/app", 16, 4)
    assert settings.model == Settings().model  # empty means the default
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env(env, shards=3, store=None).shards == 3  # None keeps


@pytest.mark.parametrize("env,named", [
    ({"SEMCODE_SHARDS": "eight"}, "SEMCODE_SHARDS"),
    ({"SEMCODE_SHARDS": "0"}, "SEMCODE_SHARDS"),
    ({"SEMCODE_BATCH_SIZE": "-2"}, "SEMCODE_BATCH_SIZE"),
])
def test_a_bad_setting_is_a_config_error_that_names_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_two_definitions_with_different_shard_counts_coexist_in_one_process(tmp_path):
    four = build_defs(Settings(repo=str(tmp_path), shards=4))
    sixteen = build_defs(Settings(repo=str(tmp_path), shards=16))
    for defs, count in ((four, 4), (sixteen, 16)):
        job = defs.resolve_job_def("index_job")
        assert job.partitions_def is not None
        assert len(job.partitions_def.get_partition_keys()) == count
        chunks = defs.resolve_assets_def("code_chunks")
        assert len(chunks.partitions_def.get_partition_keys()) == count
    assert len(build_defs(Settings(repo=str(tmp_path))).resolve_job_def("index_job")
               .partitions_def.get_partition_keys()) == DEFAULT_SHARDS


@pytest.mark.slow
def test_runs_in_one_process_each_use_their_own_shard_count(sample_repo, tmp_path):
    """The bug this shape removes: a second index call kept the first call's shard count."""
    for count in (3, 5):
        store = str(tmp_path / f"store-{count}")
        report = run_index_job(Settings(repo=str(sample_repo), store=store, shards=count),
                               embedder=FakeEmbedderResource())
        assert report.ok, report.text()
        shards = set(Store(store).scan("files", ["shard"]).column("shard").to_pylist())
        assert shards == set(range(count))
        assert Store(store).last_snapshot().shards == count


def test_a_report_round_trips_through_metadata_and_json():
    shards = [ShardReport(shard=0, files_seen=3, parsed=2, unchanged=1, chunks_added=7,
                          chunks_total=7, seconds=0.25, new_skips={"vanished": 1}),
              ShardReport(shard=5, files_seen=1, skipped=1, seconds=0.5)]
    report = ChunksReport.from_shards("abc123", shards)
    assert (report.files_seen, report.chunks_total, report.seconds) == (4, 7, 0.5)
    normalized = normalize_metadata(to_metadata(report))  # what an event stores
    assert isinstance(normalized["chunks_total"], dg.IntMetadataValue)  # the UI plots it
    # the shards as ranges, and the figures of the shards this run changed (shard 5: none)
    assert normalized["shards"].value == "0,5"
    assert from_metadata(ChunksReport, normalized) == \
        report.model_copy(update={"per_shard": shards[:1]})
    assert ChunksReport.from_dict(report.to_dict()) == report
    assert ChunksReport.model_validate_json(report.to_json()) == report


@pytest.mark.parametrize("shards,text", [([], ""), ([3], "3"), ([0, 1, 2, 5, 7, 8], "0-2,5,7-8"),
                                         (list(range(1024)), "0-1023")])
def test_shards_are_written_as_ranges_and_read_back(shards, text):
    assert shard_ranges(shards) == text and parse_shard_ranges(text) == shards


def test_a_range_step_s_metadata_does_not_grow_with_its_shards():
    """Dagster copies a range step's metadata onto every partition's event: metadata that
    grew with the shard count made a run's events grow with its square (1,024 shards kept a
    three-file run busy for minutes)."""
    def size(count: int) -> int:
        reports = [ShardReport(shard=s, files_seen=1, skipped=1) for s in range(count)]
        reports[1] = ShardReport(shard=1, files_seen=2, parsed=2, chunks_added=4,
                                 chunks_total=4)
        return len(str(normalize_metadata(to_metadata(ChunksReport.from_shards("c", reports)))))

    assert size(1024) <= size(16) + 8  # "0-1023" for "0-15"


def test_shards_with_nothing_in_them_cost_no_query_each(tmp_path, monkeypatch):
    """A repository with fewer files than shards: the empty shards are found with a scan of
    two shard columns, not two queries a shard; every shard still gets its report."""
    from semcode.index import parse
    from tests.conftest import init_repo

    repo = tmp_path / "repo"
    repo.mkdir()
    for n in range(3):
        (repo / f"f{n}.py").write_text(f"def f{n}():\n    return {n}\n")
    (repo / "logo.png").write_bytes(b"\x89PNG")
    init_repo(repo, "three files")
    store = str(tmp_path / "store")
    run_index_job(Settings(repo=str(repo), store=store, shards=256),
                  embedder=FakeEmbedderResource())
    scans = []
    original = Store.scan
    monkeypatch.setattr(Store, "scan", lambda self, name, *a, **k: scans.append(name) or
                        original(self, name, *a, **k))
    reports = parse.index_shards(store_uri=store, repo=str(repo), shards=list(range(256)),
                                 model="all-MiniLM-L6-v2", is_git=True)
    assert [r.shard for r in reports] == list(range(256))
    assert sum(r.files_seen for r in reports) == 4 and sum(r.skipped for r in reports) == 1
    assert sum(r.unchanged for r in reports) == 3 and not any(r.changed for r in reports)
    assert len(scans) <= 2 + 2 * 3  # the two columns, then two queries per shard with files


def test_a_renamed_or_missing_key_fails_loudly():
    data = VectorReport(model="m", total=3).to_dict()
    data["vectors_total"] = data.pop("total")
    with pytest.raises(ValidationError):
        VectorReport.from_dict(data)
    with pytest.raises(ValidationError):
        VectorReport.from_dict({"total": 3})  # no model


def test_the_index_json_contract_keeps_its_fields():
    data = IndexReport().to_dict()
    assert {"commit", "files", "chunks", "vectors", "checks"} <= set(data)
    assert set(data["files"]) == {"seen", "parsed", "unchanged", "skipped", "removed",
                                  "line_windows"}
    assert set(data["chunks"]) == {"total", "added", "removed"}
    assert set(data["vectors"]) == {"total", "embedded", "embedded_ahead", "reused",
                                    "deleted", "backend"}
    status = IndexStatus(store="s", exists=True).to_dict()
    assert {"store", "exists", "files", "chunks", "vectors", "model", "indexed_commit",
            "checks", "freshness"} <= set(status)


@pytest.mark.slow
def test_a_run_summary_is_read_back_from_its_metadata(sample_repo, tmp_path):
    from tests.dagster_helpers import defs_for

    store = str(tmp_path / "store")
    result = run_job(defs_for(sample_repo, store, FakeEmbedderResource()))
    chunks = materialized(result, "code_chunks", ChunksReport)
    vectors = materialized(result, "code_vectors", VectorReport)
    assert chunks is not None and vectors is not None
    assert chunks.chunks_total == Store(store).count("chunks") == vectors.total
    assert sum(r.chunks_total for r in chunks.per_shard) == chunks.chunks_total


def test_only_commit_conflicts_are_retried():
    calls = []

    def conflicted_twice():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("lance error: Retryable commit conflict for version 7: …")
        return "done"

    assert retry_conflicts(conflicted_twice) == "done" and len(calls) == 3

    def broken():
        calls.append(1)
        raise RuntimeError("lance error: Invalid user input: no such column")

    calls.clear()
    with pytest.raises(RuntimeError, match="no such column"):
        retry_conflicts(broken)
    assert len(calls) == 1

    def always():
        raise OSError("Commit conflict for version 3: too much contention")

    with pytest.raises(CommitConflict):
        retry_conflicts(always, attempts=2)
    assert issubclass(CommitConflict, SemcodeError)
