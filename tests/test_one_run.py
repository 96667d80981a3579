"""Whoever launches an index — the UI's "Materialize all", the asset CLI over a partition
range — it is one run over every shard, in the pool that keeps index runs apart."""

import os
import subprocess
import sys

import pytest

from semcode.config import Settings
from semcode.store.tables import Store
from semcode_dagster.assets.scope import INDEX_POOL
from semcode_dagster.definitions import build_defs
from tests.conftest import make_repo

INDEX_ASSETS = ("repo_snapshot", "code_chunks", "code_vectors")


def test_every_index_asset_backfills_in_one_run_inside_the_index_pool(tmp_path):
    defs = build_defs(Settings(repo=str(tmp_path), store=str(tmp_path / "s")))
    for key in INDEX_ASSETS:
        asset = defs.resolve_assets_def(key)
        assert asset.backfill_policy is not None, key
        assert asset.backfill_policy.max_partitions_per_run is None, key  # single_run()
        assert asset.node_def.pool == INDEX_POOL, key


@pytest.mark.slow
def test_the_asset_cli_materializes_a_partition_range_in_one_run(tmp_path):
    repo, store = make_repo(tmp_path / "repo"), tmp_path / "store"
    env = {**os.environ, "SEMCODE_REPO": str(repo), "SEMCODE_STORE": str(store)}
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
         "semcode_dagster.definitions", "--select", "repo_snapshot,code_chunks",
         "--partition-range", "shard-00...shard-07"],
        capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("RUN_SUCCESS") == 1
    assert "BetaWarning" not in proc.stderr
    handle = Store(str(store), create=False)
    indexed = handle.count("files", "status = 'indexed'")
    assert indexed > 0 and handle.count("chunks") >= indexed


@pytest.mark.slow
def test_each_partition_of_a_range_run_ends_with_its_own_shards_figures(sample_repo, tmp_path):
    from tests.dagster_helpers import FakeEmbedderResource, defs_for, run_job

    store = str(tmp_path / "store")
    result = run_job(defs_for(sample_repo, store, FakeEmbedderResource()))
    assert result.success
    latest: dict[str, dict] = {}
    for event in result.get_asset_materialization_events():  # in the order they happened
        m = event.step_materialization_data.materialization
        if m.asset_key.to_user_string() == "code_chunks":
            latest[m.partition] = {k: v.value for k, v in m.metadata.items()}
    handle = Store(store)
    assert len(latest) == 8
    for key, figures in latest.items():
        shard = int(key.removeprefix("shard-"))
        assert figures["chunks"] == handle.count("chunks", f"shard = {shard}")
        assert figures["files"] == handle.count("files", f"shard = {shard} AND status = 'indexed'")
        assert isinstance(figures["files"], int) and isinstance(figures["parse_seconds"], float)
    assert sum(f["chunks"] for f in latest.values()) == handle.count("chunks")
    assert len({f["chunks"] for f in latest.values()}) > 1  # not the run's totals eight times
