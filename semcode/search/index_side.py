"""The index's side of a search: its vector and keyword rankings and the rows they name,
with the paths a checkout's overlay replaces left out — exactly: each side asks for as many
more rows as the index holds of those paths and drops them (past ``HIDE_BY_FILTER`` rows, a
filter before ranking does it instead), so the common case adds no filter over every row."""

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.query import MatchQuery

from semcode.config import DEFAULT_NPROBES, DEFAULT_REFINE
from semcode.errors import StoreError, as_damage
from semcode.identifiers import query_keywords
from semcode.search.indexed_version import IndexedVersion, read_indexed_version, vector_query
from semcode.search.overlay_view import OverlayView
from semcode.search.per_version import Moved, PerVersion
from semcode.search.ranking import Ranked
from semcode.search.resident import RESIDENT_MAX_ROWS, Resident
from semcode.search.row_map import MAP_MAX_ROWS, RowMap
from semcode.store.tables import Store, read_all, sql_in

HIT_COLUMNS = ["chunk_id", "path", "start_line", "end_line", "symbol", "language", "kind",
               "text"]
PART_COLUMNS = ["part_start", "part_end"]
HIDE_BY_FILTER = 2_000
T = TypeVar("T")
MAX_QUERY_WORDS = 256  # keywords sent to the full-text index (a query's usually < 30)


