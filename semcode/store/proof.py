"""What ``vectors_match_chunks`` proved, kept in the store, so that the next check proves only
what was written since: a one-file push at the Linux ``drivers/`` size (1.43M chunks) pays for
the rows it changed, not ~4 s of reading every id and every vector (issue #41, point 5).

LanceDB never changes a data file. A table's version is a list of fragments, each a fixed list
of rows; a later version only deletes rows from them (a deletion file) or adds fragments with
higher ids. A row is named by its ``_rowid``: fragment id << 32 | offset. So once a check has
proven the property at (chunks version c, vectors version v), the tables now differ from those
versions only by rows deleted from fragments that were there, and rows in newer fragments —
and the property still holds exactly when:

* the chunk ids deleted since are the vector ids deleted since;
* the rows added since hold the same ids in both tables, each once, and no row that was there
  before still holds one of them (looked up in the chunks' own id index);
* every vector added since has the model, and finite values; the table's width is the model's.

That is what ``proven_since`` checks, reading only the rows that changed (and each table's row
ids, ~0.3 s at that size). It only ever says "passed": anything it cannot prove so — no proof,
versions cleaned up, another model, more than ``MAX_SHARE`` of the rows changed (a compaction
rewrote fragments), a proof older than ``FULL_EVERY_S`` — is left to the full check, which
says what is wrong. What it does not prove is that the rows proven before are still readable
and unchanged on disk (a fragment damaged since): ``semcode status`` runs the full check every
time, and so does the index job once its proof is a day old.
"""

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.table import Table

from semcode.idsets import absent, duplicated
from semcode.reports import CheckReport
from semcode.store.checks import vectors_match_chunks
from semcode.store.tables import Store, read_all, sql_in

KEY = "vectors_proof"  # the meta key of the last proof
FULL_EVERY_S = 24 * 3600.0  # a proof chain is renewed by a full check once a day
# Past this share of rows changed (and this many), the full check costs about the same.
MAX_SHARE, MAX_ROWS_ANYWAY = 0.05, 50_000
FRAGMENT = 32  # a row id's fragment, in its high bits
ID_BATCH = 2000
UNREADABLE = (RuntimeError, OSError, ValueError)  # what LanceDB raises on a missing version


@dataclass
class TableState:
    """One table at one version: its live row ids, by fragment, and a handle that reads it."""

    name: str
    table: Table  # checked out at ``version``
    # when each kept version was written: a table dropped and made again has other versions
    # of the same numbers
    versions: dict[int, str]
    rowids: np.ndarray  # sorted
    counts: dict[int, int]  # live rows by fragment

    @property
    def version(self) -> int:
        return self.table.version

    @property
    def written(self) -> str:
        return self.versions.get(self.version, "")


def state(store: Store, name: str) -> TableState:
    """The table's latest version and its live rows."""
    table = _at(store, name, None)
    read = read_all(table.search().with_row_id(True).select(["_rowid"]))
    rowids = read.column("_rowid").to_numpy(zero_copy_only=False)
    if rowids.size > 1 and not (rowids[1:] > rowids[:-1]).all():  # a scan gives them in order
        rowids = np.sort(rowids)
    fragments = rowids >> FRAGMENT
    starts = np.r_[0, np.flatnonzero(np.diff(fragments)) + 1] if rowids.size else \
        np.empty(0, np.int64)
    counts = np.diff(np.r_[starts, rowids.size])
    return TableState(name, table,
                      {v["version"]: v["timestamp"].isoformat() for v in table.list_versions()},
                      rowids,
                      {int(fragments[s]): int(n) for s, n in zip(starts, counts, strict=True)})


def record(store: Store, model_id: str, dim: int, chunks: TableState,
           vectors: TableState, full_at: str | None = None) -> None:
    """Keep the proof that the property holds at these two versions (a statement about
    versions that never change: it needs no writer lease), with when a full check last
    renewed the chain."""
    store.set_meta(**{KEY: {
        "model": model_id, "dim": dim, "full_at": full_at or _now(),
        **{t.name: {"version": t.version, "written": t.written, "counts": t.counts}
           for t in (chunks, vectors)}}})


def checked(store: Store, model_id: str, dim: int) -> CheckReport:
    """``vectors_match_chunks`` as the index job runs it: from the last proof when it can, in
    full otherwise; a check that passes keeps its proof for the next."""
    since = proven_since(store, model_id, dim)
    if since is not None:
        report, chunks, vectors, full_at = since
        _keep(store, model_id, dim, chunks, vectors, full_at)
        return report
    try:
        before: tuple[TableState, TableState] | None = \
            (state(store, "chunks"), state(store, "vectors"))
    except UNREADABLE:  # the full check says what cannot be read
        before = None
    report = vectors_match_chunks(store, model_id, dim)
    if report.passed and before is not None and \
            (store.table("chunks").version, store.table("vectors").version) == \
            (before[0].version, before[1].version):  # what was read is what the proof names
        _keep(store, model_id, dim, *before)
    return report.model_copy(update={"evidence": {**report.evidence, "proof": "full"}})


