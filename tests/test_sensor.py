"""git_push_sensor, table-driven over real git histories, plus one evaluate_tick()."""

import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from semcode.ingest.freshness import shards_to_reindex
from semcode.reports import VectorReport
from semcode.sharding import shard_key, shard_of
from semcode.store.tables import Store
from semcode_dagster.resources import RepoResource, StoreResource
from semcode_dagster.sensors.git_push import build_git_push_sensor
from tests.conftest import commit_all, git, make_repo
from tests.dagster_helpers import FakeEmbedderResource, defs_for

ALL = (shard_key(0), shard_key(7))
HOOKS = Path(__file__).resolve().parent.parent / "hooks"

git_push_sensor = build_git_push_sensor(8)


def _two_shard_paths() -> tuple[str, str]:
    """Two new file names that land in different shards."""
    names = [f"feature_{i}.py" for i in range(50)]
    first = names[0]
    second = next(n for n in names if shard_of(n, 8) != shard_of(first, 8))
    return first, second


@pytest.fixture
def history(tmp_path):
    """c1 (indexed) → c2 touching two shards; the store says c1 was indexed last."""
    repo = make_repo(tmp_path / "repo")
    c1 = git(repo, "rev-parse", "HEAD")
    a, b = _two_shard_paths()
    (repo / a).write_text("def a():\n    return 1\n")
    (repo / b).write_text("def b():\n    return 2\n")
    c2 = commit_all(repo, "two shards")
    return repo, str(tmp_path / "store"), c1, c2, sorted([shard_of(a, 8), shard_of(b, 8)])


def tick(repo, uri, cursor=None, indexed=None):
    if indexed is not None:
        Store(uri).set_meta(vectors=VectorReport(model="m", commit=indexed).to_dict())
    context = dg.build_sensor_context(cursor=cursor, resources={
        "repo": RepoResource(path=str(repo)), "store": StoreResource(uri=uri)})
    return git_push_sensor(context)