class IndexSide:
    """The store's ``vectors`` and ``chunks`` as a search reads them."""

    def __init__(self, store: Store, nprobes: int = DEFAULT_NPROBES,
                 refine: int = DEFAULT_REFINE):
        self.store = store
        self.nprobes = nprobes  # partitions of the ANN index probed, when there is one
        self.refine = refine  # candidates per hit it re-ranks by their whole vectors
        self.vectors = store.table("vectors")
        self.chunks = store.table("chunks")
        self.columns = HIT_COLUMNS + [c for c in PART_COLUMNS if c in self.chunks.schema.names]
        self._resident: Resident | None = None
        self._too_big: tuple[int, int] | None = None  # the versions found past the limit
        self._pinned = threading.local()  # a search's own copy, for the thread it runs on
        self._searches = 0
        # a large index's, read in threads: where its chunks lie (row_map.py), its vectors
        # as their ANN index last saw them (indexed_version.py)
        self._map = PerVersion("semcode-row-map", self._read_map)
        self._indexed = PerVersion("semcode-indexed-vectors", self._read_indexed)

    @contextmanager
    def one_reading(self) -> Iterator[None]:
        """Within it, this thread's reads answer from the copy in memory as it was at the
        start (one version of the index for a whole search, and its versions checked once) —
        or, for an index too large to hold, through its row map and indexed version of that
        start. The copy is first read for a process's second search (the others: started
        then, in threads): a one-shot search (the CLI) reads only the rows it shows, not the
        whole index (~50 ms for 4,000 chunks)."""
        self._searches += 1
        again, versions = self._searches > 1, self._versions()  # read once for all three
        held = self._current(build=again, versions=versions)
        mapped = self._current_read(self._map, versions, 0, again) if held is None else None
        indexed = self._current_read(self._indexed, versions, 1, again) if held is None \
            else None
        self._pinned.held, self._pinned.map, self._pinned.indexed = held, mapped, indexed
        self._pinned.on = True
        try:
            yield
        finally:
            self._pinned.held, self._pinned.map, self._pinned.indexed = None, None, None
            self._pinned.on = False

    def resident(self) -> Resident | None:
        """The index in memory (``semcode/search/resident.py``) when it is small: the search's own
        (``one_reading``), else the current one."""
        return self._pinned.held if getattr(self._pinned, "on", False) else \
            self._current(build=False, versions=self._versions())

    def row_map(self) -> RowMap | None:
        """Where a large index's chunks lie (``semcode/search/row_map.py``): the search's own
        (``one_reading``), else the current one."""
        return self._pinned.map if getattr(self._pinned, "on", False) else \
            self._current_read(self._map, self._versions(), 0, start=False)

    def indexed_version(self) -> IndexedVersion | None:
        """A large index's vectors as their ANN index last saw them and the writes since
        (``semcode/search/indexed_version.py``): the search's own (``one_reading``), else the
        current one."""
        return self._pinned.indexed if getattr(self._pinned, "on", False) else \
            self._current_read(self._indexed, self._versions(), 1, start=False)

    def _versions(self) -> tuple[int, int] | None:
        """The current versions of ``chunks`` and ``vectors`` (None when unreadable)."""
        try:
            return self.chunks.version, self.vectors.version
        except (RuntimeError, OSError, ValueError):
            return None

    def _current_read(self, reads: PerVersion[T], versions: tuple[int, int] | None,
                      which: int, start: bool) -> T | None:
        """What ``reads`` (the row map: ``which`` 0, of ``chunks``; the indexed version: 1,
        of ``vectors``) holds for that table's version in ``versions``; when it has not been
        read (and ``start``), it is read in a thread — meanwhile the store answers. Only for
        an index past ``RESIDENT_MAX_ROWS``, which is then not held whole."""
        if versions is None:
            return None
        big = self._too_big is not None and self._too_big[which] == versions[which]
        return reads.current(versions[which], start and big)

    def _read_map(self, version: int) -> RowMap | None:
        if self.chunks.count_rows() > MAP_MAX_ROWS:
            return None
        rows = read_all(self.chunks.search().select(["chunk_id", "path", "start_line",
                                                     "end_line"]).with_row_id(True))
        if self.chunks.version != version:  # a write while it was read
            raise Moved
        return RowMap(version, rows)

    def _read_indexed(self, version: int) -> IndexedVersion | None:
        return read_indexed_version(lambda: self.store.table("vectors"), version)

    def wait_for_map(self, timeout: float | None = None) -> RowMap | None:
        """The map once the reads under way (if any) are done (for tests and benchmarks)."""
        self._map.wait(timeout)
        self._indexed.wait(timeout)
        return self._current_read(self._map, self._versions(), 0, start=False)

    def _current(self, build: bool, versions: tuple[int, int] | None) -> Resident | None:
        """The copy in memory of ``versions`` (the tables' current ones), read again (when
        ``build``) once a table's version moved; None past ``RESIDENT_MAX_ROWS``, or when it
        cannot be read now (a write in between, damage: the reads from the store answer and
        say why)."""
        if versions is None:
            return None
        try:
            held = self._resident
            if held is not None and held.versions == versions:
                return held
            self._resident = None
            if not build or versions == self._too_big:
                return None
            if max(self.chunks.count_rows(), self.vectors.count_rows()) > RESIDENT_MAX_ROWS:
                self._too_big = versions
                return None
            chunks = self.store.scan("chunks", self.columns)
            vectors = self.store.scan("vectors", ["chunk_id", "path", "vector"])
            if (self.chunks.version, self.vectors.version) != versions:
                return None
        except (RuntimeError, OSError, ValueError):
            return None
        self._resident = Resident(versions, chunks, vectors)
        return self._resident

    def hidden_count(self, view: OverlayView) -> int:
        """How many of the index's chunks the overlay hides (counted once per overlay)."""
        if not view.hidden:
            return 0
        if view.hidden_in_index is None:
            view.hidden_in_index = self.store.count("chunks", sql_in("path", sorted(view.hidden)))
        return view.hidden_in_index

    def _hiding(self, where: str | None, hidden: frozenset[str], count: int,
                k: int) -> tuple[str | None, int]:
        """The filter and the row limit that leave the ``hidden`` paths' ``count`` chunks
        out of the best ``k``."""
        if not hidden or count <= HIDE_BY_FILTER:
            return where, k + count
        out = f"NOT {sql_in('path', sorted(hidden))}"
        return (f"{where} AND {out}" if where else out), k

    def vector_ranking(self, vector: np.ndarray, k: int, where: str | None,
                       hidden: frozenset[str] = frozenset(), count: int = 0) -> list[Ranked]:
        if where is None and (held := self.resident()) is not None:
            return held.vector_ranking(vector, k, hidden)
        where, limit = self._hiding(where, hidden, count, k)
        rows = self._nearest_indexed(vector, limit) if where is None else None
        if rows is None:
            query = vector_query(self.vectors, vector, limit, self.nprobes, self.refine)
            if where:
                query = query.where(where, prefilter=True)
            rows = query.select(["chunk_id", "path", "_distance"]).to_arrow()
        return _unhidden(rows, hidden, k, lambda d: 1.0 - float(d), "_distance")

    def _nearest_indexed(self, vector: np.ndarray, limit: int) -> pa.Table | None:
        """The nearest ``limit`` through the indexed version, when there is one and its
        version can still be read (a cleanup may remove it: the current version answers)."""
        if (indexed := self.indexed_version()) is None:
            return None
        try:
            return indexed.nearest(vector, limit, self.nprobes, self.refine)
        except (RuntimeError, OSError, ValueError):
            return None

    def keyword_ranking(self, query: str, k: int, where: str | None,
                        warnings: list[str] | None = None, hidden: frozenset[str] = frozenset(),
                        count: int = 0, read: dict[str, dict] | None = None) -> list[Ranked]:
        """The best ``k`` chunks by BM25. With ``read``, the ranked chunks' rows go into it
        too: the full-text query reads them by address, for less than a lookup by id costs
        (at the Linux ``drivers/`` size, +4 ms here against 10 ms or more for each lookup)."""
        words = " ".join(query_keywords(query).split()[:MAX_QUERY_WORDS])
        if not words:
            return []
        where, limit = self._hiding(where, hidden, count, k)
        match = MatchQuery(words, "keywords")  # type: ignore[call-arg]  # the rest default
        search = self.chunks.search(match, query_type="fts")
        if where:
            search = search.where(where, prefilter=True)
        columns = ["chunk_id", "path", "_score"] if read is None else self.columns + ["_score"]
        try:
            rows = search.select(columns).limit(limit).to_arrow()
        except (RuntimeError, OSError, ValueError) as exc:  # the full-text index is damaged
            if warnings is None:
                raise StoreError(f"keyword search failed ({exc}) — run `semcode index` to "
                                 "rebuild the full-text index") from exc
            warnings.append("keyword search is unavailable (the full-text index is missing or "
                            "damaged), so results are by meaning only — run `semcode index`")
            return []
        ranked = _unhidden(rows, hidden, k, float, "_score")
        if read is not None:
            wanted = {cid for cid, _ in ranked}
            read.update((row["chunk_id"], row) for row in rows.drop(["_score"]).to_pylist()
                        if row["chunk_id"] in wanted)
        return ranked

    def spans(self, paths: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
        """The line spans of every chunk of these files."""
        if (held := self.resident()) is not None:
            return held.spans(paths)
        if (mapped := self.row_map()) is not None:
            return mapped.spans(paths)
        rows = self.store.scan("chunks", ["path", "start_line", "end_line"],
                               sql_in("path", paths))
        found: dict[str, list[tuple[int, int]]] = {}
        for path, start, end in zip(*(rows.column(c).to_pylist() for c in rows.column_names),
                                    strict=True):
            found.setdefault(path, []).append((start, end))
        return found

    def rows(self, ids: list[str]) -> dict[str, dict]:
        """The chunk rows of these ids (what a hit shows), by id."""
        if not ids:
            return {}
        if (held := self.resident()) is not None:
            return held.rows(ids)
        found = self.rows_by_row_id(ids)
        ids = [cid for cid in ids if cid not in found]
        if not ids:
            return found
        try:
            rows = self.chunks.search().where(sql_in("chunk_id", ids)).select(self.columns) \
                .to_arrow()
        except (RuntimeError, OSError, ValueError):  # the id index is damaged: read past it
            try:
                rows = pa.concat_tables(
                    pa.Table.from_batches([b]).filter(pc.is_in(b.column("chunk_id"),
                                                               value_set=pa.array(ids)))
                    for b in self.store.stream("chunks", self.columns, batch_size=65536))
            except (RuntimeError, OSError, ValueError) as exc:  # the chunks themselves
                raise as_damage(exc, self.store.uri) or exc from exc
        return {**found, **{r["chunk_id"]: r for r in rows.to_pylist()}}

    def rows_by_row_id(self, ids: list[str]) -> dict[str, dict]:
        """The rows of ``ids`` that the row map places, read by row id; a row that is not
        the one asked for (a write since the map was read) is left to the lookup by id."""
        mapped = self.row_map()
        at = mapped.row_ids_of(ids) if mapped is not None else {}
        if not at:
            return {}
        try:
            rows = self.chunks.take_row_ids(list(at.values())).select(self.columns).to_arrow()
        except (RuntimeError, OSError, ValueError):  # moved or damaged: the lookup answers
            return {}
        return {row["chunk_id"]: row for row in rows.to_pylist() if row["chunk_id"] in at}


def _unhidden(rows: pa.Table, hidden: frozenset[str], k: int, score: Callable[[float], float],
              column: str) -> list[Ranked]:
    """(chunk id, ``score(value)``) of ``rows`` but those of ``hidden`` paths: the best ``k``."""
    found = [(cid, score(value)) for cid, path, value in zip(
        rows.column("chunk_id").to_pylist(), rows.column("path").to_pylist(),
        rows.column(column).to_pylist(), strict=True) if path not in hidden]
    return found[:k]
