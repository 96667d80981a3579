"""The file shards as Dagster partitions, and the tags an index run carries."""

import dagster as dg

from semcode.sharding import shard_keys

# The commit a run must index (set by git_push_sensor); without it, the branch head.
COMMIT_TAG = "semcode/commit"
PARTITION_TAG = "dagster/partition"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def shard_partitions(shard_count: int) -> dg.StaticPartitionsDefinition:
    """``shard-00`` … ``shard-NN``: one partition of ``code_chunks`` per file shard."""
    return dg.StaticPartitionsDefinition(shard_keys(shard_count))


def range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make one run cover the partitions ``first`` … ``last``."""
    return {RANGE_START: first, RANGE_END: last}
