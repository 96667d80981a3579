"""The index graph on a distributed engine started here (issue #42): Celery with Debian's
redis-server as the broker, three workers that share no folder, a store on ``s3://`` (moto).
Every step of every run is a Celery task; the runs are launched the way a backfill with
``SEMCODE_SHARD_RUNS=each`` launches them (the snapshot, then one run per shard at once, then
the vectors with their checks)."""

import os
import shutil
import time

import pytest

from semcode.store.tables import Store
from tests.conftest import ALL_PASSED, make_repo
from tests.dagster_cli import materialize, wait
from tests.s3_server import S3Server

SHARDS = 6
CELERY = "deploy.celery.definitions"

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.model]


@pytest.fixture
def cluster(tmp_path, request):
    """A store on S3, a repository, and three workers with the deployment's settings, each
    with its own clone of the repository; the instance (Postgres in a real deployment) is the
    one thing besides the store that all of them reach. A test's ``redeliver_s`` mark sets
    how soon a lost worker's task goes to another."""
    pytest.importorskip("dagster_celery")
    if not shutil.which("redis-server"):
        pytest.skip("no redis-server here (Debian: apt-get install redis-server)")
    from tests.celery_cluster import CeleryCluster

    repo = make_repo(tmp_path / "repo")
    s3 = S3Server()
    env = {**os.environ, **s3.env, "DAGSTER_HOME": str(tmp_path / "instance"),
           "SEMCODE_STORE": s3.uri("cluster"), "SEMCODE_SHARDS": str(SHARDS),
           "SEMCODE_SHARD_RUNS": "each", "SEMCODE_CELERY_REDELIVER_S": str(
               getattr(request.node.get_closest_marker("redeliver_s"), "args", [600])[0])}
    (tmp_path / "instance").mkdir()
    try:
        started = CeleryCluster(tmp_path / "cluster", env, checkout=repo)
    except BaseException:
        s3.stop()
        raise
    yield started, s3, repo
    started.stop()
    s3.stop()


def _who_ran_what(instance_home: str) -> dict[str, str]:
    """Each step of every run, and the Celery worker that ran it, from the runs' own events."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(instance_home) as instance:
        ran = {}
        for run in instance.get_runs():
            partition = run.tags.get("dagster/partition", "")
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
                event = entry.dagster_event
                data = event.event_specific_data if event else None
                worker = data.metadata.get("Celery worker") if data and data.metadata else None
                if worker is not None:
                    ran[f"{event.step_key}{'[' + partition + ']' if partition else ''}"] = \
                        worker.value
        return ran


def test_the_graph_runs_as_tasks_on_three_workers_that_share_only_the_store(
        tmp_path, cluster, monkeypatch):
    celery, s3, repo = cluster
    env = {**celery.env, "SEMCODE_REPO": str(repo)}
    store = env["SEMCODE_STORE"]
    wait([materialize(env, CELERY, "repo_snapshot")])
    wait([materialize(env, CELERY, "code_chunks", f"shard-{k:02d}") for k in range(SHARDS)])
    wait([materialize(env, CELERY, "code_vectors")])

    ran = _who_ran_what(env["DAGSTER_HOME"])
    shards = {step: worker for step, worker in ran.items() if step.startswith("code_chunks")}
    assert len(shards) == SHARDS, ran
    assert {"repo_snapshot", "code_vectors"} <= set(ran), ran
    assert len(set(ran.values())) == 3, ran  # every worker took a task
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    handle = Store(store, create=False)
    chunks = handle.scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist()
    vectors = handle.scan("vectors", ["chunk_id"]).column("chunk_id").to_pylist()
    assert chunks and sorted(chunks) == sorted(vectors)
    from semcode.store.checks import live_checks

    assert live_checks(handle, handle.last_vectors()) == ALL_PASSED
    from semcode.store.lease import WriterLease

    assert WriterLease(handle, "test").holder()["owner"] == ""  # no lease left behind
    assert not (repo / ".semcode").exists()


def _first_worker_on(instance_home: str, step: str, timeout: float = 300) -> str:
    """The name of the first Celery worker that starts ``step`` (read from the runs' events
    as they are written), once one does."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ran = _who_ran_what(instance_home)
        except (sqlite3.OperationalError, OperationalError):  # busy with a write: ask again
            ran = {}
        for key, worker in ran.items():
            if key.startswith(step):
                return worker
        time.sleep(0.1)
    raise AssertionError(f"no worker started {step} within {timeout:.0f} s")


