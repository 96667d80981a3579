"""Run index_job in this process over every shard: what `semcode index` does."""

import os

import dagster as dg

from semcode.sharding import shard_keys

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def run_index_job() -> tuple[bool, dict]:
    """Execute the job as a range run over all shards; return (success, summary).

    Configuration comes from the SEMCODE_* environment, exactly as for `dagster job execute`.
    """
    from assets.partitions import SHARD_COUNT
    from definitions import defs  # reads SEMCODE_* at import

    keys = shard_keys(SHARD_COUNT)
    instance = (dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME")
                else dg.DagsterInstance.ephemeral())
    result = defs.resolve_job_def("index_job").execute_in_process(
        instance=instance, raise_on_error=False, run_config=QUIET_LOGS,
        tags={"dagster/asset_partition_range_start": keys[0],
              "dagster/asset_partition_range_end": keys[-1]},
    )
    return result.success, summarize(result)


def _metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in materialization.metadata.items()}
    return {}


def summarize(result) -> dict:
    snap, chunks, vectors = (_metadata(result, a) for a in
                             ("repo_snapshot", "code_chunks", "code_vectors"))
    checks = {e.check_name: bool(e.passed) for e in result.get_asset_check_evaluations()}
    failure = next((e.message for e in result.all_events if e.is_step_failure), None)
    summary = {
        "commit": snap.get("commit"),
        "files": {"seen": int(snap.get("files", 0)), "parsed": int(chunks.get("parsed", 0)),
                  "unchanged": int(chunks.get("unchanged", 0)),
                  "skipped": int(snap.get("skipped", 0)) + _new_skips(chunks),
                  "removed": int(chunks.get("removed", 0))},
        "chunks": {"total": int(chunks.get("chunks_total", 0)),
                   "added": int(chunks.get("chunks_added", 0)),
                   "removed": int(chunks.get("chunks_removed", 0))},
        "vectors": {"total": int(vectors.get("total", 0)),
                    "embedded": int(vectors.get("embedded", 0)),
                    "reused": int(vectors.get("reused", 0)),
                    "deleted": int(vectors.get("deleted", 0))},
        "checks": checks,
    }
    if failure:
        summary["error"] = failure
    return summary


def _new_skips(chunks: dict) -> int:
    return sum(int(v) for v in (chunks.get("new_skips") or {}).values())
