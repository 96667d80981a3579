"""Run index_job in this process over every shard: what `semcode index` does."""

import os

import dagster as dg

from assets.metadata import materialized
from assets.partitions import range_tags
from resources import EmbedderResource
from semcode.config import Settings
from semcode.reports import ChunksReport, IndexReport, SnapshotReport, VectorReport
from semcode.sharding import shard_keys

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def run_index_job(settings: Settings, *,
                  embedder: EmbedderResource | None = None) -> IndexReport:
    """Execute the job of ``settings`` as one range run over all shards."""
    from definitions import build_defs

    keys = shard_keys(settings.shards)
    # Dagster's own setting: with DAGSTER_HOME the run shows in the UI's history.
    instance = (dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME")
                else dg.DagsterInstance.ephemeral())
    result = build_defs(settings, embedder=embedder).resolve_job_def("index_job") \
        .execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET_LOGS,
                            tags=range_tags(keys[0], keys[-1]))
    return summarize(result)


def summarize(result: dg.ExecuteInProcessResult) -> IndexReport:
    checks = {e.check_name: bool(e.passed) for e in result.get_asset_check_evaluations()}
    failure = next((e.message for e in result.all_events if e.is_step_failure), None)
    return IndexReport.assemble(
        materialized(result, "repo_snapshot", SnapshotReport),
        materialized(result, "code_chunks", ChunksReport),
        materialized(result, "code_vectors", VectorReport), checks,
        error=failure if failure or result.success else "the run failed")
