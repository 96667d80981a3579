"""The three steps of an index run as plain functions over a store. The Dagster assets
call these; so can anything else."""

import time
from datetime import UTC, datetime

from semcode import progress
from semcode.discovery import INDEXED, RULES_VERSION, take_snapshot
from semcode.embedding import TextEncoder
from semcode.lease import writer_lease
from semcode.reports import SnapshotReport, VectorReport, count_skips
from semcode.store import Store
from semcode.vectors import update_vectors


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_snapshot(store: Store, *, repo: str, shards: int, max_file_bytes: int,
                    branch: str = "", commit: str = "", owner: str | None = None) -> SnapshotReport:
    """Pin a commit, write its manifest to ``files``, and say what it holds (holding the
    store's writer lease as ``owner``)."""
    with writer_lease(store, owner):
        return _record_snapshot(store, repo, shards, max_file_bytes, branch, commit)


def _record_snapshot(store: Store, repo: str, shards: int, max_file_bytes: int, branch: str,
                     commit: str) -> SnapshotReport:
    started = time.perf_counter()
    progress.report("snapshot", 0, 1)
    damaged = store.damaged_tables()
    for name, why in damaged.items():  # rebuilt by this run: chunks re-parsed, vectors reused
        progress.say(f"table {name} of {store.uri} cannot be used ({why}); rebuilding it")
        store.drop(name)
    lookups = store.drop_broken_lookup_indexes()
    last = store.last_snapshot()
    old = store.scan("files", ["path", "content_hash", "reason"]).to_pylist() \
        if last is not None and last.rules == RULES_VERSION else []
    previous = {r["path"]: (r["content_hash"], r["reason"]) for r in old}
    snap = take_snapshot(repo, shards=shards, limit=max_file_bytes, branch=branch,
                         previous=previous, commit=commit)
    if last is not None and last.shards != shards:
        # A file's shard depends on the count: rebuild chunk rows (vectors are reused by text).
        store.drop("chunks")
    store.chunks()  # created here, once, not raced by the shard writers that follow
    store.replace_files(snap.rows())
    skipped = [f.reason for f in snap.files if f.status != INDEXED]
    report = SnapshotReport(
        commit=snap.commit, branch=snap.branch, is_git=snap.is_git, shards=shards,
        rules=RULES_VERSION, at=now(), files=len(snap.files),
        indexed=len(snap.files) - len(skipped), skipped=len(skipped),
        skip_reasons=count_skips(skipped),
        changed=sum(1 for f in snap.files if f.status == INDEXED
                    and previous.get(f.path, ("",))[0] != f.content_hash),
        repaired={k: v for k, v in (("damaged_tables", len(damaged)),
                                     ("lookup_indexes", len(lookups))) if v},
        seconds=round(time.perf_counter() - started, 3))
    store.set_meta(snapshot=report.to_dict())
    progress.report("snapshot", 1, 1)
    return report


def record_vectors(store: Store, embedder: TextEncoder,
                   owner: str | None = None) -> VectorReport:
    """Bring ``vectors`` level with ``chunks`` and remember which commit that indexes."""
    with writer_lease(store, owner):
        report = update_vectors(store, embedder)
        snapshot = store.last_snapshot()
        report = report.model_copy(update={
            "commit": snapshot.commit if snapshot else None,
            "branch": snapshot.branch if snapshot else None, "at": now()})
        store.set_meta(vectors=report.to_dict())
    return report