def _keep(store: Store, model_id: str, dim: int, chunks: TableState, vectors: TableState,
          full_at: str | None = None) -> None:
    """Record the proof; one that cannot be written (a store this run may only read) leaves
    the next check to be made in full."""
    with contextlib.suppress(*UNREADABLE):
        record(store, model_id, dim, chunks, vectors, full_at)


def proven_or_checked(store: Store, model_id: str, dim: int) -> CheckReport:
    """The check from the last proof when it can be, in full otherwise; keeps no proof (a
    reader's: a run with nothing to do)."""
    since = proven_since(store, model_id, dim)
    return since[0] if since is not None else vectors_match_chunks(store, model_id, dim)


def changes_since(store: Store, model_id: str, dim: int) -> tuple[pa.Table, pa.Array] | None:
    """What ``chunks`` gained and lost since the last proof, for a vectors step to plan from
    instead of comparing both tables in full — when ``vectors`` is still the very version
    the proof names (nothing written to it since). The proof then says that its vectors held
    exactly the chunk ids of the proven ``chunks`` version, so: the chunk rows added since
    (chunk_id, text_hash), less those rewritten with their own id, are the chunks without a
    vector; the ids deleted since and not added back are the orphaned vectors. None when it
    cannot be said so (no proof, another model, too much changed, an id held twice): the
    caller compares in full."""
    try:
        kept = store.get_meta(KEY)
        if not isinstance(kept, dict) or kept.get("model") != model_id or \
                kept.get("dim") != dim or not store.has("vectors"):
            return None
        vectors = _at(store, "vectors", None)
        written = {v["version"]: v["timestamp"].isoformat() for v in vectors.list_versions()}
        if vectors.version != kept["vectors"]["version"] or \
                written.get(vectors.version) != kept["vectors"]["written"]:
            return None
        chunks = _delta(store, "chunks", kept["chunks"], ["chunk_id", "text_hash"])
        added = chunks.added.column("chunk_id").combine_chunks()
        if len(duplicated(added)) or _still_held(chunks, added):
            return None
    except (*UNREADABLE, KeyError, TypeError, AttributeError, _TooMuch):
        return None
    missing = chunks.added.filter(pc.invert(pc.is_in(added, value_set=chunks.deleted)))
    return missing, absent(chunks.deleted, added)


@dataclass
class Delta:
    """What a table gained and lost since a proven version."""

    added: pa.Table  # the rows of newer fragments (chunk_id, and what else was asked)
    deleted: pa.Array  # the chunk ids of rows deleted from fragments that were there
    state: TableState  # the table now
    new_from: int  # the first row id of a fragment newer than the proof


def proven_since(store: Store, model_id: str,
                 dim: int) -> tuple[CheckReport, TableState, TableState, str] | None:
    """The check's report from the rows written since the last proof, the two tables' states
    it proved and when the chain's full check ran; None when it cannot be proven that way
    (then the full check decides)."""
    try:
        kept = store.get_meta(KEY)
        if not isinstance(kept, dict) or kept.get("model") != model_id or \
                kept.get("dim") != dim or not _recent(str(kept.get("full_at", ""))):
            return None
        chunks = _delta(store, "chunks", kept["chunks"], ["chunk_id"])
        vectors = _delta(store, "vectors", kept["vectors"], ["chunk_id", "model", "vector"])
    except (*UNREADABLE, KeyError, TypeError, AttributeError, _TooMuch):
        return None  # a version cleaned up, a table rewritten, a proof unreadable: in full
    added, deleted = chunks.added.column("chunk_id").combine_chunks(), chunks.deleted
    added_v, deleted_v = vectors.added.column("chunk_id").combine_chunks(), vectors.deleted
    # A row rewritten with its own id (a chunk of an edited file that did not change) is
    # deleted and added at once: what must agree is what each table gained and lost net.
    width = vectors.state.table.schema.field("vector").type.list_size
    if vectors.state.rowids.size != chunks.state.rowids.size or width != dim or \
            len(duplicated(added)) or len(duplicated(added_v)) or \
            not _same(absent(added, deleted), absent(added_v, deleted_v)) or \
            not _same(absent(deleted, added), absent(deleted_v, added_v)) or \
            _still_held(chunks, added):
        return None
    models = vectors.added.column("model")
    values = vectors.added.column("vector").combine_chunks()
    flat = values.flatten().to_numpy(zero_copy_only=False) if len(values) else np.empty(0)
    if len(models) and not pc.all(pc.equal(models, model_id)).as_py() or \
            not np.isfinite(flat).all():
        return None
    count = int(chunks.state.rowids.size)
    report = CheckReport(
        name="vectors_match_chunks", passed=True,
        description="every chunk has exactly one vector (proven from the rows written since "
                    f"the last check: {len(added)} added, {len(deleted)} deleted)",
        evidence={"chunks": count, "vectors": count, "missing_vectors": 0,
                  "orphaned_vectors": 0, "duplicate_chunk_ids": 0,
                  "duplicate_vector_ids": 0, "non_finite_values": 0, "dimension": dim,
                  "expected_dimension": dim, "other_models": "", "expected_model": model_id,
                  "proof": f"incremental since chunks v{kept['chunks']['version']}, vectors "
                           f"v{kept['vectors']['version']} (full check {kept['full_at']})",
                  "rows_added": len(added), "rows_deleted": len(deleted)})
    return report, chunks.state, vectors.state, kept["full_at"]


