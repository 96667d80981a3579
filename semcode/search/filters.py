"""What a search's filters mean: languages and kinds checked against what semcode knows, path
globs (gitignore-style) matched in Python against the files of the index and of the
checkout's overlay — never passed to SQL as patterns — and the prefilter both sides of a
search apply, built only from escaped literals."""

from collections.abc import Sequence

from semcode.errors import QueryError
from semcode.ingest.discovery import INDEXED
from semcode.ingest.globs import compile_path_globs
from semcode.ingest.languages import known_kinds, known_languages
from semcode.search.overlay_view import OverlayView, Scope
from semcode.store.tables import Store, sql_in, sql_str

Filters = Sequence[str]


def scope_of(store: Store, languages: Filters = (), paths: Filters = (), kinds: Filters = (),
             view: OverlayView | None = None) -> Scope:
    """The filters as values, checked: paths are the files (the index's and the overlay's)
    that the globs match."""
    if any("\0" in value for value in (*languages, *paths, *kinds)):
        raise QueryError("a filter value contains a NUL byte")
    unknown = sorted(set(languages) - set(known_languages()))
    if unknown:
        raise QueryError(f"unknown language {', '.join(unknown)} — choose from "
                         f"{', '.join(known_languages())}")
    unknown = sorted(set(kinds) - set(known_kinds()))
    if unknown:
        raise QueryError(f"unknown kind {', '.join(unknown)} — choose from "
                         f"{', '.join(known_kinds())}")
    return Scope(languages=frozenset(languages) or None, kinds=frozenset(kinds) or None,
                 paths=frozenset(matching_paths(store, paths, view)) if paths else None)


def prefilter(scope: Scope) -> str | None:
    """The SQL both sides of a search filter by before ranking (None: no filter)."""
    clauses = [sql_in(column, sorted(values)) for column, values in (
        ("language", scope.languages), ("kind", scope.kinds), ("path", scope.paths))
        if values is not None]
    return " AND ".join(clauses) or None


def matching_paths(store: Store, globs: Filters, view: OverlayView | None = None) -> list[str]:
    """The indexed files (the overlay's in place of those it replaces) that ``globs`` match."""
    spec = compile_path_globs(globs)
    rows = store.scan("files", ["path"], f"status = {sql_str(INDEXED)}")
    hidden = view.hidden if view is not None else frozenset()
    paths = [p for p in rows.column("path").to_pylist() if p not in hidden]
    paths += view.indexed_paths() if view is not None else []
    return [p for p in paths if spec.match_file(p)]
