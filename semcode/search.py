"""Answering queries over a built index: hybrid by default.

* vector: cosine similarity of the query's embedding to every chunk's vector;
* keyword: BM25 on LanceDB's native full-text index over the ``keywords`` column, where
  identifiers are split (``getUserName`` → getusername get user name) on both sides;
* hybrid: one score from both sides (``blend``): the cosine and the BM25 score scaled by the
  query's best, weighted; a bonus when the query holds the words of the chunk's own name;
  then priors by kind, file and name (a stub, a language's hooks).

Filters (language, path globs, kind) are applied before ranking — a prefilter on both
sides — and are built only from escaped literals. Path globs are matched against the
manifest in Python (gitignore-style patterns), never passed to SQL as patterns.
"""

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.query import MatchQuery

from semcode.config import (
    DEFAULT_BACKEND,
    DEFAULT_BATCH_SIZE,
    DEFAULT_DEVICE,
    DEFAULT_LIMIT,
    DEFAULT_MODE,
    DEFAULT_MODEL,
    SEARCH_MODES,
)
from semcode.discovery import INDEXED
from semcode.embedding import shared_embedder
from semcode.errors import (
    NotIndexed,
    QueryError,
    StoreError,
    StoreNotFound,
    as_damage,
    first_line,
)
from semcode.globs import compile_globs
from semcode.identifiers import query_keywords, split_identifier
from semcode.languages import is_hook, known_languages
from semcode.merging import merge_pieces
from semcode.model_files import model_id
from semcode.reports import Report
from semcode.static_model import is_static
from semcode.store import Store, sql_in, sql_str

Filters = Sequence[str]
Ranked = tuple[str, float]  # chunk id, score
# Measured on the shared harness (BENCHMARKS.md) on all 16 development corpora: the hybrid
# score is the cosine plus the BM25 score scaled by the query's best, 0.85 : 0.15 (better than
# reciprocal rank fusion on every language's mean: the vector side's scores say how close a
# chunk is, which ranks throw away), then a preference for functions and methods over glue
# code, class headers and type declarations, and for implementations over type stubs.
VECTOR_SHARE = 0.85
STATIC_VECTOR_SHARE = 0.7  # the static tier's cosines tell less apart (measured the same way)
# Added for each word of a chunk's own name that the query holds (in share of the name's
# words): "delete a cookie by name" → Cookies.delete. On all 16: +0.017 / +0.028 / +0.015
# (py / js / go); flat from 0.06 to 0.1.
NAME_BONUS = 0.08
CALLABLE_KINDS = frozenset({"function", "method"})
OTHER_KINDS_PRIOR = 0.6
# Declarations restate signatures whose behaviour lives elsewhere — type stub files, and
# typing overloads beside their implementation (a decorator line before the ``def``): a
# search by what code does should show the implementation first. Overloads: click +0.014.
STUB_SUFFIXES = (".pyi", ".d.ts", ".d.mts", ".d.cts")
OVERLOAD = re.compile(r"^[ \t]*@(?:\w+\.)*overload\b", re.MULTILINE)
STUB_PRIOR = 0.5
# A method its language calls rather than a person (``__call__``, ``__eq__``, ``__iter__``;
# constructors aside) does its work behind the API that triggers it: the validator factory
# before its class's ``__call__``. On all 16: Python +0.010 (attrs +0.042), flat from 0.7 to
# 0.5; no other language has such hooks in its table. The harness never asks for a special
# method (its queries skip them), so part of that is the harness's; constructors stay at 1.
HOOK_PRIOR = 0.7
DEPTH = 50  # candidates per side before fusion
HIT_COLUMNS = ["chunk_id", "path", "start_line", "end_line", "symbol", "language", "kind",
               "text"]
PART_COLUMNS = ["part_start", "part_end"]


MAX_K = 1_000
MAX_QUERY_CHARS = 20_000
MAX_QUERY_WORDS = 256  # keywords sent to the full-text index (a query's usually < 30)


class Hit(Report):
    """One result: where the chunk is, what it is, its score and its code."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    language: str
    kind: str
    score: float
    text: str
    chunk_id: str
    matched_by: str = ""  # vector, keyword or both: which side of the search found it
    # The lines of the whole definition this hit was cut from (a long function's windows
    # share them); (0, 0) in an index built before it was recorded.
    part_of: tuple[int, int] = (0, 0)
    # Which repository of SEMCODE_REPOS the hit is in; empty in a one-repository deployment.
    repository: str = ""


class Answer(Report):
    """The hits of one query, and warnings that qualify them."""

    hits: list[Hit]
    warnings: list[str] = []


def is_declaration(path: str, text: str) -> bool:
    """A stub file's definition, or a typing overload (its decorators precede its ``def``)."""
    return path.endswith(STUB_SUFFIXES) or bool(OVERLOAD.search(text.split("def ", 1)[0]))