@pytest.mark.redeliver_s(15)
def test_a_worker_killed_during_a_shard_leaves_a_store_that_converges(tmp_path, cluster,
                                                                      monkeypatch):
    """SIGKILL of a worker (with all it started) while it parses a shard: its task goes to
    another worker once the broker gives it up, or its run fails naming the step; either
    way the runs after it end with chunks == vectors, the checks green and no lease held."""
    celery, s3, repo = cluster
    env = {**celery.env, "SEMCODE_REPO": str(repo)}
    wait([materialize(env, CELERY, "repo_snapshot")])
    shards = {f"shard-{k:02d}": materialize(env, CELERY, "code_chunks", f"shard-{k:02d}")
              for k in range(SHARDS)}
    victim = _first_worker_on(env["DAGSTER_HOME"], "code_chunks")
    next(w for w in celery.workers if victim.startswith(f"{w.name}@")).kill()
    failed = []
    for shard, proc in shards.items():
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            assert "code_chunks" in err, err[-3000:]  # the failure names the step
            failed.append(shard)
    wait([materialize(env, CELERY, "code_chunks", shard) for shard in failed])  # the next runs
    wait([materialize(env, CELERY, "code_vectors")])
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    handle = Store(env["SEMCODE_STORE"], create=False)
    chunks = handle.scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist()
    vectors = handle.scan("vectors", ["chunk_id"]).column("chunk_id").to_pylist()
    assert chunks and sorted(chunks) == sorted(vectors)
    from semcode.store.checks import live_checks
    from semcode.store.lease import WriterLease

    assert live_checks(handle, handle.last_vectors()) == ALL_PASSED
    assert WriterLease(handle, "test").holder()["owner"] == ""
    outcome = failed or "none (the broker gave the task to another worker)"
    print(f"killed {victim}; failed runs: {outcome}")



def test_a_broker_that_goes_away_fails_the_runs_clearly_and_the_next_ones_converge(
        tmp_path, cluster, monkeypatch):
    """redis-server killed while the shards' runs are under way: each run that has not
    finished fails, saying it lost the broker; the store holds only whole commits, and once a
    broker is back the next runs end consistent."""
    celery, s3, repo = cluster
    env = {**celery.env, "SEMCODE_REPO": str(repo)}
    wait([materialize(env, CELERY, "repo_snapshot")])
    shards = {f"shard-{k:02d}": materialize(env, CELERY, "code_chunks", f"shard-{k:02d}")
              for k in range(SHARDS)}
    _first_worker_on(env["DAGSTER_HOME"], "code_chunks")
    celery.redis.stop()
    failed = []
    for shard, proc in shards.items():
        _, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            # redis-py's words for a server that refused, or closed, the connection
            assert any(lost in err for lost in ("Connection refused", "Error 111 connecting",
                                                "Connection closed by server")), err[-3000:]
            failed.append(shard)
            said = err
    assert failed  # at least the runs still queued
    print(f"runs failed: {failed}; the last said:\n{said[-600:]}")
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    handle = Store(env["SEMCODE_STORE"], create=False)
    assert handle.damaged_tables() == {}  # every commit whole
    celery.redis.start()  # the same address: the workers reconnect by themselves
    wait([materialize(env, CELERY, "code_chunks", shard) for shard in failed])
    wait([materialize(env, CELERY, "code_vectors")])
    from semcode.store.checks import live_checks

    handle = Store(env["SEMCODE_STORE"], create=False)
    assert live_checks(handle, handle.last_vectors()) == ALL_PASSED
