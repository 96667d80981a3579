"""A file's symbols, from the same parse as its chunks: every definition the chunker laid out,
and every reference the language's tag query finds — calls, imports, type uses, and names
passed as values.

The tag queries are data, one file per language in ``tags/`` (``tags/python.scm`` says what
each capture means); a language without one has definitions and no references. Like GitHub's
search-based navigation, a reference is a *name* at a place: nothing here resolves it.
"""

import hashlib
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tree_sitter import Node, Query, QueryCursor
from tree_sitter_language_pack import get_language

from semcode.ingest.chunking import Chunk, Definition, Parsed
from semcode.ingest.languages import spec_for
from semcode.reports import DEFINITION, FILE_ROW, REFERENCE

TAGS = Path(__file__).with_name("tags")
# What a reference is, in the order one node caught by two patterns keeps: a superclass
# passed in parentheses is a type use, not a name passed as a value.
REFERENCE_KINDS = ("call", "import", "type", "other")
# Kinds of layout that are not code definitions: a config file's keys, a Markdown section.
NOT_CODE = frozenset({"key", "table", "section", "target", "stage", "rule", "block"})
MAX_DETAIL = 200

# The columns of a symbols row that differ within one file; the rest (path, shard, language,
# content_hash, commit) are the file's, as for chunk rows.
VARYING = ("symbol_id", "role", "name", "qualified", "enclosing", "kind", "line", "end_line",
           "chunk_id", "detail")


# Raised when what a file's symbols are changes beyond the tag queries (the extractor):
# 2, a line after a long line's pieces pointed at no chunk.
EXTRACTOR = 2


@lru_cache(maxsize=1)
def symbols_version() -> str:
    """What made a file's symbols: the extractor and every tag query. Kept in each file's
    ``file`` row, so that a file read by other queries is read again, not trusted."""
    digest = hashlib.blake2b(str(EXTRACTOR).encode(), digest_size=8)
    for query in sorted(TAGS.glob("*.scm")):
        digest.update(query.name.encode() + b"\0" + query.read_bytes())
    return digest.hexdigest()


def reference_languages() -> list[str]:
    """The languages with a tag query, so with references as well as definitions (a name
    beginning with ``_`` is shared patterns, not a language)."""
    return sorted(p.stem for p in TAGS.glob("*.scm") if not p.stem.startswith("_"))


@lru_cache(maxsize=32)
def _tag_query(language: str) -> Query | None:
    spec = spec_for(language)
    if spec is None or spec.grammar is None or not (TAGS / f"{language}.scm").is_file():
        return None
    return Query(get_language(spec.grammar), query_source(language))  # type: ignore[arg-type]


def query_source(name: str) -> str:
    """A tag query's text, with the queries it names on a ``; inherits: a, b`` line (as
    nvim-treesitter's queries do) before its own patterns."""
    text = (TAGS / f"{name}.scm").read_text()
    parents = [p.strip() for line in text.splitlines() if line.startswith("; inherits:")
               for p in line.removeprefix("; inherits:").split(",")]
    return "\n".join([*(query_source(p) for p in parents if p), text])


@dataclass(frozen=True)
class Reference:
    name: str
    kind: str  # call, import, type or other
    line: int
    column: int
    detail: str  # a call's receiver (``app`` of ``app.route()``), an import's module


def bare_name(qualified: str) -> str:
    """The name a definition is called by: ``route`` of ``Flask.route``, ``f`` of ``ns::f``."""
    return qualified.replace("::", ".").rsplit(".", 1)[-1].strip()


def references(root: Node, language: str) -> list[Reference]:
    """Every reference the language's tag query marks in the tree, one per name node."""
    query = _tag_query(language)
    if query is None:
        return []
    found: dict[tuple[int, int], tuple[int, Reference]] = {}
    for _, captures in QueryCursor(query).matches(root):
        receiver = _text(captures["receiver"][0]) if "receiver" in captures else ""
        module = _text(captures["module"][0]).strip("\"'<>") if "module" in captures else ""
        for rank, kind in enumerate(REFERENCE_KINDS):
            nodes = captures.get(kind, [])
            if kind == "import" and not nodes and module:  # Go, C: the path binds its name
                found.setdefault((captures["module"][0].start_byte, -1), (rank, Reference(
                    _module_name(module), kind, _line(captures["module"][0]),
                    captures["module"][0].start_point[1], module[:MAX_DETAIL])))
            for node in nodes:
                if kind == "type" and _names_its_definition(node):
                    continue
                key = (node.start_byte, node.end_byte)
                ref = Reference(_text(node), kind, _line(node), node.start_point[1],
                                (module if kind == "import" else receiver)[:MAX_DETAIL])
                held = found.get(key)
                # the more specific kind wins; of two calls, the one that knows its receiver
                if held is None or rank < held[0] or (rank == held[0] and ref.detail
                                                      and not held[1].detail):
                    found[key] = (rank, ref)
    return [ref for _, ref in sorted(found.values(), key=lambda r: (r[1].line, r[1].column))]