class _TooMuch(Exception):
    """More changed than is worth proving row by row."""


def _delta(store: Store, name: str, kept: dict, columns: list[str]) -> Delta:
    now = state(store, name)
    if now.versions.get(kept["version"]) != kept["written"]:
        raise _TooMuch  # that version is cleaned up, or of a table made again since
    before = {int(f): n for f, n in kept["counts"].items()}
    top = max(before, default=-1)
    new_from = (top + 1) << FRAGMENT
    first_new = int(np.searchsorted(now.rowids, new_from))
    changed = [f for f, n in before.items() if now.counts.get(f, 0) != n]
    if any(now.counts.get(f, 0) > before[f] for f in changed):
        raise _TooMuch  # rows cannot come back to a fragment: not a table this proof knows
    # rows only ever leave a fragment: what changed is the rows added and the rows deleted
    moved = now.rowids.size - first_new + sum(before[f] - now.counts.get(f, 0) for f in changed)
    if moved > max(MAX_SHARE * now.rowids.size, MAX_ROWS_ANYWAY):
        raise _TooMuch
    table = now.table
    added = read_all(table.search().where(f"_rowid >= {new_from}").select(columns)) \
        if first_new < now.rowids.size else \
        pa.table({c: pa.array([], table.schema.field(c).type) for c in columns})
    old = _at(store, name, kept["version"]) if changed else None
    deleted = []
    for fragment in changed:  # its row ids then and now (no data read), then the rows gone
        assert old is not None
        low, high = fragment << FRAGMENT, (fragment + 1) << FRAGMENT
        was = read_all(old.search().with_row_id(True).select(["_rowid"])
                       .where(f"_rowid >= {low} AND _rowid < {high}"))
        live = now.rowids[np.searchsorted(now.rowids, low):np.searchsorted(now.rowids, high)]
        gone = np.setdiff1d(was.column("_rowid").to_numpy(zero_copy_only=False), live)
        for start in range(0, len(gone), ID_BATCH):
            rows = old.take_row_ids(gone[start:start + ID_BATCH].tolist()) \
                .select(["chunk_id"]).to_arrow()
            deleted.append(rows.column("chunk_id").combine_chunks())
    ids = pa.chunked_array(deleted, pa.string()).combine_chunks() if deleted else \
        pa.array([], pa.string())
    return Delta(added=added, deleted=ids, state=now, new_from=new_from)


def _at(store: Store, name: str, version: int | None) -> Table:
    """A handle on ``name`` that reads ``version`` (the latest: None) however the table moves."""
    table = store.db.open_table(name)
    table.checkout(version if version is not None else table.version)
    return table


def _same(ids: pa.Array, others: pa.Array) -> bool:
    """The same set of ids (each list without repeats)."""
    return len(ids) == len(others) and \
        bool(pc.all(pc.is_in(ids, value_set=others)).as_py() if len(ids) else True)


def _still_held(chunks: Delta, added: pa.Array) -> bool:
    """Whether an id added since is held by any other row: one that was there before (not
    deleted since), or another added one. Looked up through the chunks' id index."""
    table = chunks.state.table
    ids = added.to_pylist()
    for start in range(0, len(ids), ID_BATCH):
        batch = ids[start:start + ID_BATCH]
        rows = read_all(table.search().with_row_id(True).where(sql_in("chunk_id", batch))
                        .select(["chunk_id"]))
        if rows.num_rows != len(batch) or \
                pc.sum(pc.less(rows.column("_rowid"), chunks.new_from)).as_py():
            return True
    return False


def _recent(at: str) -> bool:
    try:
        then = datetime.fromisoformat(at)
    except ValueError:
        return False
    return (datetime.now(UTC) - then).total_seconds() < FULL_EVERY_S


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
