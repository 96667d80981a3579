"""Ordering between assets replaces the old sentinel: vectors start only after every shard
committed. A fake embedder is enough here; search quality is tested with the real model."""

import dagster as dg
import pytest

from semcode.sharding import shard_keys
from semcode.store.tables import Store
from semcode_dagster.assets.checks import chunks_match_manifest, vectors_match_chunks
from semcode_dagster.assets.index import build_index_assets
from semcode_dagster.assets.partitions import shard_partitions
from semcode_dagster.resources import RepoResource, StoreResource
from tests.dagster_helpers import FakeEmbedderResource, checks, defs_for, run_job

pytestmark = pytest.mark.slow
repo_snapshot, code_chunks, code_vectors = build_index_assets(shard_partitions(8))


def _step_events(result, kind: str) -> dict[str, int]:
    return {e.step_key: i for i, e in enumerate(result.all_events)
            if e.event_type_value == kind}


def test_vectors_start_after_every_shard_finished(sample_repo, tmp_path):
    result = run_job(defs_for(sample_repo, str(tmp_path / "s"), FakeEmbedderResource()))
    assert result.success
    starts, ends = _step_events(result, "STEP_START"), _step_events(result, "STEP_SUCCESS")
    assert ends["repo_snapshot"] < starts["code_chunks"]
    assert ends["code_chunks"] < starts["code_vectors"]
    assert all(e.passed for e in checks(result).values())


def test_range_run_hands_every_shard_to_one_step(sample_repo, tmp_path):
    result = run_job(defs_for(sample_repo, str(tmp_path / "s"), FakeEmbedderResource()))
    partitions = {e.partition for e in result.get_asset_materialization_events()
                  if e.asset_key == dg.AssetKey("code_chunks")}
    assert partitions == set(shard_keys(8))


def test_per_shard_runs_then_vectors_equal_one_range_run(sample_repo, tmp_path):
    """What a UI backfill does: one run per shard, then one vectors run."""
    ranged = str(tmp_path / "ranged")
    run_job(defs_for(sample_repo, ranged, FakeEmbedderResource()))

    per_shard = str(tmp_path / "per_shard")
    resources = {"repo": RepoResource(path=str(sample_repo)),
                 "store": StoreResource(uri=per_shard), "embedder": FakeEmbedderResource()}
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize([repo_snapshot], resources=resources, instance=instance).success
    for key in shard_keys(8):
        assert dg.materialize([code_chunks], partition_key=key, resources=resources,
                              instance=instance, selection=[code_chunks]).success
    final = dg.materialize([code_vectors, vectors_match_chunks, chunks_match_manifest],
                           resources=resources, instance=instance)
    assert final.success

    def ids(uri, table):
        return sorted(Store(uri).scan(table, ["chunk_id"]).column("chunk_id").to_pylist())

    assert ids(per_shard, "chunks") == ids(ranged, "chunks")
    assert ids(per_shard, "vectors") == ids(ranged, "vectors")


def test_vectors_before_chunks_fails_its_check(sample_repo, tmp_path):
    """If vectors ran before all shards (the old race), the blocking check says so."""
    uri = str(tmp_path / "s")
    resources = {"repo": RepoResource(path=str(sample_repo)),
                 "store": StoreResource(uri=uri), "embedder": FakeEmbedderResource()}
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([repo_snapshot], resources=resources, instance=instance)
    dg.materialize([code_chunks], partition_key="shard-00", resources=resources,
                   instance=instance, selection=[code_chunks])
    dg.materialize([code_vectors], resources=resources, instance=instance)
    for key in shard_keys(8)[1:]:
        dg.materialize([code_chunks], partition_key=key, resources=resources,
                       instance=instance, selection=[code_chunks])
    result = run_job(defs_for(sample_repo, uri, FakeEmbedderResource()), "checks_only")
    evaluation = checks(result)["vectors_match_chunks"]
    assert not evaluation.passed
    assert evaluation.metadata["missing_vectors"].value > 0
