"""A push that lands while an index run is in progress is indexed by the following run, and
index runs never overlap."""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from semcode.store.tables import Store
from semcode_dagster.assets.jobs import index_job
from semcode_dagster.assets.scope import INDEX_RUN_TAG
from semcode_dagster.resources import RepoResource, StoreResource
from semcode_dagster.sensors.git_push import build_git_push_sensor
from tests.conftest import commit_all, git, make_repo
from tests.dagster_helpers import FakeEmbedderResource, checks, defs_for, run_job

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

git_push_sensor = build_git_push_sensor(8)


def _tick(repo, uri, cursor):
    context = dg.build_sensor_context(cursor=cursor, resources={
        "repo": RepoResource(path=str(repo)), "store": StoreResource(uri=uri)})
    return git_push_sensor(context)


def _ids(uri, table):
    return sorted(Store(uri).scan(table, ["chunk_id"]).column("chunk_id").to_pylist())


def test_push_during_a_run_is_indexed_by_the_next_run(tmp_path):
    repo = make_repo(tmp_path / "repo")
    uri = str(tmp_path / "store")
    defs = defs_for(repo, uri, FakeEmbedderResource())
    first = _tick(repo, uri, cursor=None)
    assert run_job(defs, tags=first.run_requests[0].tags).success

    (repo / "src/shop/coupons.py").write_text("def coupon_value(code):\n    return 5\n")
    c2 = commit_all(repo, "coupons")
    second = _tick(repo, uri, cursor=first.cursor)
    # c3 lands after run 2 was requested and before it ran: run 2 is "in progress"
    (repo / "web/cache.js").write_text("export function memo(fn) {\n  return fn;\n}\n")
    c3 = commit_all(repo, "memo")
    third = _tick(repo, uri, cursor=second.cursor)
    assert third.cursor == c3

    run2 = run_job(defs, tags=second.run_requests[0].tags)
    verdicts = checks(run2)
    lag = verdicts.pop("index_matches_branch_head")
    assert run2.success and all(e.passed for e in verdicts.values())
    assert Store(uri).last_vectors().commit == c2  # pinned, though the branch is at c3
    assert not lag.passed and lag.severity == dg.AssetCheckSeverity.WARN  # and says so
    assert lag.metadata["commits_behind"].value == 1

    run3 = run_job(defs, tags=third.run_requests[0].tags)
    assert run3.success and Store(uri).last_vectors().commit == c3

    scratch = str(tmp_path / "scratch")
    assert run_job(defs_for(repo, scratch, FakeEmbedderResource())).success
    assert _ids(uri, "chunks") == _ids(scratch, "chunks")
    assert _ids(uri, "vectors") == _ids(scratch, "vectors")
    assert git(repo, "rev-parse", "HEAD") == c3


def test_index_runs_never_overlap(tmp_path):
    """index_job carries the index tag, and the instance config limits each value of that
    tag (a repository) to one run at a time; the queue holds the next push's run until the
    current one ends."""
    assert index_job.tags[INDEX_RUN_TAG] == "true"
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": INDEX_RUN_TAG, "value": {"applyLimitPerUniqueValue": True},
            "limit": 1} in limits
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        coordinator_limits = instance.get_concurrency_config().run_queue_config \
            .tag_concurrency_limits
        assert any(limit["key"] == INDEX_RUN_TAG and limit["limit"] == 1
                   for limit in coordinator_limits)
        assert instance.run_coordinator.dequeue_interval_seconds == 1  # a push's run starts soon
    finally:
        instance.dispose()
