"""The vectors as their ANN index last saw them, and the writes since, beside it.

LanceDB (0.40) searches an IVF-HNSW index under a row mask once any row lies outside it or
any row it holds has been deleted — after any push, until ``optimize()`` rewrites the index,
which ``index_policy`` leaves until 2% of the table is outside it (a rewrite takes minutes at
the Linux ``drivers/`` size). The mask costs ~13 ms of a search there: 30 partitions probed
took 24.5-26 ms at the versions after a push and 10.8 ms at the version the index was built
at. That version is still readable and needs no mask, so a long-lived searcher searches it,
drops the chunks deleted since and scores the ones added since exactly, in memory: the
answer of the current version, by the same cosine distances, for less."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.query import LanceVectorQueryBuilder
from lancedb.table import Table

from semcode.store.tables import read_all

MAX_ADDED = 100_000  # rows added since held in memory (~150 MB at 384 dimensions)
MAX_VERSIONS = 200  # versions looked back through for the index's own


def vector_query(table: Table, vector: np.ndarray, limit: int, nprobes: int,
                 refine: int) -> LanceVectorQueryBuilder:
    """The nearest ``limit`` rows of ``table`` to ``vector`` by cosine distance, re-ranked by
    their whole vectors even at ``refine`` 1: LanceDB's IVF-HNSW-SQ answers a table its index
    covers whole with the 8-bit copies' squared distance (~2x the cosine distance) and one
    with rows outside it with the cosine distance — scores a blend and the working tree's own
    cosines must meet on (+~1 ms at the Linux ``drivers/`` size)."""
    query = table.search(np.asarray(vector, dtype=np.float32), vector_column_name="vector")
    assert isinstance(query, LanceVectorQueryBuilder)
    return query.distance_type("cosine").nprobes(nprobes).refine_factor(max(refine, 1)) \
        .limit(limit)


@dataclass(frozen=True)
class IndexedVersion:
    """``vectors`` at ``version``, as ``base`` (the version its ANN index covers whole) less
    ``deleted`` plus the ``added`` rows."""

    version: int
    base: Table
    deleted: pa.Array  # chunk ids
    added: pa.Table  # chunk_id, path: the rows written since
    unit: np.ndarray  # their vectors, made unit

    def nearest(self, vector: np.ndarray, limit: int, nprobes: int, refine: int) -> pa.Table:
        """``chunk_id``, ``path`` and ``_distance`` of the nearest ``limit`` rows of
        ``version``, best first — as a search of that version finds them."""
        rows = self._kept(vector, limit, nprobes, refine)
        if rows.num_rows < limit and len(self.deleted):  # deleted ones among the nearest:
            rows = self._kept(vector, limit + len(self.deleted), nprobes, refine)  # deeper
        if self.added.num_rows:
            query = np.asarray(vector, dtype=np.float32)
            query = query / (np.linalg.norm(query) or 1.0)
            distance = 1.0 - self.unit @ query
            fresh = pa.table({"chunk_id": self.added.column("chunk_id"),
                              "path": self.added.column("path"),
                              "_distance": pa.array(distance.astype(np.float32))})
            rows = pa.concat_tables([rows.cast(fresh.schema), fresh])
        return rows.sort_by([("_distance", "ascending"), ("chunk_id", "ascending")]) \
            .slice(0, limit)


    def _kept(self, vector: np.ndarray, limit: int, nprobes: int, refine: int) -> pa.Table:
        """The nearest ``limit`` rows of ``base``, less those deleted since."""
        rows = vector_query(self.base, vector, limit, nprobes, refine) \
            .select(["chunk_id", "path", "_distance"]).to_arrow()
        if not len(self.deleted):
            return rows
        return rows.filter(pc.invert(pc.is_in(rows.column("chunk_id"), value_set=self.deleted)))


def read_indexed_version(open_vectors: Callable[[], Table], version: int,
                         index: str = "vector_idx") -> IndexedVersion | None:
    """``vectors`` at ``version`` as its index's own version and the writes since; None when
    that version needs no such help (its index covers it whole, or it has none), or when the
    index's version is gone or too much was written since. ``open_vectors()``: the table
    anew (one to check out each version with)."""
    base_version = indexed_version(open_vectors(), index, version)
    if base_version is None or base_version == version:
        return None
    base, now = open_vectors(), open_vectors()
    base.checkout(base_version)
    now.checkout(version)
    then = read_all(base.search().select(["chunk_id"])).column("chunk_id")
    current = read_all(now.search().select(["chunk_id"]).with_row_id(True))
    fresh = pc.invert(pc.is_in(current.column("chunk_id"), value_set=then))
    if (pc.sum(fresh).as_py() or 0) > MAX_ADDED:
        return None
    added = now.take_row_ids(current.column("_rowid").filter(fresh).to_pylist()) \
        .select(["chunk_id", "path", "vector"]).to_arrow()
    unit = np.stack(added.column("vector").to_numpy(zero_copy_only=False)).astype(
        np.float32) if added.num_rows else np.zeros((0, 1), np.float32)
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    gone = then.filter(pc.invert(pc.is_in(then, value_set=current.column("chunk_id"))))
    return IndexedVersion(version, base, gone.combine_chunks(),
                          added.select(["chunk_id", "path"]), unit)


def indexed_version(table: Table, index: str, version: int) -> int | None:
    """The oldest of the versions up to ``version`` that ``index`` covers whole with none
    between: the one it was built (or brought up to date) at, whose search needs no mask —
    a version that only deleted rows is covered too, but searched under a mask."""
    found = None
    for number in sorted((v["version"] for v in table.list_versions()
                          if v["version"] <= version), reverse=True)[:MAX_VERSIONS]:
        try:
            table.checkout(number)
            stats = table.index_stats(index)
        except (RuntimeError, OSError, ValueError):  # cleaned up: what was found stands
            break
        if stats is None or stats.num_unindexed_rows:
            if found is not None or stats is None:
                break
            continue
        found = number
    return found
