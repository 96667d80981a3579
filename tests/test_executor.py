"""The CI and sensor paths run a whole index run in one process, as `semcode index` does:
every step of `dagster job execute` (and of a run the push sensor or the UI launches) runs in
the run's own process, and its exit code is still the run's verdict."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from semcode.config import Settings
from semcode.store.tables import Store
from semcode_dagster.definitions import build_defs
from tests.conftest import commit_all, make_repo

ROOT = Path(__file__).resolve().parent.parent
RANGE = json.dumps({"dagster/asset_partition_range_start": "shard-00",
                    "dagster/asset_partition_range_end": "shard-07"})


def test_the_index_job_runs_its_steps_in_the_run_process_unless_told_otherwise():
    assert build_defs(Settings()).resolve_job_def("index_job").executor_def.name == "in_process"
    elsewhere = dg.multiprocess_executor  # what a deployment passes (Kubernetes: its own)
    assert build_defs(Settings(), executor=elsewhere).resolve_job_def("index_job") \
        .executor_def.name == "multiprocess"


def _execute(tmp_path: Path, repo: Path, store: Path, *options: str,
             module: tuple[str, ...] = ("-m", "semcode_dagster.definitions"),
             cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``dagster job execute -j index_job`` as typed (no tags: the whole index)."""
    env = {**os.environ, "SEMCODE_REPO": str(repo), "SEMCODE_STORE": str(store),
           "SEMCODE_MODEL": "static", "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "dagster", "job", "execute", *module,
                           "-j", "index_job", *options],
                          cwd=cwd or tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.parametrize("how", ["module", "file in a checkout", "range tags"])
def test_the_plain_ci_command_indexes_every_shard(tmp_path, how):
    repo, store = make_repo(tmp_path / "repo"), tmp_path / "store"
    proc = _execute(tmp_path, repo, store, *(("--tags", RANGE) if how == "range tags" else ()),
                    **({"module": ("-f", "definitions.py"), "cwd": ROOT}
                       if how == "file in a checkout" else {}))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Cannot access partition_key" not in proc.stderr
    opened = Store(str(store), create=False)
    indexed = opened.count("files", "status = 'indexed'")
    assert indexed and opened.count("chunks") == opened.count("vectors") > indexed
    assert set(opened.scan("chunks", ["shard"]).column("shard").to_pylist()) == \
        set(opened.scan("files", ["shard"], "status = 'indexed'").column("shard").to_pylist())


def test_a_shard_the_index_does_not_have_is_named_with_the_ones_it_has(tmp_path):
    repo, store = make_repo(tmp_path / "repo"), tmp_path / "store"
    proc = _execute(tmp_path, repo, store, "--tags", json.dumps({"dagster/partition":
                                                                 "shard-99"}))
    assert proc.returncode == 1
    assert "ConfigError: shard-99 is not a shard of this index — it has shard-00 … shard-07" \
        in proc.stderr


def test_dagster_job_execute_runs_every_step_in_one_process_and_exits_with_the_verdict(
        tmp_path):
    repo, store = make_repo(tmp_path / "repo"), tmp_path / "store"
    first = _execute(tmp_path, repo, store)
    assert first.returncode == 0, first.stderr[-3000:]
    with (repo / "added.py").open("w") as f:
        f.write("def freshly_added(x):\n    return x * 2\n")
    commit_all(repo, "one more file")
    proc = _execute(tmp_path, repo, store)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Dagster's log line: "<time> - dagster - DEBUG - index_job - <run id> - <pid> - <step> -
    # STEP_SUCCESS - ..."; every step, the checks' included, in one pid
    steps = re.findall(r" - (\d+) - ([\w\[\]-]+) - STEP_SUCCESS", proc.stderr)
    assert {step for _, step in steps} >= {
        "repo_snapshot", "code_chunks", "code_vectors", "code_vectors_vectors_match_chunks",
        "code_vectors_chunks_match_manifest", "code_vectors_keyword_index_answers",
        "code_vectors_symbols_match_chunks"}, steps
    assert len({pid for pid, _ in steps}) == 1, steps
    assert "freshly_added" in subprocess.run(
        [sys.executable, "-m", "semcode", "search", "freshly_added", "--repo", str(repo),
         "--json"], env={**os.environ, "SEMCODE_STORE": str(store), "SEMCODE_MODEL": "static"},
        capture_output=True, text=True, timeout=900).stdout

    not_a_repo = tmp_path / "a-file"
    not_a_repo.write_text("no repository here\n")
    failed = _execute(tmp_path, not_a_repo, tmp_path / "other")
    assert failed.returncode == 1 and "STEP_FAILURE" in failed.stderr


def test_a_repository_that_is_not_there_fails_the_run_and_creates_nothing(tmp_path):
    """With the default store (inside the repository), opening the store first used to create
    the missing directory and index it as an empty tree: a green run over nothing."""
    missing = tmp_path / "no-such-repo"
    env = {**os.environ, "SEMCODE_REPO": str(missing), "SEMCODE_MODEL": "static",
           "DAGSTER_HOME": str(tmp_path)}
    env.pop("SEMCODE_STORE", None)
    proc = subprocess.run([sys.executable, "-m", "dagster", "job", "execute", "-m",
                           "semcode_dagster.definitions", "-j", "index_job", "--tags", RANGE],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "repository not found" in proc.stderr and not missing.exists()
