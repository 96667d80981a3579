"""Syntax-aware chunking with tree-sitter, budgeted in the embedding model's tokens.

Every non-blank line of a file belongs to exactly one chunk, and no chunk begins or ends
with a blank line. Definitions (functions, methods, classes,
impls, sections…) become chunks of their own, at any depth: a class becomes its members plus
a header chunk, a function with a closure inside becomes the closure plus its own lines
around it; the code between definitions becomes ``module`` (or the enclosing definition's)
chunks. A node over the token budget is split at child boundaries into line
windows that are packed greedily back up to the budget (split, then merge, as in cAST).
Languages without a grammar are packed the same way with no boundaries to prefer.
"""

from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from tree_sitter import Node

from semcode.embed.embedding import embedding_text
from semcode.embed.tokens import TokenCounter
from semcode.ingest.languages import (
    CONTAINER_KINDS,
    METHOD_PARENTS,
    WHOLE_KINDS,
    LanguageSpec,
    spec_for,
)
from semcode.ingest.syntax import Candidates, first_line, last_line, parser

MIN_TOKENS = 6  # a chunk smaller than this joins a neighbour


Span = tuple[int, int]


@dataclass
class Chunk:
    kind: str
    symbol: str
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    text: str
    # The lines of the whole definition (or run of glue code) this chunk was cut from: the
    # pieces of one long function share it; a getter and its setter, same name, do not.
    part_of: Span = (0, 0)


@dataclass(frozen=True)
class Definition:
    """A definition the chunker laid out: its kind and qualified name, the line its node
    begins on, and its span (the comments above it included)."""
    kind: str
    symbol: str
    line: int
    start_line: int
    end_line: int


@dataclass
class Parsed:
    """One file as the chunker saw it: its chunks, the definitions it found (outer before
    inner) and the syntax tree (None for line windows), for the symbols pass to read;
    with a chunker that keeps token ids, ``token_ids`` gives what the model reads of a chunk
    (``embedding_text``) as ids, from its lines' (no second tokenization)."""
    chunks: list[Chunk]
    definitions: list[Definition]
    root: Node | None = None
    token_ids: Callable[[Chunk], np.ndarray] | None = None


class Chunker:
    """Splits one file's text into chunks that fit the model's window."""

    def __init__(self, counter: TokenCounter, reserve_tokens: int = 0, keep_ids: bool = False):
        self.counter = counter
        self.budget = counter.budget - reserve_tokens
        # a chunk's ids are its header's plus its lines' only where counts add up that way
        self.keep_ids = keep_ids and counter.additive

    def chunk(self, text: str, language: str) -> list[Chunk]:
        return self.parse(text, language).chunks

    def parse(self, text: str, language: str) -> Parsed:
        """The file's chunks, with the definitions and the tree they came from (one parse)."""
        if not text:
            return Parsed([], [])
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        spec = spec_for(language)
        if spec is None or spec.grammar is None:
            file = _File(self, lines, None)
            units = file.windows(1, len(lines), "block", "", (), (1, len(lines)))
            return Parsed(file.finish(units), [], token_ids=file.ids_reader())
        root = parser(spec.grammar).parse(text.encode("utf-8")).root_node
        file = _File(self, lines, Candidates(root, spec))
        units = file.layout(root, 1, len(lines), "module", "", spec)
        return Parsed(file.finish(units), file.definitions, root, file.ids_reader())


