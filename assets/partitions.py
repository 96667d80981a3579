"""The file shards: defined once, from SEMCODE_SHARDS, and shared by every asset, check,
job and sensor."""

import dagster as dg

from semcode.config import Settings
from semcode.sharding import shard_keys

SHARD_COUNT = Settings.from_env().shards
shard_partitions = dg.StaticPartitionsDefinition(shard_keys(SHARD_COUNT))

# One index run at a time per repository: the dagster.yaml run queue limits this tag.
INDEX_RUN_TAG = "semcode/index"
# The commit a run must index (set by git_push_sensor); without it, the branch head.
COMMIT_TAG = "semcode/commit"