def requested_range(result):
    (request,) = result.run_requests
    return (request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"]), request


@pytest.mark.parametrize("case", ["first_tick", "unknown_base", "force_push"])
def test_without_a_usable_base_every_shard_is_requested(history, case):
    repo, uri, c1, c2, _ = history
    indexed = {"first_tick": None, "unknown_base": "f" * 40, "force_push": c2}[case]
    if case == "force_push":
        git(repo, "reset", "-q", "--hard", c1)
        (repo / "other.py").write_text("x = 1\n")
        commit_all(repo, "rewritten history")
    result = tick(repo, uri, cursor=c2 if case == "force_push" else None, indexed=indexed)
    shards, request = requested_range(result)
    head = git(repo, "rev-parse", "HEAD")
    assert shards == ALL
    assert request.run_key == head and request.tags["semcode/commit"] == head
    assert result.cursor == head


def test_nothing_new_is_a_skip_that_says_why(history):
    repo, uri, _, c2, _ = history
    result = tick(repo, uri, cursor=c2, indexed=c2)
    assert isinstance(result, dg.SkipReason)
    assert "already requested" in result.skip_message


def test_a_commit_touching_two_shards_requests_just_their_range(history):
    repo, uri, c1, c2, shards = history
    result = tick(repo, uri, cursor=c1, indexed=c1)
    assert requested_range(result)[0] == (shard_key(shards[0]), shard_key(shards[-1]))
    assert result.cursor == c2


def test_a_failed_run_is_retried_by_the_next_push(history):
    """The run for c2 failed: the cursor says c2 was requested, the store still says c1.
    The next push (c3, one file in a third place) must redo c2's shards too."""
    repo, uri, c1, c2, shards = history
    (repo / "README.md").write_text("# readme\n")
    c3 = commit_all(repo, "third")
    result = tick(repo, uri, cursor=c2, indexed=c1)
    expected = sorted({*shards, shard_of("README.md", 8)})
    assert requested_range(result)[0] == (shard_key(expected[0]), shard_key(expected[-1]))
    assert result.run_requests[0].tags["semcode/commit"] == c3


def test_a_commit_changing_no_file_moves_the_cursor_without_a_run(history):
    repo, uri, _, c2, _ = history
    c3 = commit_all(repo, "empty commit")
    result = tick(repo, uri, cursor=c2, indexed=c2)
    assert result.run_requests == [] and result.cursor == c3


def test_ignore_file_change_reindexes_every_shard(history):
    repo, uri, _, c2, _ = history
    (repo / ".semcodeignore").write_text("secret.py\ndocs/\n")
    commit_all(repo, "ignore docs")
    assert shards_to_reindex(str(repo), c2, git(repo, "rev-parse", "HEAD"), 8).shards == \
        list(range(8))


def test_evaluate_tick_targets_index_job_with_valid_partitions(history):
    repo, uri, c1, _, shards = history
    Store(uri).set_meta(vectors=VectorReport(model="m", commit=c1).to_dict())
    defs = defs_for(repo, uri, FakeEmbedderResource())
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_sensor_context(
        cursor=c1, instance=instance, definitions=defs,
        resources={"repo": RepoResource(path=str(repo)), "store": StoreResource(uri=uri)})
    data = defs.resolve_sensor_def("git_push_sensor").evaluate_tick(context)
    (request,) = data.run_requests
    assert request.job_name in (None, "index_job")
    assert request.tags["dagster/asset_partition_range_start"] == shard_key(shards[0])


def test_sensor_with_a_remote_fetches_before_reading(tmp_path):
    upstream = make_repo(tmp_path / "upstream")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    (upstream / "new.py").write_text("x = 1\n")
    pushed = commit_all(upstream, "upstream change")
    context = dg.build_sensor_context(resources={
        "repo": RepoResource(path=str(clone), branch="main", remote="origin"),
        "store": StoreResource(uri=str(tmp_path / "store"))})
    result = git_push_sensor(context)
    assert result.cursor == pushed


def test_a_push_hook_nudge_makes_the_next_tick_fetch(tmp_path):
    upstream = make_repo(tmp_path / "upstream")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    resources = {"repo": RepoResource(path=str(clone), branch="main", remote="origin",
                                      fetch_every_s=3600),
                 "store": StoreResource(uri=str(tmp_path / "store"))}
    first = git_push_sensor(dg.build_sensor_context(resources=resources))
    (upstream / "new.py").write_text("x = 1\n")
    pushed = commit_all(upstream, "upstream change")
    quiet = git_push_sensor(dg.build_sensor_context(cursor=first.cursor, resources=resources))
    assert isinstance(quiet, dg.SkipReason)  # not due: no fetch, the old head
    subprocess.run(["sh", str(HOOKS / "post-receive")], cwd=upstream, check=True,
                   env={**os.environ, "SEMCODE_CLONE": str(clone)})
    nudged = git_push_sensor(dg.build_sensor_context(cursor=first.cursor, resources=resources))
    assert nudged.cursor == pushed


@pytest.mark.parametrize("remote", [False, True])
def test_a_quiet_tick_watches_for_the_next_commit_and_requests_it(tmp_path, remote):
    """Dagster's daemon ticks a sensor at most every 5 s: a tick that finds nothing new
    watches the branch's files (or, with a remote, the push hook's nudge) and requests the
    commit that lands meanwhile; without the watch the same tick would skip it."""
    import threading

    upstream = make_repo(tmp_path / "upstream")
    repo = upstream
    if remote:
        repo = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(upstream), str(repo))
    resources = {"repo": RepoResource(path=str(repo), branch="main",
                                      remote="origin" if remote else "", fetch_every_s=3600),
                 "store": StoreResource(uri=str(tmp_path / "store"))}
    first = git_push_sensor(dg.build_sensor_context(resources=resources))

    def push() -> None:
        (upstream / "new.py").write_text("x = 1\n")
        commit_all(upstream, "lands during the tick")
        if remote:  # what the server's post-receive hook does
            subprocess.run(["sh", str(HOOKS / "post-receive")], cwd=upstream, check=True,
                           env={**os.environ, "SEMCODE_CLONE": str(repo)})

    quiet = build_git_push_sensor(8, watch_s=0.5)(
        dg.build_sensor_context(cursor=first.cursor, resources=resources))
    assert isinstance(quiet, dg.SkipReason)  # nothing landed while it watched
    pusher = threading.Timer(0.5, push)
    pusher.start()
    try:
        watched = build_git_push_sensor(8, watch_s=30)(
            dg.build_sensor_context(cursor=first.cursor, resources=resources))
    finally:
        pusher.join()
    assert watched.cursor == git(upstream, "rev-parse", "HEAD") != first.cursor
    assert watched.run_requests[0].tags["semcode/commit"] == watched.cursor
