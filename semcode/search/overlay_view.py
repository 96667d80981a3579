"""The overlay as search sees it: a checkout's chunks of the paths it changed, each with its
vector, held in memory and ranked the way the index ranks its own (the cosine; BM25 over the
same ``keywords`` words, k1 1.2 and b 0.75 as LanceDB's full-text index).

Small by construction (``worktree.MAX_CHANGED_FILES``), so both sides are exact and take a
millisecond: a matrix product, and postings built once per overlay.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa

from semcode.reports import OverlayReport

BM25_K1, BM25_B = 1.2, 0.75
# The columns of an overlay row: a chunk as ``chunks`` holds it, and its vector.
ROW_COLUMNS = ["chunk_id", "path", "language", "kind", "symbol", "start_line", "end_line",
               "text", "text_hash", "keywords", "part_start", "part_end"]
Ranked = tuple[str, float]


@dataclass
class Scope:
    """Filters as values: what the overlay keeps (None: no filter of that kind)."""

    languages: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    paths: frozenset[str] | None = None


@dataclass
class OverlayView:
    """The overlay at one moment. ``hidden``: paths whose index chunks it replaces (changed,
    deleted, now skipped); ``rows``: its chunks (``ROW_COLUMNS``) with ``vector``;
    ``files``: path → (status, reason) of every path it holds."""

    hidden: frozenset[str] = frozenset()
    rows: pa.Table | None = None
    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    report: OverlayReport = field(default_factory=OverlayReport)
    hidden_in_index: int | None = None  # the index's chunks of ``hidden`` (its searcher counts)

    @property
    def empty(self) -> bool:
        return not self.hidden

    @cached_property
    def _columns(self) -> dict[str, list]:
        if self.rows is None:
            return {name: [] for name in ROW_COLUMNS}
        return {name: self.rows.column(name).to_pylist() for name in ROW_COLUMNS}

    @cached_property
    def _vectors(self) -> np.ndarray:
        if self.rows is None or not self.rows.num_rows:
            return np.zeros((0, 1), dtype=np.float32)
        column = self.rows.column("vector").combine_chunks()
        return column.flatten().to_numpy().reshape(len(column), -1)

    @cached_property
    def _by_id(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self._columns["chunk_id"])}

    def has(self, chunk_id: str) -> bool:
        return chunk_id in self._by_id

    def indexed_paths(self) -> list[str]:
        return [path for path, (status, _) in self.files.items() if status == "indexed"]

    # -- ranking -----------------------------------------------------------------------------
    def _mask(self, scope: Scope, exclude: Sequence[str] = ()) -> np.ndarray:
        c = self._columns
        keep = np.ones(len(c["chunk_id"]), dtype=bool)
        for name, allowed in (("language", scope.languages), ("kind", scope.kinds),
                              ("path", scope.paths)):
            if allowed is not None:
                keep &= np.array([v in allowed for v in c[name]], dtype=bool)
        if exclude:
            gone = set(exclude)
            keep &= np.array([cid not in gone for cid in c["chunk_id"]], dtype=bool)
        return keep

    def vector_ranking(self, vector: np.ndarray, k: int, scope: Scope,
                       exclude: Sequence[str] = ()) -> list[Ranked]:
        if not self._by_id:
            return []
        cosines = self._vectors @ np.asarray(vector, dtype=np.float32)
        return self._top(np.where(self._mask(scope, exclude), cosines, -np.inf), k)

    def keyword_ranking(self, words: Sequence[str], k: int, scope: Scope) -> list[Ranked]:
        """BM25 of the query's words over the overlay's own chunks."""
        if not self._by_id or not words:
            return []
        postings, lengths = self._postings
        n, mean = len(lengths), float(lengths.mean()) or 1.0
        scores = np.zeros(n, dtype=np.float64)
        for word in dict.fromkeys(words):
            found = postings.get(word)
            if not found:
                continue
            idf = math.log(1.0 + (n - len(found) + 0.5) / (len(found) + 0.5))
            rows = np.fromiter(found.keys(), dtype=np.int64)
            tf = np.fromiter(found.values(), dtype=np.float64)
            scores[rows] += idf * tf * (BM25_K1 + 1) / (
                tf + BM25_K1 * (1 - BM25_B + BM25_B * lengths[rows] / mean))
        return self._top(np.where(self._mask(scope) & (scores > 0), scores, -np.inf), k)

    def _top(self, scores: np.ndarray, k: int) -> list[Ranked]:
        order = np.argsort(-scores, kind="stable")[:k]
        ids = self._columns["chunk_id"]
        return [(ids[i], float(scores[i])) for i in order if np.isfinite(scores[i])]

    @cached_property
    def _postings(self) -> tuple[dict[str, dict[int, int]], np.ndarray]:
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        lengths = []
        for i, text in enumerate(self._columns["keywords"]):
            words = text.split()
            lengths.append(len(words))
            for word, count in Counter(words).items():
                postings[word][i] = count
        return dict(postings), np.array(lengths, dtype=np.float64)

    # -- rows --------------------------------------------------------------------------------
    def rows_of(self, ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict]:
        c = self._columns
        return {cid: {name: c[name][i] for name in columns if name in c}
                for cid in ids if (i := self._by_id.get(cid)) is not None}

    def spans(self, paths: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
        wanted, c = set(paths), self._columns
        found: dict[str, list[tuple[int, int]]] = {}
        for path, start, end in zip(c["path"], c["start_line"], c["end_line"], strict=True):
            if path in wanted:
                found.setdefault(path, []).append((start, end))
        return found

    def place(self, path: str, line: int | None) -> tuple[np.ndarray, list[str]]:
        """The vectors of ``path``'s chunks (the one holding ``line``) and their ids; none
        when the checkout has no such chunk."""
        c = self._columns
        at = [i for i, (p, start, end) in enumerate(zip(c["path"], c["start_line"],
                                                        c["end_line"], strict=True))
              if p == path and (line is None or start <= line <= end)]
        return self._vectors[at], [c["chunk_id"][i] for i in at]