class _File:
    """The state of chunking one file: its lines and their token counts."""

    def __init__(self, chunker: Chunker, lines: list[str], candidates: "Candidates | None"):
        self.chunker = chunker
        self.budget = chunker.budget
        self.lines = lines
        self.candidates = candidates
        self.headers: dict[str, int] = {}
        self.definitions: list[Definition] = []
        # every line's ids one after another, kept where the static tier's vectors are made
        ids, counts = chunker.counter.lines(lines) if lines else \
            (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.line_ids = ids if chunker.keep_ids else None
        self.header_ids: dict[str, np.ndarray] = {}
        self.line_tokens: list[int] = counts.tolist()
        self.prefix = [0, *accumulate(self.line_tokens)]

    def ids_reader(self) -> Callable[[Chunk], np.ndarray] | None:
        return None if self.line_ids is None else self.token_ids

    def token_ids(self, unit: Chunk) -> np.ndarray:
        """The ids of ``embedding_text(unit)``: its header's, then its lines' as tokenized
        for counting (a piece of a long line is tokenized on its own)."""
        counter = self.chunker.counter
        if unit.symbol not in self.header_ids:
            self.header_ids[unit.symbol] = np.asarray(
                counter.ids(embedding_text(unit.symbol, "")), np.int64)
        header = self.header_ids[unit.symbol]
        if self.line_ids is not None and self.whole(unit):
            body = self.line_ids[self.prefix[unit.start_line - 1]:self.prefix[unit.end_line]]
        else:
            body = np.asarray(counter.ids(unit.text), np.int64)
        return np.concatenate([header, body])

    def tokens(self, start: int, end: int) -> int:
        return self.prefix[end] - self.prefix[start - 1]

    def unit(self, start: int, end: int, kind: str, symbol: str, part_of: Span) -> Chunk:
        return Chunk(kind, symbol, start, end, "\n".join(self.lines[start - 1 : end]), part_of)

    # -- structure ---------------------------------------------------------------------------
    def layout(self, node: Node, start: int, end: int, kind: str, symbol: str,
               spec: LanguageSpec) -> list[Chunk]:
        members = self.candidates.members(node, spec) if self.candidates else []
        # A definition inside a function (a closure, a nested walker) is a chunk of its own,
        # as a method is in a class; the function keeps its own lines around it.
        if self.tokens(start, end) <= self.budget and (not members or kind in WHOLE_KINDS):
            return [self.unit(start, end, kind, symbol, (start, end))]
        if not members:
            # A function over budget is packed into windows as large as fit, cut where a
            # statement begins: its header stays with its code.
            return self.windows(start, end, kind, symbol, _boundaries(node), (start, end))
        units: list[Chunk] = []
        cursor = start
        for m in members:
            if m.end < cursor:
                continue
            m_start = max(m.start, cursor)
            if m_start > cursor:
                units += self.gap(cursor, m_start - 1, kind, symbol, node, (start, end))
            m_kind = "method" if m.kind == "function" and kind in METHOD_PARENTS else m.kind
            m_symbol = f"{symbol}.{m.name}" if symbol and m.name else (m.name or symbol)
            if m.name:
                self.definitions.append(Definition(m_kind, m_symbol, first_line(m.node),
                                                   m.start, m.end))
            units += self.layout(m.node, m_start, min(m.end, end), m_kind, m_symbol, spec)
            cursor = m.end + 1
        if cursor <= end:
            units += self.gap(cursor, end, kind, symbol, node, (start, end))
        return units

    def gap(self, start: int, end: int, kind: str, symbol: str, node: Node,
            part_of: Span) -> list[Chunk]:
        """Glue code between definitions: part of the container (or file) around it."""
        if self.tokens(start, end) <= self.budget:
            return [self.unit(start, end, kind, symbol, part_of)]
        return self.windows(start, end, kind, symbol, _boundaries(node), part_of)

    # -- packing -----------------------------------------------------------------------------
    def windows(self, start: int, end: int, kind: str, symbol: str,
                boundaries: tuple[int, ...] | set[int], part_of: Span,
                budget: int | None = None) -> list[Chunk]:
        """Pack lines ``start..end`` greedily into windows within budget, preferring to cut
        where a syntax node begins; a single line over budget is cut at token edges."""
        budget = budget or self.budget
        units: list[Chunk] = []
        first, line = start, start
        while line <= end:
            if self.line_tokens[line - 1] > budget:
                if first < line:
                    units.append(self.unit(first, line - 1, kind, symbol, part_of))
                for piece in self.chunker.counter.split_text(self.lines[line - 1], budget):
                    units.append(Chunk(kind, symbol, line, line, piece, part_of))
                first = line = line + 1
                continue
            if self.tokens(first, line) > budget:
                cut = max((b for b in boundaries if first + (line - first) // 2 < b <= line),
                          default=line)
                units.append(self.unit(first, cut - 1, kind, symbol, part_of))
                first = cut
                continue
            line += 1
        if first <= end:
            units.append(self.unit(first, end, kind, symbol, part_of))
        return units

    def finish(self, units: list[Chunk]) -> list[Chunk]:
        """Fold chunks too small to search on their own into a neighbour (blank lines, a lone
        brace or ``end`` go to the chunk before; a one-line ``class X {`` header goes to its
        first member), then prove the budget with the real tokenizer and re-split anything
        over it."""
        merged: list[Chunk] = []
        carry: Chunk | None = None
        for unit in units:
            if carry is not None:
                joined = self.join(carry, unit, keep=unit)
                if joined is None:  # fits with neither neighbour: a chunk of its own
                    merged.append(carry)
                unit = joined or unit
                carry = None
            small = _trivial(unit.text) or self.size(unit) < MIN_TOKENS
            if not small:
                merged.append(unit)
            elif unit.kind in CONTAINER_KINDS and not _trivial(unit.text):
                carry = unit  # a header: glue it to what follows
            elif merged and (joined := self.join(merged[-1], unit, keep=merged[-1])):
                merged[-1] = joined
            else:
                carry = unit
        if carry is not None:
            joined = self.join(merged[-1], carry, keep=merged[-1]) if merged else None
            if joined:
                merged[-1] = joined
            else:
                merged.append(carry)
        merged = [t for u in merged if (t := _trim_blank_lines(u)) is not None]
        return self.prove_budget(merged)

    def prove_budget(self, units: list[Chunk]) -> list[Chunk]:
        """Count what the model will read (header included) and re-split any chunk over the
        window, leaving room for its header. With an additive tokenizer a whole-line chunk's
        count is its header's plus its lines'; anything else is tokenized again."""
        counter, budget = self.chunker.counter, self.chunker.budget
        symbols = sorted({u.symbol for u in units} - self.headers.keys())
        headers = counter.count_many([embedding_text(s, "") for s in symbols])
        self.headers.update(zip(symbols, headers, strict=True))
        counts = [self.read_size(u) for u in units]
        final: list[Chunk] = []
        for unit, count in zip(units, counts, strict=True):
            if count <= budget:
                final.append(unit)
                continue
            room = budget - self.header_size(unit.symbol)
            for piece in self.windows(unit.start_line, unit.end_line, unit.kind, unit.symbol,
                                      (), unit.part_of, room - 2):
                if self.read_size(piece) <= budget:
                    final.append(piece)
                    continue  # else: a tokenizer that counts newlines; cut by tokens
                final += [Chunk(piece.kind, piece.symbol, piece.start_line, piece.end_line, t,
                                unit.part_of) for t in counter.split_text(piece.text, room // 2)]
        return final

    def read_size(self, unit: Chunk) -> int:
        """Tokens of ``embedding_text(unit)``: what the model reads."""
        if self.chunker.counter.additive and self.whole(unit):
            return self.header_size(unit.symbol) + self.tokens(unit.start_line, unit.end_line)
        return self.chunker.counter.count(embedding_text(unit.symbol, unit.text))

    def header_size(self, symbol: str) -> int:
        if symbol not in self.headers:
            self.headers[symbol] = self.chunker.counter.count(embedding_text(symbol, ""))
        return self.headers[symbol]

    def whole(self, unit: Chunk) -> bool:
        """The chunk is its lines, not a piece of one long line."""
        return unit.text == "\n".join(self.lines[unit.start_line - 1 : unit.end_line])

    def size(self, unit: Chunk) -> int:
        return self.tokens(unit.start_line, unit.end_line) if self.whole(unit) \
            else self.chunker.counter.count(unit.text)

    def join(self, first: Chunk, second: Chunk, keep: Chunk) -> Chunk | None:
        """``first`` and ``second`` as one chunk named after ``keep``, if that fits."""
        if second.start_line != first.end_line + 1:
            return None
        if self.size(first) + self.size(second) > self.budget:
            return None
        return Chunk(keep.kind, keep.symbol, first.start_line, second.end_line,
                     first.text + "\n" + second.text, keep.part_of)


def _trim_blank_lines(unit: Chunk) -> Chunk | None:
    """The chunk without blank lines at either end (None if nothing else is left): a span
    names the code, not the spacing around it."""
    lines = unit.text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    last = max(i for i, line in enumerate(lines) if line.strip())
    if unit.start_line == unit.end_line:
        return unit  # a piece of one long line
    return Chunk(unit.kind, unit.symbol, unit.start_line + first, unit.start_line + last,
                 "\n".join(lines[first : last + 1]), unit.part_of)


def _trivial(text: str) -> bool:
    return not any(ch.isalnum() for ch in text)


def _boundaries(node: Node) -> set[int]:
    """Lines where a child (or grandchild of a multi-line child) of ``node`` begins."""
    lines: set[int] = set()
    for child in node.named_children:
        lines.add(first_line(child))
        if last_line(child) > first_line(child):
            lines.update(first_line(g) for g in child.named_children)
    return lines
