"""A small index held in memory between queries: its vectors as one matrix, its chunks' rows
by id and their line spans by path. On a repository of a few thousand chunks, each of a
search's reads from LanceDB (the vector ranking, the candidates' rows, the spans of their
files) costs a few milliseconds of fixed work, most of a warm query's time; from memory they
cost microseconds. The copy is tied to the versions of ``chunks`` and ``vectors`` it was read
at, checked on every query (a fraction of a millisecond), and read again after any write, so
a long-lived searcher never answers from an index that moved. Past ``RESIDENT_MAX_ROWS``
chunks it is not kept: memory grows with the index, and the ANN index answers there."""

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from semcode.search.ranking import Ranked

RESIDENT_MAX_ROWS = 20_000  # ~30 MB of vectors and the chunks' text at most


class Resident:
    """The chunks and vectors of one pair of table versions, read whole."""

    def __init__(self, versions: tuple[int, int], chunks: pa.Table, vectors: pa.Table):
        self.versions = versions
        self.by_id = {row["chunk_id"]: row for row in chunks.to_pylist()}  # ids are unique
        self.spans_by_path: dict[str, list[tuple[int, int]]] = {}
        for path, start, end in zip(chunks.column("path").to_pylist(),
                                    chunks.column("start_line").to_pylist(),
                                    chunks.column("end_line").to_pylist(), strict=True):
            self.spans_by_path.setdefault(path, []).append((start, end))
        self.ids = vectors.column("chunk_id").to_pylist()
        self.paths = vectors.column("path").to_pylist()
        width = vectors.schema.field("vector").type.list_size
        matrix = vectors.column("vector").combine_chunks().flatten().to_numpy(
            zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, width)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.unit = matrix / np.maximum(norms, np.finfo(np.float32).tiny)

    def vector_ranking(self, vector: np.ndarray, k: int,
                       hidden: frozenset[str] = frozenset()) -> list[Ranked]:
        """The ``k`` chunks of highest cosine similarity, those of ``hidden`` paths left out;
        ties keep the table's order."""
        query = np.asarray(vector, dtype=np.float32)
        cosine = self.unit @ (query / max(float(np.linalg.norm(query)), 1e-12))
        if hidden:
            cosine[[i for i, path in enumerate(self.paths) if path in hidden]] = -np.inf
        order = np.argsort(-cosine, kind="stable")[:k]
        return [(self.ids[i], float(cosine[i])) for i in order if np.isfinite(cosine[i])]

    def rows(self, ids: Sequence[str]) -> dict[str, dict]:
        return {cid: self.by_id[cid] for cid in ids if cid in self.by_id}

    def spans(self, paths: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
        return {p: self.spans_by_path[p] for p in paths if p in self.spans_by_path}
