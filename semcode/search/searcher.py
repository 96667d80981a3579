"""Answering queries over a built index: hybrid by default.

* vector: cosine similarity of the query's embedding to every chunk's vector;
* keyword: BM25 on LanceDB's native full-text index over the ``keywords`` column, where
  identifiers are split (``getUserName`` → getusername get user name) on both sides;
* hybrid: one score from both sides (``blend``): the cosine and the BM25 score scaled by the
  query's best, weighted; a bonus when the query holds the words of the chunk's own name;
  then priors by kind, file and name (a stub, a language's hooks).

Filters (language, path globs, kind) are applied before ranking — a prefilter on both
sides — and are built only from escaped literals (``semcode/search/filters.py``). Path globs are
matched against the manifest in Python (gitignore-style patterns), never passed to SQL as
patterns.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from semcode.config import (
    DEFAULT_BACKEND,
    DEFAULT_BATCH_SIZE,
    DEFAULT_DEVICE,
    DEFAULT_LIMIT,
    DEFAULT_MODE,
    DEFAULT_MODEL,
    DEFAULT_NPROBES,
    DEFAULT_PARSE_TIMEOUT,
    DEFAULT_REFINE,
    SEARCH_MODES,
    Settings,
)
from semcode.embed.embedding import Embedder, shared_embedder
from semcode.embed.model_files import model_id
from semcode.embed.static_model import is_static
from semcode.errors import (
    QueryError,
    StoreError,
    StoreNotFound,
    as_damage,
    first_line,
)
from semcode.identifiers import query_keywords
from semcode.ingest import worktree
from semcode.ingest.languages import is_hook
from semcode.search.filters import Filters, prefilter, scope_of
from semcode.search.hits import WORKTREE, Answer, Hit
from semcode.search.index_side import MAX_QUERY_WORDS, PART_COLUMNS, IndexSide
from semcode.search.merging import merge_pieces
from semcode.search.navigation import Navigator
from semcode.search.navigation_worktree import worktree_symbols
from semcode.search.overlay import Overlay
from semcode.search.overlay_view import OverlayView, Scope
from semcode.search.places import vector_at
from semcode.search.ranking import (
    CALLABLE_KINDS,
    HOOK_PRIOR,
    NAME_BONUS,
    OTHER_KINDS_PRIOR,
    STATIC_VECTOR_SHARE,
    STUB_PRIOR,
    TEST_PRIOR,
    VECTOR_SHARE,
    Ranked,
    asks_about_tests,
    blend,
    is_declaration,
    is_test,
    merged,
    name_match,
    on_scale_of,
)
from semcode.store.tables import Store, sql_in

__all__ = ["Answer", "Hit", "Searcher", "blend", "name_match"]

DEPTH = 50  # candidates per side before fusion

MAX_K = 1_000
MAX_QUERY_CHARS = 20_000


class Searcher:
    """Opens the store once and loads the model on the first query; safe to share between
    threads for reading. With ``checkout`` (a git working tree of the indexed repository),
    every query also answers from that checkout's overlay (``semcode/search/overlay.py``): the
    index's chunks of each path the checkout changed are replaced by the checkout's."""

    def __init__(self, store_uri: str, *, model: str = DEFAULT_MODEL,
                 device: str = DEFAULT_DEVICE, backend: str = DEFAULT_BACKEND,
                 vector_share: float | None = None,
                 depth: int = DEPTH, kind_prior: float = OTHER_KINDS_PRIOR,
                 stub_prior: float = STUB_PRIOR, hook_prior: float = HOOK_PRIOR,
                 test_prior: float = TEST_PRIOR,
                 checkout: str | Path | None = None,
                 parse_timeout: float = DEFAULT_PARSE_TIMEOUT, nprobes: int = DEFAULT_NPROBES,
                 refine: int = DEFAULT_REFINE):
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
        self.index = IndexSide(self.store, nprobes, refine)
        self.vector_share = vector_share if vector_share is not None else \
            STATIC_VECTOR_SHARE if is_static(model) else VECTOR_SHARE
        self.depth = depth
        self.kind_prior = kind_prior
        self.stub_prior = stub_prior
        self.hook_prior = hook_prior
        self.test_prior = test_prior
        found = worktree.checkout_of(checkout) if checkout is not None else None
        self.overlay = None if found is None else Overlay(
            found, self.store, model=model, parse_timeout=parse_timeout,
            encoder=partial(self.document_encoder, model, device, backend))

    @classmethod
    def of(cls, settings: Settings) -> "Searcher":
        """The searcher of a repository's index as its settings say, over its checkout."""
        return cls(settings.store_uri, model=settings.model, device=settings.device,
                   backend=settings.backend, checkout=settings.repo,
                   parse_timeout=settings.parse_timeout, nprobes=settings.nprobes,
                   refine=settings.refine)

    def document_encoder(self, model: str, device: str, backend: str) -> Embedder:
        """What embeds the overlay's chunks: the index's way of embedding code (the query
        embedder itself when the model puts no prompt before queries)."""
        if not self.embedder.query_prompt:
            return self.embedder
        return shared_embedder(model, device, DEFAULT_BATCH_SIZE, backend)

    def navigator(self) -> Navigator:
        """Definitions, references, callers and callees from this index's symbols, the
        checkout's changed files read from the working tree (``semcode/search/navigation.py``)."""
        return Navigator(self.store, None if self.overlay is None else
                         worktree_symbols(self.overlay, self.worktree))

    def watch_worktree(self) -> None:
        """For a long-lived server: learn of the checkout's changes by watching it, so that
        a search asks git only when something changed (``semcode/ingest/watch.py``)."""
        if self.overlay is not None:
            self.overlay.watch_checkout()

    def finish_worktree(self) -> None:
        """For a long-lived server: finish the overlay's pending files in a thread."""
        if self.overlay is not None:
            self.overlay.finish_pending()

    def worktree(self, warnings: list[str]) -> OverlayView:
        """The checkout's overlay, brought up to date now (empty without a checkout). A
        refresh that fails leaves the index answering alone, with a warning: this is an
        edge, so any error of the overlay's is caught here and said."""
        if self.overlay is None:
            return OverlayView()
        try:
            view = self.overlay.view()
        except Exception as exc:  # noqa: BLE001 — the overlay is never worth a failed search
            warnings.append(f"the working tree is not searched (its overlay could not be "
                            f"brought up to date: {type(exc).__name__}: {first_line(exc)}), "
                            "so results are the index's alone")
            return OverlayView()
        warnings.extend(view.warnings)
        return view

    # -- filters -----------------------------------------------------------------------------
    def scope(self, languages: Filters = (), paths: Filters = (), kinds: Filters = (),
              view: OverlayView | None = None) -> Scope:
        """The filters as values, checked (``semcode/search/filters.py``)."""
        return scope_of(self.store, languages, paths, kinds, view)

    def where(self, languages: Filters = (), paths: Filters = (),
              kinds: Filters = ()) -> str | None:
        """The prefilter for these filters; ``"false"`` when a glob matches no file."""
        return prefilter(self.scope(languages, paths, kinds))

    # -- queries -----------------------------------------------------------------------------
    def search(self, query: str, *, k: int = DEFAULT_LIMIT, languages: Filters = (),
               paths: Filters = (), kinds: Filters = (), mode: str = DEFAULT_MODE) -> list[Hit]:
        return self.answer(query, k=k, languages=languages, paths=paths, kinds=kinds,
                           mode=mode).hits

    def answer(self, query: str, *, k: int = DEFAULT_LIMIT, languages: Filters = (),
               paths: Filters = (), kinds: Filters = (), mode: str = DEFAULT_MODE,
               vector: np.ndarray | None = None) -> Answer:
        """The hits, and what a reader must know about them (an incomplete index, a working
        tree not searched). ``vector``: the query already embedded by this model (a search
        over several stores embeds it once)."""
        if mode not in SEARCH_MODES:
            raise QueryError(f"unknown mode {mode!r}: choose one of {', '.join(SEARCH_MODES)}")
        if not 1 <= k <= MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}, got {k}")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query has {len(query)} characters; at most "
                             f"{MAX_QUERY_CHARS} are searched — shorten it")
        with self.index.one_reading():
            return self._answer(query, k, languages, paths, kinds, mode, vector)

    def _answer(self, query: str, k: int, languages: Filters, paths: Filters, kinds: Filters,
                mode: str, vector: np.ndarray | None) -> Answer:
        answer = Answer(hits=[], warnings=self.warnings(mode))
        view = self.worktree(answer.warnings)
        scope = self.scope(languages, paths, kinds, view)
        where = prefilter(scope)
        if scope.paths == frozenset():
            answer.warnings.append(
                f"no file of the index or the working tree matches the path filter "
                f"{', '.join(map(repr, paths))} — globs are gitignore-style and relative to the "
                "repository, e.g. 'src/**/*.py'")
        if not query.strip() or scope.paths == frozenset():
            return answer
        wanted = 2 * k  # room for the pieces that fold into better hits
        spans = partial(self.spans, view=view)
        if mode == "vector":
            ranked = self.vector_side(self.embed(query, vector), wanted, where, scope, view,
                                      answer.warnings)
        elif mode == "keyword":
            ranked = self.keyword_side(query, wanted, where, scope, view, answer.warnings)
        else:  # the keyword side runs while the query is embedded and ranked by vector
            depth = max(self.depth, wanted)
            # the keyword side's candidates' rows, as it read them (in memory: not needed)
            read: dict[str, dict] | None = {} if self.index.resident() is None else None
            keyword_side = self.pool.submit(self.keyword_side, query, depth, where, scope,
                                            view, answer.warnings, read)
            by_vector = self.vector_side(self.embed(query, vector), depth, where, scope, view,
                                         answer.warnings)
            by_keyword = keyword_side.result()
            fused = blend(by_vector, by_keyword, self.vector_share)
            scored, rows = self.ranked(fused, wanted, set(query_keywords(query).split()),
                                       view, read)
            sides = {c: "vector" for c, _ in by_vector}
            for c, _ in by_keyword:
                sides[c] = "both" if c in sides else "keyword"
            answer.hits = merge_pieces(self.hits(scored[:wanted], sides, rows), spans, k)
            return answer
        hits = self.hits(ranked, {c: mode for c, _ in ranked}, self.rows([c for c, _ in ranked],
                                                                         view))
        answer.hits = merge_pieces(hits, spans, k)
        return answer

    def embed(self, query: str, vector: np.ndarray | None = None) -> np.ndarray:
        return self.embedder.encode([query])[0] if vector is None else vector

    def warnings(self, mode: str) -> list[str]:
        """What is true of the index right now that makes answers partial."""
        if self.damage:
            return [f"{'; '.join(self.damage)} — run `semcode index` to repair it"]
        # the tables this searcher holds open: the store's own count lists its tables first
        held = self.index.resident()
        chunks, vectors = (len(held.by_id), len(held.ids)) if held is not None else \
            (self.index.chunks.count_rows(), self.index.vectors.count_rows())
        if mode != "keyword" and vectors < chunks:
            return [f"the index is incomplete: {vectors} of {chunks} chunks have vectors (an "
                    "index run was interrupted, or is running), so some code is found by "
                    "keyword only — run `semcode index`"]
        return []

    def ranked(self, fused: list[Ranked], wanted: int, words: set[str], view: OverlayView,
               read: dict[str, dict] | None) -> tuple[list[Ranked], dict[str, dict]]:
        """The candidates by hybrid score, best first, and their rows (a hit shows its row;
        its name, kind and file weigh its score) — of those that can reach the best
        ``wanted``. The rows the keyword side already read are scored first; a candidate
        whose fused score plus the largest name bonus is below the ``wanted``-th best of those
        cannot reach them (priors only lower a score), so its row is not read — at the Linux
        ``drivers/`` size most of the vector side's."""
        rows = self.rows([c for c, _ in fused if c in read], view, read) if read else {}
        scores = {c: self.rank_score(score, rows[c], words) for c, score in fused if c in rows}
        known = sorted(scores.values(), reverse=True)
        floor = known[wanted - 1] if len(known) >= wanted else -np.inf
        rest = self.rows([c for c, score in fused if c not in rows
                          and max(score + NAME_BONUS, 0.0) >= floor], view, read)
        scores |= {c: self.rank_score(score, rest[c], words) for c, score in fused if c in rest}
        return sorted(((c, scores[c]) for c, _ in fused if c in scores),
                      key=lambda pair: -pair[1]), {**rows, **rest}

    def rank_score(self, fused: float, row: dict, query_words: set[str]) -> float:
        """A candidate's hybrid score: its fused score (``blend``) plus its name bonus, times
        its priors — a test's too, unless the query asks about tests."""
        tests = self.test_prior if is_test(row["path"]) and \
            not asks_about_tests(query_words) else 1.0
        return (fused + NAME_BONUS * name_match(query_words, row["symbol"])) * \
            self.prior(row) * tests

    def prior(self, row: dict) -> float:
        """How much a chunk's fused score counts: less for code that is not a callable, less
        again for a declaration (a stub file's, an overload) and for a language's hook."""
        return (1.0 if row["kind"] in CALLABLE_KINDS else self.kind_prior) \
            * (self.stub_prior if is_declaration(row["path"], row["text"]) else 1.0) \
            * (self.hook_prior if is_hook(row["language"], row["symbol"] or "") else 1.0)

    def similar(self, path: str, line: int | None = None, *, k: int = DEFAULT_LIMIT,
                languages: Filters = (), paths: Filters = (), kinds: Filters = ()) -> list[Hit]:
        """Chunks like the one at ``path:line`` (or like the whole file), itself excluded;
        a path the checkout changed is read from its overlay, at its current lines."""
        view = self.worktree([])
        vector, ids = self.place(path, line, view)
        return self.like(vector, k=k, languages=languages, paths=paths, kinds=kinds,
                         exclude=ids, view=view)

    def place(self, path: str, line: int | None = None,
              view: OverlayView | None = None) -> tuple[np.ndarray, list[str]]:
        """The vector of the chunk at ``path:line`` (the mean of the file's, without a line)
        and the ids it stands for (``semcode/search/places.py``)."""
        return vector_at(self.store, self.worktree([]) if view is None else view, path, line)

    def like(self, vector: np.ndarray, *, k: int = DEFAULT_LIMIT, languages: Filters = (),
             paths: Filters = (), kinds: Filters = (), exclude: Sequence[str] = (),
             view: OverlayView | None = None) -> list[Hit]:
        """The chunks closest to ``vector``, but those of ``exclude``."""
        view = self.worktree([]) if view is None else view
        scope = self.scope(languages, paths, kinds, view)
        if scope.paths == frozenset():
            return []
        filters = [f for f in (prefilter(scope),
                               f"NOT {sql_in('chunk_id', exclude)}" if exclude else "") if f]
        indexed = self.index.vector_ranking(vector, k, " AND ".join(filters) or None,
                                            view.hidden, self.index.hidden_count(view))
        ranked = merged(indexed, view.vector_ranking(vector, k, scope, exclude), k)
        return self.hits(ranked, rows=self.rows([c for c, _ in ranked], view))

    # -- the two sides -----------------------------------------------------------------------
    def vector_side(self, vector: np.ndarray, k: int, where: str | None, scope: Scope,
                    view: OverlayView, warnings: list[str]) -> list[Ranked]:
        """The vector ranking of the index and the overlay, or the overlay's alone (and a
        warning) when the index's vectors cannot be read: the keyword side still answers."""
        try:
            indexed = self.index.vector_ranking(vector, k, where, view.hidden,
                                                self.index.hidden_count(view))
        except (RuntimeError, OSError, ValueError) as exc:
            if as_damage(exc) is None:
                raise
            warnings.append(f"search by meaning is unavailable (the vectors cannot be read: "
                            f"{first_line(exc)}), so results are by keyword only — run "
                            "`semcode index` to repair the store")
            indexed = []
        return merged(indexed, view.vector_ranking(vector, k, scope), k)

    def keyword_side(self, query: str, k: int, where: str | None, scope: Scope,
                     view: OverlayView, warnings: list[str],
                     read: dict[str, dict] | None = None) -> list[Ranked]:
        """The keyword ranking of the index and the overlay, each side's BM25 on the index's
        scale (``on_scale_of``); the index's ranked rows go into ``read`` when given."""
        indexed = self.index.keyword_ranking(query, k, where, warnings, view.hidden,
                                             self.index.hidden_count(view), read)
        words = query_keywords(query).split()[:MAX_QUERY_WORDS]
        return merged(indexed, on_scale_of(view.keyword_ranking(words, k, scope), indexed), k)

    def spans(self, paths: Sequence[str],
              view: OverlayView | None = None) -> dict[str, list[tuple[int, int]]]:
        """The line spans of every chunk of these files (the overlay's, for its paths)."""
        hidden = view.hidden if view is not None else frozenset()
        found = view.spans([p for p in paths if p in hidden]) if view is not None else {}
        return {**self.index.spans([p for p in paths if p not in hidden]), **found}

    def rows(self, ids: list[str], view: OverlayView | None = None,
             read: dict[str, dict] | None = None) -> dict[str, dict]:
        """The chunk rows of these ids (what a hit shows), by id, each saying its source;
        the index's rows in ``read`` are not read again."""
        own = {cid: {**row, "source": WORKTREE} for cid, row in
               view.rows_of(ids, self.index.columns).items()} if view is not None else {}
        known = {cid: read[cid] for cid in ids if read and cid in read and cid not in own}
        rest = [cid for cid in ids if cid not in own and cid not in known]
        return {**self.index.rows(rest), **known, **own}

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
