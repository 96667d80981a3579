"""The Kubernetes deployment folder: its definitions load with dagster-k8s' executor and the
same graph, its instance file is valid for the K8s run launcher, and per-shard runs — what a
pod per shard does — write one store side by side and end consistent."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from semcode.config import Settings
from semcode.store.tables import Store
from tests import dagster_cli
from tests.conftest import ALL_PASSED, make_repo
from tests.s3_server import S3Server

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"


def test_the_k8s_definitions_load_with_the_k8s_executor(tmp_path, monkeypatch):
    pytest.importorskip("dagster_k8s")
    monkeypatch.setenv("SEMCODE_REPO", str(tmp_path))
    monkeypatch.setenv("SEMCODE_STORE", "s3://bucket/semcode")
    monkeypatch.setenv("SEMCODE_SHARD_RUNS", "each")
    proc = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m",
                           "deploy.k8s.definitions"], capture_output=True, text=True,
                          cwd=ROOT, env=os.environ, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from deploy.k8s.definitions import GPU_STEP, defs

    job = defs.resolve_job_def("index_job")
    assert job.executor_def.name == "semcode_k8s_executor"
    assert defs.resolve_assets_def("code_chunks").backfill_policy.max_partitions_per_run == 1
    assert GPU_STEP["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_the_celery_definitions_load_with_the_celery_executor_and_its_settings(tmp_path):
    """The executor and the workers read one set of settings (deploy/celery/config.py): what
    a worker's module says is what the executor was configured with."""
    pytest.importorskip("dagster_celery")
    env = {**os.environ, "SEMCODE_REPO": str(tmp_path), "SEMCODE_STORE": "s3://bucket/semcode",
           "SEMCODE_SHARD_RUNS": "each", "SEMCODE_CELERY_BROKER": "redis://broker:6379/0",
           "SEMCODE_CELERY_REDELIVER_S": "7200"}
    proc = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m",
                           "deploy.celery.definitions"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from deploy.celery.config import celery_config, worker_module

    config, module = celery_config(env), {}
    exec(worker_module(env), module)  # noqa: S102 - the module a worker imports
    assert module["broker_url"] == config["broker"] == "redis://broker:6379/0"
    assert module["result_backend"] == "redis://broker:6379/1"
    assert module["broker_transport_options"]["visibility_timeout"] == 7200
    assert module["task_acks_late"] and module["worker_prefetch_multiplier"] == 1
    instance = yaml.safe_load((ROOT / "deploy" / "celery" / "dagster.yaml").read_text())
    assert "postgres" in instance["storage"]


def test_the_instance_file_is_valid_for_the_k8s_run_launcher():
    pytest.importorskip("dagster_k8s")
    from dagster._config import validate_config
    from dagster_k8s import K8sRunLauncher

    instance = yaml.safe_load((K8S / "dagster.yaml").read_text())
    assert instance["run_launcher"]["class"] == "K8sRunLauncher"
    checked = validate_config(K8sRunLauncher.config_type(), instance["run_launcher"]["config"])
    assert checked.success, checked.errors
    assert instance["concurrency"]["pools"]["granularity"] == "op"


def test_shard_runs_each_backfills_one_shard_per_run():
    from semcode_dagster.definitions import build_defs

    one = build_defs(Settings(shard_runs="one")).resolve_assets_def("code_chunks")
    each = build_defs(Settings(shard_runs="each")).resolve_assets_def("code_chunks")
    assert one.backfill_policy.max_partitions_per_run is None
    assert each.backfill_policy.max_partitions_per_run == 1


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.parametrize("where", ["local", "s3"])
def test_per_shard_runs_side_by_side_end_consistent(tmp_path, monkeypatch, where):
    """One process per shard, all at once (a pod per shard, here): the parallel write path
    of a distributed deployment, on a local store and on an S3 one (a local S3-compatible
    server)."""
    repo = make_repo(tmp_path / "repo")
    server = S3Server() if where == "s3" else None
    store = server.uri("shards") if server else str(tmp_path / "store")
    env = {**os.environ, **(server.env if server else {}), "SEMCODE_REPO": str(repo),
           "SEMCODE_STORE": store, "SEMCODE_SHARDS": "4", "SEMCODE_SHARD_RUNS": "each",
           "DAGSTER_HOME": str(tmp_path)}
    for key, value in (server.env if server else {}).items():
        monkeypatch.setenv(key, value)  # this process reads the store too
    try:
        _per_shard_runs(env, store)
    finally:
        if server:
            server.stop()
    assert not (repo / ".semcode").exists()  # nothing written beside the repository


def _per_shard_runs(env: dict, store: str) -> None:
    def materialize(select: str, partition: str | None = None) -> subprocess.Popen:
        return dagster_cli.materialize(env, "semcode_dagster.definitions", select, partition)

    dagster_cli.wait([materialize("repo_snapshot")])
    dagster_cli.wait([materialize("code_chunks", f"shard-{k:02d}") for k in range(4)])
    dagster_cli.wait([materialize("code_vectors")])
    handle = Store(store, create=False)
    chunks = handle.scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist()
    vectors = handle.scan("vectors", ["chunk_id"]).column("chunk_id").to_pylist()
    assert chunks and sorted(chunks) == sorted(vectors) and len(set(chunks)) == len(chunks)
    shards = set(handle.scan("chunks", ["shard"]).column("shard").to_pylist())
    assert shards <= set(range(4)) and len(shards) > 1  # written by different runs
    from semcode.store.checks import live_checks

    assert live_checks(handle, handle.last_vectors()) == ALL_PASSED
