"""The file shards as Dagster partitions, and the tags an index run carries."""

import dagster as dg

from semcode.sharding import shard_keys

# One index run at a time per repository: the dagster.yaml run queue limits this tag.
INDEX_RUN_TAG = "semcode/index"
# Every asset that writes the index is in this concurrency pool; dagster.yaml applies pools
# per run, so the queue holds any run that writes the index — a UI backfill, a sensor's run,
# a launched job — while another is in progress (runs without the tag too).
INDEX_POOL = "semcode_index"
# The commit a run must index (set by git_push_sensor); without it, the branch head.
COMMIT_TAG = "semcode/commit"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def shard_partitions(shard_count: int) -> dg.StaticPartitionsDefinition:
    """``shard-00`` … ``shard-NN``: one partition of ``code_chunks`` per file shard."""
    return dg.StaticPartitionsDefinition(shard_keys(shard_count))


def range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make one run cover the partitions ``first`` … ``last``."""
    return {RANGE_START: first, RANGE_END: last}
