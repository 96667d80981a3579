"""git_push_sensor: a new commit on the tracked branch → one ordered index run."""

import dagster as dg

from semcode.ingest.freshness import shards_to_reindex
from semcode.sharding import shard_key
from semcode_dagster.assets.jobs import IndexJob, build_index_job
from semcode_dagster.assets.partitions import COMMIT_TAG, range_tags
from semcode_dagster.assets.scope import ONLY, Scope

# Dagster's sensor daemon runs its loop at most every 5 s whatever a sensor's interval
# (MIN_INTERVAL_LOOP_TIME in dagster/_daemon/sensor.py): a commit waited 0-5 s, often ~5,
# for a tick to see it. A tick that finds nothing new watches the branch's files for most of
# the loop's 5 s instead, and requests the run the moment it moves (BENCHMARKS.md, #26). The
# interval is below the loop's so that every loop ticks: at 5 s, a tick that started a
# little after its loop was not yet due at the next, and half of each 10 s went unwatched.
WATCH_S = 4.5
INTERVAL_S = 1


def build_git_push_sensor(shard_count: int, scope: Scope = ONLY,
                          job: IndexJob | None = None, watch_s: float = 0.0,
                          ) -> dg.SensorDefinition:
    """The sensor of one repository's index of ``shard_count`` shards (it maps changed paths
    to them), requesting runs of its index job; a tick that finds no new commit watches for
    one for up to ``watch_s`` seconds before it ends."""

    @dg.sensor(name=scope.named("git_push_sensor"), job=job or build_index_job(scope),
               minimum_interval_seconds=INTERVAL_S, default_status=dg.DefaultSensorStatus.STOPPED,
               required_resource_keys=scope.resource_keys)
    def git_push_sensor(context: dg.SensorEvaluationContext, **_called_with: object,
                        ) -> dg.SensorResult | dg.SkipReason:
        """Polls the tracked branch (fetching the remote first when one is set). The cursor
        is the last head a run was requested for; the diff base is the commit of the last
        successful vectors run, so the changes of a failed run are picked up by the next
        push."""
        repo, store = scope.repo(context.resources), scope.store(context.resources)
        head = repo.fetch_head()
        if head is not None and head == context.cursor and repo.wait_for_push(watch_s):
            head = repo.fetch_head()
        if head is None:
            return dg.SkipReason(f"{repo.path}: no commit on {repo.tracked_ref()!r}")
        if head == context.cursor:
            return dg.SkipReason(f"{head[:12]} already requested; waiting for a new push")
        last = store.open().last_vectors()
        plan = shards_to_reindex(repo.path, last.commit if last else None, head, shard_count)
        if not plan.shards:
            return dg.SensorResult(skip_reason=dg.SkipReason(
                f"{head[:12]}: no indexed file changed ({plan.reason})"), cursor=head)
        context.log.info(f"{head[:12]}: shards {plan.shards} — {plan.reason}")
        request = dg.RunRequest(
            run_key=head,
            tags={COMMIT_TAG: head,
                  **range_tags(shard_key(plan.shards[0]), shard_key(plan.shards[-1]))},
        )
        return dg.SensorResult(run_requests=[request], cursor=head)

    return git_push_sensor