def _names_its_definition(node: Node) -> bool:
    """A type identifier that is the name of the declaration it sits in (``type T struct``,
    ``interface I``): a definition, not a use."""
    parent = node.parent
    if parent is None or parent.child_by_field_name("name") != node:
        return False
    # C's `struct node *n` names a type it uses; `struct node {…}` defines it
    return not parent.type.endswith("_specifier") or parent.child_by_field_name("body") is not None


def _module_name(module: str) -> str:
    """What an import of a path binds: its last element without an extension."""
    last = module.replace("::", "/").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return last.split(".", 1)[0] or last


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")[:MAX_DETAIL]


def _line(node: Node) -> int:
    return node.start_point[0] + 1


def file_key(path: str, content_hash: str) -> str:
    """The part of a symbol's id that names its file's version."""
    key = f"{path}\0{content_hash}".encode("utf-8", "surrogateescape")
    return hashlib.blake2b(key, digest_size=12).hexdigest()


def symbol_columns(file: dict, parsed: Parsed, chunk_ids: list[str], language: str) -> dict:
    """The varying columns of one file's symbols rows: a ``file`` row (so that a file with
    no symbols is known to have been read; its ``detail``: the ``symbols_version``), a row
    per definition and per reference, each pointing at the chunk that holds its line and at
    the definition around it. A row's id is its file's version, role, line and column:
    unique in the store, made without hashing."""
    key = file_key(file["path"], file["content_hash"])
    definitions = [d for d in parsed.definitions if d.kind not in NOT_CODE]
    refs = references(parsed.root, language) if parsed.root is not None else []
    chunk_at = _ChunkAt(parsed.chunks, chunk_ids)
    owner = _owners(definitions, max([0, *(r.line for r in refs)]))
    enclosing = [definitions[i].symbol if i >= 0 else "" for i in (owner[r.line] for r in refs)]
    return {
        "symbol_id": [f"{key}:f", *(f"{key}:d{d.line}:{i}" for i, d in enumerate(definitions)),
                      *(f"{key}:r{r.line}:{r.column}" for r in refs)],
        "role": [FILE_ROW, *[DEFINITION] * len(definitions), *[REFERENCE] * len(refs)],
        "name": ["", *(bare_name(d.symbol) for d in definitions), *(r.name for r in refs)],
        "qualified": ["", *(d.symbol for d in definitions), *[""] * len(refs)],
        "enclosing": ["", *(d.symbol.rsplit(".", 1)[0] if "." in d.symbol else ""
                            for d in definitions), *enclosing],
        "kind": ["", *(d.kind for d in definitions), *(r.kind for r in refs)],
        "line": [0, *(d.line for d in definitions), *(r.line for r in refs)],
        "end_line": [0, *(d.end_line for d in definitions), *(r.line for r in refs)],
        "chunk_id": ["", *(chunk_at(d.line) for d in definitions),
                     *(chunk_at(r.line) for r in refs)],
        "detail": [symbols_version(), *[""] * len(definitions), *(r.detail for r in refs)],
    }


class _ChunkAt:
    """Line → the id of the chunk holding it (the first piece, for a line cut in pieces)."""

    def __init__(self, chunks: list[Chunk], ids: list[str]):
        self.starts = [c.start_line for c in chunks]
        self.ends = [c.end_line for c in chunks]
        self.ids = ids

    def __call__(self, line: int) -> str:
        i = bisect_right(self.starts, line) - 1  # the last chunk starting at or before
        # back past pieces of a long line that end before it: a long line's last piece may
        # be joined to the lines after it, so a chunk of that start reaches further
        while i >= 0 and self.ends[i] < line:
            i -= 1
        while i > 0 and self.starts[i - 1] == self.starts[i] and self.ends[i - 1] >= line:
            i -= 1  # pieces of one long line: the first
        return self.ids[i] if i >= 0 else ""


def _owners(definitions: list[Definition], last_line: int) -> list[int]:
    """Line → the index of the innermost definition around it (-1: none), painted outer
    first, so that an inner definition's lines end up its own. A definition's lines start
    at its own (``def``, ``func``…): a decorator above it is called where it is defined."""
    owner = [-1] * (last_line + 1)
    for i, d in sorted(enumerate(definitions), key=lambda e: (e[1].line, -e[1].end_line)):
        if d.line <= last_line:  # from its own line: a decorator above is its parent's call
            end = min(d.end_line, last_line)
            owner[d.line : end + 1] = [i] * (end - d.line + 1)
    return owner
