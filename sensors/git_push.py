"""git_push_sensor: a new commit on the tracked branch → one ordered index run."""

import dagster as dg

from assets.jobs import index_job
from assets.partitions import COMMIT_TAG, SHARD_COUNT
from resources import RepoResource, StoreResource
from semcode.freshness import shards_to_reindex
from semcode.sharding import shard_key


@dg.sensor(job=index_job, minimum_interval_seconds=5,
           default_status=dg.DefaultSensorStatus.STOPPED)
def git_push_sensor(context: dg.SensorEvaluationContext, repo: RepoResource,
                    store: StoreResource) -> dg.SensorResult | dg.SkipReason:
    """Polls the tracked branch (fetching the remote first when one is set). The cursor is
    the last head a run was requested for; the diff base is the commit of the last successful
    vectors run, so the changes of a failed run are picked up by the next push."""
    head = repo.fetch_head()
    if head is None:
        return dg.SkipReason(f"{repo.path}: no commit on {repo.tracked_ref()!r}")
    if head == context.cursor:
        return dg.SkipReason(f"{head[:12]} already requested; waiting for a new push")
    base = (store.open().get_meta("vectors", {}) or {}).get("commit")
    plan = shards_to_reindex(repo.path, base, head, SHARD_COUNT)
    if not plan.shards:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"{head[:12]}: no indexed file changed ({plan.reason})"), cursor=head)
    context.log.info(f"{head[:12]}: shards {plan.shards} — {plan.reason}")
    request = dg.RunRequest(
        run_key=head,
        tags={COMMIT_TAG: head,
              "dagster/asset_partition_range_start": shard_key(plan.shards[0]),
              "dagster/asset_partition_range_end": shard_key(plan.shards[-1])},
    )
    return dg.SensorResult(run_requests=[request], cursor=head)
