"""Answering queries over a built index.

Filters (language, path globs, kind) are applied before ranking: they become a prefilter
on the vector search, built only from escaped literals. Path globs are matched against the
manifest in Python (gitignore-style patterns), never passed to SQL as patterns.
"""

from dataclasses import asdict, dataclass

import pathspec

from semcode.discovery import INDEXED
from semcode.embedding import shared_embedder
from semcode.models import model_id
from semcode.store import Store, StoreNotFound, sql_in

MODES = ("vector",)


@dataclass
class Hit:
    path: str
    start_line: int
    end_line: int
    symbol: str
    language: str
    kind: str
    score: float
    text: str
    chunk_id: str

    def as_dict(self, with_text: bool = True) -> dict:
        data = asdict(self)
        if not with_text:
            data.pop("text")
        return data


class Searcher:
    """Opens the store once and loads the model on the first query."""

    def __init__(self, store_uri: str, model: str, device: str = "cpu"):
        self.store = Store(store_uri, create=False)
        if not self.store.has("vectors"):
            raise StoreNotFound(f"no index at {store_uri} — run `semcode index` first")
        built_with = (self.store.get_meta("vectors", {}) or {}).get("model")
        if built_with and built_with != model_id(model):
            raise ValueError(f"the index at {store_uri} was built with {built_with}; "
                             f"search it with SEMCODE_MODEL={built_with} or re-index")
        self.embedder = shared_embedder(model, device, 16)
        self.vectors = self.store.table("vectors")
        self.chunks = self.store.table("chunks")

    def where(self, languages=(), paths=(), kinds=()) -> str | None:
        """The prefilter for these filters; ``"false"`` when a glob matches no file."""
        clauses = []
        if languages:
            clauses.append(sql_in("language", languages))
        if kinds:
            clauses.append(sql_in("kind", kinds))
        if paths:
            clauses.append(sql_in("path", self.matching_paths(paths)))
        return " AND ".join(clauses) or None

    def matching_paths(self, globs) -> list[str]:
        spec = pathspec.GitIgnoreSpec.from_lines(list(globs))
        rows = self.store.scan("files", ["path"], f"status = '{INDEXED}'")
        return [p for p in rows.column("path").to_pylist() if spec.match_file(p)]

    def search(self, query: str, k: int = 10, languages=(), paths=(), kinds=(),
               mode: str = "vector") -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        if not query.strip():
            return []
        where = self.where(languages, paths, kinds)
        if where and "false" in where.split(" AND "):
            return []
        vector = self.embedder.encode([query])[0]
        ranked = self._vector_ranking(vector, k, where)
        return self._hits(ranked)

    def _vector_ranking(self, vector, k: int, where: str | None) -> list[tuple[str, float]]:
        query = self.vectors.search(vector, vector_column_name="vector").distance_type("cosine")
        if where:
            query = query.where(where, prefilter=True)
        rows = query.select(["chunk_id", "_distance"]).limit(k).to_arrow()
        return [(cid, 1.0 - float(d)) for cid, d in zip(rows.column("chunk_id").to_pylist(),
                                                        rows.column("_distance").to_pylist(),
                                                        strict=True)]

    def _hits(self, ranked: list[tuple[str, float]]) -> list[Hit]:
        if not ranked:
            return []
        rows = self.store.scan("chunks", ["chunk_id", "path", "start_line", "end_line", "symbol",
                                          "language", "kind", "text"],
                               sql_in("chunk_id", [cid for cid, _ in ranked]))
        by_id = {r["chunk_id"]: r for r in rows.to_pylist()}
        return [Hit(score=round(score, 4), **by_id[cid]) for cid, score in ranked
                if cid in by_id]
