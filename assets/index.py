"""repo_snapshot → code_chunks[shard-NN] → code_vectors."""

import dagster as dg

from assets.partitions import COMMIT_TAG, SHARD_COUNT, shard_partitions
from resources import EmbedderResource, RepoResource, StoreResource
from semcode.pipeline import record_snapshot, record_vectors, sum_shards
from semcode.sharding import shard_number
from semcode.shards import index_shards


@dg.asset(group_name="index", kinds={"git", "lancedb"})
def repo_snapshot(context: dg.AssetExecutionContext, repo: RepoResource,
                  store: StoreResource) -> dg.MaterializeResult:
    """Pins one commit — the run's ``semcode/commit`` tag, else the head of the tracked
    branch — and writes the file manifest: every path with its shard, language, size,
    content hash, and the reason when it is skipped."""
    info = record_snapshot(store.open(), repo.path, SHARD_COUNT, repo.max_file_bytes,
                           repo.tracked_ref(), context.run.tags.get(COMMIT_TAG, ""))
    return dg.MaterializeResult(metadata={
        "commit": info["commit"], "branch": info["branch"], "files": info["files"],
        "indexed": info["indexed"], "skipped": info["skipped"],
        "skip_reasons": dg.MetadataValue.json(info["skip_reasons"]),
        "seconds": info["seconds"],
    })


@dg.asset(group_name="index", partitions_def=shard_partitions, deps=[repo_snapshot],
          kinds={"tree-sitter", "lancedb"})
def code_chunks(context: dg.AssetExecutionContext, repo: RepoResource, store: StoreResource,
                embedder: EmbedderResource) -> dg.MaterializeResult:
    """Parses the shard's changed files into syntax-aware chunks and commits the shard's
    rows in one write. A range run gets every shard at once and parses them in parallel."""
    shards = [shard_number(key) for key in context.partition_keys]
    handle = store.open()
    snapshot = handle.get_meta("snapshot", {})
    results = index_shards(handle.uri, repo.path, shards, embedder.model,
                           snapshot.get("is_git", True))
    totals = sum_shards(results)
    context.log.info(f"shards {shards}: {totals}")
    return dg.MaterializeResult(metadata={
        "commit": snapshot.get("commit", ""),
        **{k: v for k, v in totals.items() if k != "new_skips"},
        "new_skips": dg.MetadataValue.json(totals["new_skips"]),
        "seconds": max((r.seconds for r in results), default=0.0),
    })


@dg.asset(group_name="index", deps=[code_chunks], kinds={"pytorch", "lancedb"})
def code_vectors(store: StoreResource, embedder: EmbedderResource) -> dg.MaterializeResult:
    """Embeds every chunk without a vector (reusing vectors of identical text), deletes
    vectors whose chunk is gone, and compacts the table."""
    handle = store.open()
    result = record_vectors(handle, embedder.get())
    return dg.MaterializeResult(metadata={
        "commit": handle.get_meta("snapshot", {}).get("commit", ""), **result.as_dict(),
    })
