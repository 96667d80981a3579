"""The three steps of an index run as plain functions over a store. The Dagster assets
call these; so can anything else."""

import time
from datetime import UTC, datetime
from pathlib import Path

from semcode import progress
from semcode.config import CHUNKER_VERSION, Settings
from semcode.embed.embedding import TextEncoder
from semcode.embed.model_files import model_id
from semcode.errors import StoreNotFound, as_damage
from semcode.index.ahead import EmbedAhead
from semcode.index.parsed_vectors import ParsedVectors
from semcode.index.vectors import NEXT, update_vectors
from semcode.ingest import gitrepo
from semcode.ingest.discovery import INDEXED, RULES_VERSION, take_snapshot
from semcode.reports import (
    ChunkCounts,
    FileCounts,
    IndexReport,
    SnapshotReport,
    VectorCounts,
    VectorReport,
    count_skips,
)
from semcode.store.checks import live_checks
from semcode.store.lease import writer_lease
from semcode.store.proof import proven_or_checked
from semcode.store.search_indexes import drop_broken_lookup_indexes, index_problems
from semcode.store.tables import Store


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
    lookups = drop_broken_lookup_indexes(store)
    last = store.last_snapshot()
    old = store.scan("files", ["path", "content_hash", "reason"]).to_pylist() \
        if last is not None and last.rules == RULES_VERSION else []
    previous = {r["path"]: (r["content_hash"], r["reason"]) for r in old}
    snap = take_snapshot(repo, shards=shards, limit=max_file_bytes, branch=branch,
                         previous=previous, commit=commit)
    if last is not None and (last.shards != shards or last.chunker != CHUNKER_VERSION):
        # A file's shard depends on the count, its chunks on the chunker: rebuild chunk rows
        # (vectors are reused by text).
        store.drop("chunks")
    store.chunks()  # created here, once, not raced by the shard writers that follow
    store.symbols()
    store.replace_files(snap.rows())
    skipped = [f.reason for f in snap.files if f.status != INDEXED]
    report = SnapshotReport(
        commit=snap.commit, branch=snap.branch, is_git=snap.is_git, shards=shards,
        rules=RULES_VERSION, chunker=CHUNKER_VERSION, max_file_bytes=max_file_bytes, at=now(),
        files=len(snap.files),
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


def record_vectors(store: Store, embedder: TextEncoder, owner: str | None = None,
                   ahead: EmbedAhead | None = None,
                   parsed: ParsedVectors | None = None) -> VectorReport:
    """Bring ``vectors`` level with ``chunks`` and remember which commit that indexes
    (taking what ``ahead`` encoded while the shards parsed, and the static vectors the
    parse made into ``parsed``, which is discarded after)."""
    try:
        with writer_lease(store, owner):
            report = update_vectors(store, embedder, ahead=ahead, parsed=parsed)
            snapshot = store.last_snapshot()
            report = report.model_copy(update={
                "commit": snapshot.commit if snapshot else None,
                "branch": snapshot.branch if snapshot else None, "at": now()})
            store.set_meta(vectors=report.to_dict())
    finally:
        if parsed is not None:
            parsed.discard()
    return report


def nothing_to_do(settings: Settings) -> IndexReport | None:
    """The report of a run with nothing to do — the store already indexes the branch head
    with these settings, every table reads through, and its checks pass against the store as
    it is now (``vectors_match_chunks`` from the last run's proof of it when that still holds:
    ``semcode/store/proof.py``) — or None when a run has work (or this cannot be told cheaply:
    outside git, an older store). What a commit hook or an editor save pays when nothing
    changed: a few git calls and the checks."""
    repo = Path(settings.repo_path)
    if not repo.is_dir() or not gitrepo.is_git_repo(repo):
        return None
    top = gitrepo.toplevel(repo)
    head = gitrepo.resolve(top, settings.branch or gitrepo.current_branch(top))
    try:
        store = Store(settings.store_uri, create=False)
        return _nothing_to_do(store, settings, head)
    except StoreNotFound:
        return None
    except (RuntimeError, OSError, ValueError) as exc:
        if as_damage(exc) is None:
            raise
        return None  # a damaged file: the run rebuilds what it belongs to


def _nothing_to_do(store: Store, settings: Settings, head: str | None) -> IndexReport | None:
    snapshot, vectors = store.last_snapshot(), store.last_vectors()
    if head is None or snapshot is None or vectors is None or not store.has("vectors") or \
            (snapshot.commit, snapshot.shards, snapshot.rules, snapshot.chunker,
             snapshot.max_file_bytes, vectors.commit, vectors.model) != \
            (head, settings.shards, RULES_VERSION, CHUNKER_VERSION, settings.max_file_bytes,
             head, model_id(settings.model)) or \
            store.has(NEXT):
        return None
    if store.damaged_tables():  # read through: the proof below reads only what changed
        return None
    verdicts = live_checks(store, vectors, proven_or_checked)  # from the last run's proof
    if not all(verdicts.values()) or index_problems(store):
        return None  # a run repairs what the checks found, and rebuilds a broken index
    return IndexReport(
        commit=head, up_to_date=True, checks=verdicts,
        files=FileCounts(seen=snapshot.files, unchanged=snapshot.indexed,
                         skipped=snapshot.skipped),
        chunks=ChunkCounts(total=store.count("chunks")),
        vectors=VectorCounts(total=store.count("vectors")))
