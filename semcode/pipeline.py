"""The three steps of an index run as plain functions over a store. The Dagster assets
call these; so can anything else."""

import time
from collections import Counter
from datetime import UTC, datetime

from semcode import progress
from semcode.discovery import INDEXED, RULES_VERSION, take_snapshot
from semcode.embedding import Embedder
from semcode.shards import ShardResult
from semcode.store import Store
from semcode.vectors import VectorResult, update_vectors


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_snapshot(store: Store, repo: str, shards: int, max_file_bytes: int,
                    branch: str = "", commit: str = "") -> dict:
    """Pin a commit, write its manifest to ``files``, and return counts for the run."""
    started = time.perf_counter()
    progress.report("snapshot", 0, 1)
    last = store.get_meta("snapshot", {})
    old = store.scan("files", ["path", "content_hash", "reason"]).to_pylist() \
        if last.get("rules") == RULES_VERSION else []
    previous = {r["path"]: (r["content_hash"], r["reason"]) for r in old}
    snap = take_snapshot(repo, shards, max_file_bytes, branch, previous, commit)
    if last.get("shards") not in (None, shards):
        # A file's shard depends on the count: rebuild chunk rows (vectors are reused by text).
        store.drop("chunks")
    store.replace_files(snap.rows())
    reasons = Counter(f.reason.split(":")[0] for f in snap.files if f.status != INDEXED)
    info = {"commit": snap.commit, "branch": snap.branch, "is_git": snap.is_git,
            "shards": shards, "rules": RULES_VERSION, "at": now()}
    store.set_meta(snapshot=info)
    indexed = sum(f.status == INDEXED for f in snap.files)
    progress.report("snapshot", 1, 1)
    return {**info, "files": len(snap.files), "indexed": indexed,
            "skipped": len(snap.files) - indexed, "skip_reasons": dict(reasons),
            "seconds": round(time.perf_counter() - started, 3)}


def sum_shards(results: list[ShardResult]) -> dict:
    keys = ("files_seen", "parsed", "unchanged", "skipped", "removed", "chunks_added",
            "chunks_removed", "chunks_total")
    total = {k: sum(getattr(r, k) for r in results) for k in keys}
    skips = Counter()
    for r in results:
        skips.update(r.new_skips)
    total["new_skips"] = dict(skips)
    return total


def record_vectors(store: Store, embedder: Embedder) -> VectorResult:
    """Bring ``vectors`` level with ``chunks`` and remember which commit that indexes."""
    result = update_vectors(store, embedder)
    snapshot = store.get_meta("snapshot", {})
    store.set_meta(vectors={"commit": snapshot.get("commit"), "branch": snapshot.get("branch"),
                            "model": embedder.model_id, "dim": embedder.dim, "at": now(),
                            **result.as_dict()})
    return result
