"""Run index_job in this process over every shard: what `semcode index` does."""

import fcntl
import sqlite3
import sys
import time
from pathlib import Path

import dagster as dg
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from semcode.config import Settings
from semcode.errors import first_line
from semcode.interfaces.ui import instance_home
from semcode.reports import ChunksReport, IndexReport, SnapshotReport, VectorReport
from semcode.sharding import shard_keys
from semcode_dagster.assets.metadata import R, materialized
from semcode_dagster.assets.partitions import range_tags
from semcode_dagster.assets.scope import ONLY, Scope
from semcode_dagster.resources import EmbedderResource

# The run's report says what failed and why; Dagster's console log would add tracebacks.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_index_job(settings: Settings, *, embedder: EmbedderResource | None = None,
                  repository: str = "",
                  instance: dg.DagsterInstance | None = None) -> IndexReport:
    """Execute the index job of ``settings`` — of its SEMCODE_REPOS ``repository`` when
    given — as one range run over all shards (on ``instance`` when given: a bench reads
    each step's times from its event log)."""
    from semcode_dagster.definitions import build_defs

    scope = Scope(repository) if repository else ONLY
    keys = shard_keys(settings.shards)
    # The index's own instance (semcode/interfaces/ui.py), the one `semcode ui` shows: every run of
    # every door in one history.
    if instance is None:
        instance = open_instance(instance_home(settings))
    result = build_defs(settings, embedder=embedder).resolve_job_def(scope.named("index_job")) \
        .execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET_LOGS,
                            tags=range_tags(keys[0], keys[-1]))
    prune_runs(instance)
    return summarize(result, scope)


def open_instance(home: Path) -> dg.DagsterInstance:
    """The index's own instance, opened — and on first use made — by one process at a time.
    Two `semcode index` of one index starting at once would each create its sqlite tables:
    the loser fails ("table runs already exists"), or both leave their schema version behind
    ("more than one head"), which no later run could open. A history that cannot be opened
    is set aside (only the history: the index is in the store) and a new one begun, saying
    so."""
    with open(home / ".instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        try:
            return _opened(home)
        except (CommandError, SQLAlchemyError, sqlite3.Error) as exc:
            aside = home / f"unreadable-{time.strftime('%Y%m%d-%H%M%S')}"
            aside.mkdir()
            for name in ("history", "schedules", "storage"):
                if (home / name).exists():
                    (home / name).rename(aside / name)
            print(f"semcode: the Dagster history in {home} cannot be opened "
                  f"({first_line(exc)}); set it aside in {aside} and began a new one",
                  file=sys.stderr)
            return _opened(home)


def _opened(home: Path) -> dg.DagsterInstance:
    instance = dg.DagsterInstance.from_config(str(home))
    instance.get_run_ids(limit=1)  # its storages made and migrated now, under the lock
    return instance


# Runs (with their event logs) an instance keeps: the newest, deleted past this many after
# each CLI run — the history of a month of pushes, and an event log that stops growing.
KEEP_RUNS = 500


def prune_runs(instance: dg.DagsterInstance, keep: int = KEEP_RUNS) -> int:
    """Delete the runs past the newest ``keep`` (their events too); how many went."""
    old = instance.get_run_ids(limit=None)[keep:]
    for run_id in old:
        instance.delete_run(run_id)
    return len(old)


def summarize(result: dg.ExecuteInProcessResult, scope: Scope = ONLY) -> IndexReport:
    # the verdicts on the index; a warning (the head moved on during the run) is not one
    evaluations = [e for e in result.get_asset_check_evaluations()
                   if e.severity != dg.AssetCheckSeverity.WARN]
    checks = {e.check_name: bool(e.passed) for e in evaluations}
    failures = {e.check_name: e.description or "failed" for e in evaluations if not e.passed}
    failure = next((_failure(e) for e in result.all_events if e.is_step_failure), None)
    def report(asset: str, kind: type[R]) -> R | None:
        return materialized(result, scope.key(asset).to_user_string(), kind)

    return IndexReport.assemble(
        report("repo_snapshot", SnapshotReport), report("code_chunks", ChunksReport),
        report("code_vectors", VectorReport), checks,
        error=failure if failure or result.success else "the run failed",
        check_failures=failures)


def _failure(event: dg.DagsterEvent) -> str:
    """What went wrong in a failed step, in the words of the error that caused it (Dagster's
    own message only says which step failed)."""
    error = event.step_failure_data.error if event.step_failure_data else None
    while error is not None and error.cause is not None:
        error = error.cause
    step = event.step_key or "a step"
    if error is not None and error.cls_name == "DagsterExecutionInterruptedError":
        return (f"{step}: interrupted (Ctrl-C or SIGTERM) — the store keeps what was "
                "committed before it; run `semcode index` again to finish")
    if error is None:
        return event.message or f"{step} failed"
    message = error.message.strip()
    if error.cls_name and f"{error.cls_name}: " in message.split("\n")[0]:
        message = message.split(f"{error.cls_name}: ", 1)[1]  # "pkg.module.Class: text"
    return f"{step}: {error.cls_name}: {message}"