def name_match(query_words: set[str], symbol: str) -> float:
    """The share of a chunk's own name's words (its symbol's last part: ``delete`` of
    ``Cookies.delete``) that the query holds."""
    words = set(split_identifier(symbol.rsplit(".", 1)[-1])) if symbol else set()
    return len(words & query_words) / len(words) if words else 0.0


def blend(by_vector: list[Ranked], by_keyword: list[Ranked],
          vector_share: float = VECTOR_SHARE) -> list[tuple[str, float]]:
    """Each chunk's cosine and its BM25 score over the query's best, weighted; a chunk only
    the keyword side found counts the lowest cosine the vector side returned (it is at most
    that close), one only the vector side found counts no keyword score."""
    cosine = dict(by_vector)
    floor = min(cosine.values(), default=0.0)
    best = max((score for _, score in by_keyword), default=0.0) or 1.0
    keyword = {cid: score / best for cid, score in by_keyword}
    fused = ((cid, vector_share * cosine.get(cid, floor)
              + (1.0 - vector_share) * keyword.get(cid, 0.0)) for cid in cosine.keys() | keyword)
    return sorted(fused, key=lambda pair: (-pair[1], pair[0]))


MAX_LINE = 2**31 - 1  # lines are stored as int32


class Searcher:
    """Opens the store once and loads the model on the first query; safe to share between
    threads for reading."""

    def __init__(self, store_uri: str, *, model: str = DEFAULT_MODEL,
                 device: str = DEFAULT_DEVICE, backend: str = DEFAULT_BACKEND,
                 vector_share: float | None = None,
                 depth: int = DEPTH, kind_prior: float = OTHER_KINDS_PRIOR,
                 stub_prior: float = STUB_PRIOR, hook_prior: float = HOOK_PRIOR):
        self.store = Store(store_uri, create=False)
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="semcode-keyword")
        if not self.store.has("vectors"):
            raise StoreNotFound(f"no index at {store_uri} — run `semcode index` first")
        self.damage: list[str] = []  # what of the store could not be read, for warnings
        try:
            last = self.store.last_vectors()
        except (RuntimeError, OSError, ValueError) as exc:
            if as_damage(exc) is None:
                raise
            last = None  # the model cannot be confirmed; the vectors' width still must fit
            self.damage.append(f"the store's meta table cannot be read ({first_line(exc)})")
        if last is not None and last.model != model_id(model):
            raise StoreError(f"the index at {store_uri} was built with {last.model}; "
                             f"search it with SEMCODE_MODEL={last.model}, or run "
                             "`semcode index` to re-embed it with the configured model")
        self.model_id = model_id(model)
        self.embedder = shared_embedder(model, device, DEFAULT_BATCH_SIZE, backend,
                                        for_queries=True)
        self.vectors = self.store.table("vectors")
        self.chunks = self.store.table("chunks")
        self.columns = HIT_COLUMNS + [c for c in PART_COLUMNS if c in self.chunks.schema.names]
        self.vector_share = vector_share if vector_share is not None else \
            STATIC_VECTOR_SHARE if is_static(model) else VECTOR_SHARE
        self.depth = depth
        self.kind_prior = kind_prior
        self.stub_prior = stub_prior
        self.hook_prior = hook_prior

    # -- filters -----------------------------------------------------------------------------
    def where(self, languages: Filters = (), paths: Filters = (),
              kinds: Filters = ()) -> str | None:
        """The prefilter for these filters; ``"false"`` when a glob matches no file."""
        if any("\0" in value for value in (*languages, *paths, *kinds)):
            raise QueryError("a filter value contains a NUL byte")
        unknown = sorted(set(languages) - set(known_languages()))
        if unknown:
            raise QueryError(f"unknown language {', '.join(unknown)} — choose from "
                             f"{', '.join(known_languages())}")
        clauses = []
        if languages:
            clauses.append(sql_in("language", languages))
        if kinds:
            clauses.append(sql_in("kind", kinds))
        if paths:
            clauses.append(sql_in("path", self.matching_paths(paths)))
        return " AND ".join(clauses) or None

    def matching_paths(self, globs: Filters) -> list[str]:
        spec = compile_globs(globs, source="--path")
        rows = self.store.scan("files", ["path"], f"status = {sql_str(INDEXED)}")
        return [p for p in rows.column("path").to_pylist() if spec.match_file(p)]

    # -- queries -----------------------------------------------------------------------------
    def search(self, query: str, *, k: int = DEFAULT_LIMIT, languages: Filters = (),
               paths: Filters = (), kinds: Filters = (), mode: str = DEFAULT_MODE) -> list[Hit]:
        return self.answer(query, k=k, languages=languages, paths=paths, kinds=kinds,
                           mode=mode).hits

    def answer(self, query: str, *, k: int = DEFAULT_LIMIT, languages: Filters = (),
               paths: Filters = (), kinds: Filters = (), mode: str = DEFAULT_MODE,
               vector: np.ndarray | None = None) -> Answer:
        """The hits, and what a reader must know about them (an incomplete index).
        ``vector``: the query already embedded by this model (a search over several
        stores embeds it once)."""
        if mode not in SEARCH_MODES:
            raise QueryError(f"unknown mode {mode!r}: choose one of {', '.join(SEARCH_MODES)}")
        if not 1 <= k <= MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}, got {k}")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query has {len(query)} characters; at most "
                             f"{MAX_QUERY_CHARS} are searched — shorten it")
        answer = Answer(hits=[], warnings=self.warnings(mode))
        where = self.where(languages, paths, kinds)
        if not query.strip() or (where and "false" in where.split(" AND ")):
            return answer
        wanted = 2 * k  # room for the pieces that fold into better hits
        if mode == "vector":
            ranked = self.vector_ranking(self.embed(query, vector), wanted, where)
        elif mode == "keyword":
            ranked = self.keyword_ranking(query, wanted, where, answer.warnings)
        else:  # the keyword side runs while the query is embedded and ranked by vector
            depth = max(self.depth, wanted)
            keyword_side = self.pool.submit(self.keyword_ranking, query, depth, where,
                                            answer.warnings)
            by_vector = self.vector_side(self.embed(query, vector), depth, where,
                                         answer.warnings)
            by_keyword = keyword_side.result()
            fused = blend(by_vector, by_keyword, self.vector_share)
            rows = self.rows([c for c, _ in fused])  # every candidate: name, kind and file count
            words = set(query_keywords(query).split())
            scored = sorted(((c, self.rank_score(score, row, words))
                             for c, score in fused if (row := rows.get(c)) is not None),
                            key=lambda pair: -pair[1])
            sides = {c: "vector" for c, _ in by_vector}
            for c, _ in by_keyword:
                sides[c] = "both" if c in sides else "keyword"
            hits = self.hits(scored[:wanted], sides, rows)
            answer.hits = merge_pieces(hits, self.spans, k)
            return answer
        hits = self.hits(ranked, {c: mode for c, _ in ranked})
        answer.hits = merge_pieces(hits, self.spans, k)
        return answer

    def embed(self, query: str, vector: np.ndarray | None = None) -> np.ndarray:
        return self.embedder.encode([query])[0] if vector is None else vector

    def warnings(self, mode: str) -> list[str]:
        """What is true of the index right now that makes answers partial."""
        if self.damage:
            return [f"{'; '.join(self.damage)} — run `semcode index` to repair it"]
        chunks, vectors = self.store.count("chunks"), self.store.count("vectors")
        if mode != "keyword" and vectors < chunks:
            return [f"the index is incomplete: {vectors} of {chunks} chunks have vectors (an "
                    "index run was interrupted, or is running), so some code is found by "
                    "keyword only — run `semcode index`"]
        return []

    def rank_score(self, fused: float, row: dict, query_words: set[str]) -> float:
        """A candidate's hybrid score: its fused score (``blend``) plus its name bonus, times
        its priors."""
        return (fused + NAME_BONUS * name_match(query_words, row["symbol"])) * self.prior(row)

    def prior(self, row: dict) -> float:
        """How much a chunk's fused score counts: less for code that is not a callable, less
        again for a declaration (a stub file's, an overload) and for a language's hook."""
        return (1.0 if row["kind"] in CALLABLE_KINDS else self.kind_prior) \
            * (self.stub_prior if is_declaration(row["path"], row["text"]) else 1.0) \
            * (self.hook_prior if is_hook(row["language"], row["symbol"] or "") else 1.0)

    def similar(self, path: str, line: int | None = None, *, k: int = DEFAULT_LIMIT,
                languages: Filters = (), paths: Filters = (), kinds: Filters = ()) -> list[Hit]:
        """Chunks like the one at ``path:line`` (or like the whole file), itself excluded."""
        vector, ids = self.place(path, line)
        return self.like(vector, k=k, languages=languages, paths=paths, kinds=kinds,
                         exclude=ids)

    def place(self, path: str, line: int | None = None) -> tuple[np.ndarray, list[str]]:
        """The vector of the chunk at ``path:line`` (the mean of the file's, without a line)
        and the ids it stands for."""
        if line is not None and not 1 <= line <= MAX_LINE:
            raise QueryError(f"line {line} is not a line of a file: give 1 to {MAX_LINE:,}")
        scope = f"path = {sql_str(path)}"
        if line is not None:
            scope += f" AND start_line <= {int(line)} AND end_line >= {int(line)}"
        rows = self.store.scan("chunks", ["chunk_id"], scope)
        ids = rows.column("chunk_id").to_pylist()
        if not ids:
            raise NotIndexed(f"no indexed chunk at {path}" +
                                    (f":{line}" if line is not None else "") +
                                    " — is the path relative to the repository and indexed?")
        own = self.store.scan("vectors", ["vector"], sql_in("chunk_id", ids))
        vector = np.mean(np.stack(own.column("vector").to_numpy(zero_copy_only=False)), 0)
        return vector / (np.linalg.norm(vector) or 1.0), ids

    def like(self, vector: np.ndarray, *, k: int = DEFAULT_LIMIT, languages: Filters = (),
             paths: Filters = (), kinds: Filters = (), exclude: Sequence[str] = ()) -> list[Hit]:
        """The chunks closest to ``vector``, but those of ``exclude``."""
        filters = [f for f in (self.where(languages, paths, kinds),
                               f"NOT {sql_in('chunk_id', exclude)}" if exclude else "") if f]
        return self.hits(self.vector_ranking(vector, k, " AND ".join(filters) or None))

    # -- the two sides -----------------------------------------------------------------------
    def vector_side(self, vector: np.ndarray, k: int, where: str | None,
                    warnings: list[str]) -> list[Ranked]:
        """The vector ranking of a hybrid search, or none (and a warning) when the vectors
        cannot be read: the keyword side still answers."""
        try:
            return self.vector_ranking(vector, k, where)
        except (RuntimeError, OSError, ValueError) as exc:
            if as_damage(exc) is None:
                raise
            warnings.append(f"search by meaning is unavailable (the vectors cannot be read: "
                            f"{first_line(exc)}), so results are by keyword only — run "
                            "`semcode index` to repair the store")
            return []

    def vector_ranking(self, vector: np.ndarray, k: int, where: str | None) -> list[Ranked]:
        query = self.vectors.search(np.asarray(vector, dtype=np.float32),
                                    vector_column_name="vector") \
            .distance_type("cosine")  # type: ignore[attr-defined]  # a vector query
        if where:
            query = query.where(where, prefilter=True)
        rows = query.select(["chunk_id", "_distance"]).limit(k).to_arrow()
        return [(cid, 1.0 - float(d)) for cid, d in zip(
            rows.column("chunk_id").to_pylist(), rows.column("_distance").to_pylist(),
            strict=True)]

    def keyword_ranking(self, query: str, k: int, where: str | None,
                        warnings: list[str] | None = None) -> list[Ranked]:
        words = " ".join(query_keywords(query).split()[:MAX_QUERY_WORDS])
        if not words:
            return []
        match = MatchQuery(words, "keywords")  # type: ignore[call-arg]  # the rest default
        search = self.chunks.search(match, query_type="fts")
        if where:
            search = search.where(where, prefilter=True)
        try:
            rows = search.select(["chunk_id", "_score"]).limit(k).to_arrow()
        except (RuntimeError, OSError, ValueError) as exc:  # the full-text index is damaged
            if warnings is None:
                raise StoreError(f"keyword search failed ({exc}) — run `semcode index` to "
                                 "rebuild the full-text index") from exc
            warnings.append("keyword search is unavailable (the full-text index is missing or "
                            "damaged), so results are by meaning only — run `semcode index`")
            return []
        return [(cid, float(score)) for cid, score in zip(
            rows.column("chunk_id").to_pylist(), rows.column("_score").to_pylist(),
            strict=True)]

    def spans(self, paths: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
        """The line spans of every chunk of these files."""
        rows = self.store.scan("chunks", ["path", "start_line", "end_line"], sql_in("path", paths))
        found: dict[str, list[tuple[int, int]]] = {}
        for path, start, end in zip(*(rows.column(c).to_pylist() for c in rows.column_names),
                                    strict=True):
            found.setdefault(path, []).append((start, end))
        return found

    def rows(self, ids: list[str]) -> dict[str, dict]:
        """The chunk rows of these ids (what a hit shows), by id."""
        if not ids:
            return {}
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
        return {r["chunk_id"]: r for r in rows.to_pylist()}

    def hits(self, ranked: list[tuple[str, float]], matched_by: dict[str, str] | None = None,
             rows: dict[str, dict] | None = None) -> list[Hit]:
        """The chunks of ``ranked``, in order, with their scores and which side found each
        (``rows``: already read)."""
        by_id = rows if rows is not None else self.rows([c for c, _ in ranked])
        sides = matched_by or {}
        return [Hit(score=round(score, 6), matched_by=sides.get(cid, "vector"),
                    part_of=(row.get("part_start", 0), row.get("part_end", 0)),
                    **{k: v for k, v in row.items() if k not in PART_COLUMNS})
                for cid, score in ranked if (row := by_id.get(cid)) is not None]
