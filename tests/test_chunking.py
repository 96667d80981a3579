"""Chunking per language: kinds, symbols, line ranges, coverage, and the token budget."""

from pathlib import Path

import pytest

from semcode.embed.embedding import embedding_text
from semcode.embed.tokens import token_counter
from semcode.ingest.chunking import Chunker
from semcode.ingest.languages import language_of

FIXTURE = Path(__file__).parent / "fixtures" / "sample_repo"
MODEL = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(token_counter(MODEL))


def chunks_of(chunker, path):
    return chunker.chunk((FIXTURE / path).read_text(), language_of(path))


# (file, language, kind, symbol, start_line, end_line) — one definition each language must find
EXPECTED = [
    ("src/shop/cart.py", "python", "method", "Cart.total_price", 17, 19),
    ("src/shop/cart.py", "python", "function", "apply_discount_code", 22, 25),
    ("src/shop/users.py", "python", "function", "getUserName", 16, 18),
    ("web/router.js", "javascript", "method", "Router.dispatch", 13, 17),
    ("web/router.js", "javascript", "function", "debounce", 19, 25),
    ("web/api.ts", "typescript", "interface", "User", 1, 4),
    ("web/api.ts", "typescript", "method", "RetryPolicy.shouldRetry", 14, 17),
    ("web/Button.tsx", "tsx", "function", "Button", 5, 7),
    ("go/cache/lru.go", "go", "method", "LRU.Get", 12, 19),
    ("go/cache/lru.go", "go", "function", "NewLRU", 21, 23),
    ("native/matrix.rs", "rust", "method", "Matrix.determinant", 13, 16),
    ("native/matrix.rs", "rust", "function", "fibonacci", 18, 20),
    ("native/Queue.java", "java", "method", "Queue.enqueue", 10, 12),
    ("native/strings.c", "c", "function", "reverse_string", 8, 16),
    ("native/shapes.cpp", "cpp", "method", "geometry.Circle.area", 8, 8),
    ("native/shapes.cpp", "cpp", "function", "clamp_value", 16, 19),
    ("native/Account.cs", "csharp", "method", "Bank.Account.Deposit", 9, 15),
    ("native/inventory.rb", "ruby", "method", "Inventory.Warehouse.restock", 9, 13),
    ("native/mailer.php", "php", "method", "Mailer.sendWelcomeEmail", 5, 11),
    ("native/mailer.php", "php", "function", "format_currency", 13, 16),
    ("docs/guide.md", "markdown", "section", "Getting started.Deployment", 9, 11),
]


@pytest.mark.parametrize("path,language,kind,symbol,start,end", EXPECTED,
                         ids=[f"{e[1]}-{e[3]}" for e in EXPECTED])
def test_definition_becomes_its_own_chunk(chunker, path, language, kind, symbol, start, end):
    assert language_of(path) == language
    found = [(c.kind, c.start_line, c.end_line) for c in chunks_of(chunker, path)
             if c.symbol == symbol]
    assert found == [(kind, start, end)]


ALL_FILES = sorted({e[0] for e in EXPECTED} | {"docs/notes.txt"})


def non_blank(source: str) -> list[int]:
    return [n for n, line in enumerate(source.split("\n"), start=1) if line.strip()]


def covered_lines(chunks) -> list[int]:
    return [n for c in chunks for n in range(c.start_line, c.end_line + 1)]


@pytest.mark.parametrize("path", ALL_FILES)
def test_every_non_blank_line_belongs_to_exactly_one_chunk(chunker, path):
    source = (FIXTURE / path).read_text()
    lines = source.split("\n")
    chunks = chunks_of(chunker, path)
    for c in chunks:
        assert c.text == "\n".join(lines[c.start_line - 1 : c.end_line])
        assert c.text.split("\n")[0].strip() and c.text.split("\n")[-1].strip()
    covered = covered_lines(chunks)
    assert len(covered) == len(set(covered)) and covered == sorted(covered)
    assert set(non_blank(source)) <= set(covered)


def test_text_without_grammar_falls_back_to_line_windows(chunker):
    chunks = chunks_of(chunker, "docs/notes.txt")
    assert [(c.kind, c.start_line, c.end_line) for c in chunks] == [("block", 1, 2)]


def _long_function(statements: int) -> str:
    body = "\n".join(f"    total_{i} = compute_value(alpha_{i}, beta_{i}) + offset_{i}"
                     for i in range(statements))
    return f"import os\n\n\ndef huge_function():\n{body}\n    return total_0\n"


@pytest.mark.parametrize("statements", [10, 120, 400])
def test_chunks_fit_the_model_window(chunker, statements):
    source = _long_function(statements)
    chunks = chunker.chunk(source, "python")
    counter = token_counter(MODEL)
    assert all(counter.count(embedding_text(c.symbol, c.text)) <= counter.budget
               for c in chunks)
    assert set(non_blank(source)) <= set(covered_lines(chunks))


def test_oversized_function_is_split_into_pieces_of_the_same_symbol(chunker):
    chunks = chunker.chunk(_long_function(400), "python")
    pieces = [c for c in chunks if c.symbol == "huge_function"]
    assert len(pieces) > 5
    assert all(c.kind == "function" for c in pieces)


def test_small_neighbours_are_merged_up_to_the_budget(chunker):
    """Split-then-merge: windows of an oversized node are packed, not one per statement."""
    chunks = chunker.chunk(_long_function(400), "python")
    counter = token_counter(MODEL)
    pieces = [c for c in chunks if c.symbol == "huge_function"][:-1]
    assert min(counter.count(c.text) for c in pieces) > counter.budget // 2


def test_a_single_line_over_budget_is_cut_at_token_edges(chunker):
    line = "x = [" + ", ".join(f"value_{i}" for i in range(600)) + "]"
    chunks = chunker.chunk(line + "\n", "python")
    counter = token_counter(MODEL)
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == line
    assert all(c.start_line == c.end_line == 1 for c in chunks)
    assert all(counter.count(embedding_text(c.symbol, c.text)) <= counter.budget
               for c in chunks)


def test_reserved_tokens_shrink_the_budget():
    counter = token_counter(MODEL)
    chunker = Chunker(counter, reserve_tokens=100)
    chunks = chunker.chunk(_long_function(120), "python")
    assert all(counter.count(c.text) <= counter.budget - 100 for c in chunks)


def test_syntax_errors_still_cover_every_line(chunker):
    source = "def broken(:\n    return 1\n\nclass Fine:\n    def ok(self):\n        return 2\n"
    chunks = chunker.chunk(source, "python")
    assert set(non_blank(source)) <= set(covered_lines(chunks))


def test_empty_text_has_no_chunks(chunker):
    assert chunker.chunk("", "python") == []


def test_budget_is_counted_in_model_tokens_not_characters():
    counter = token_counter(MODEL)
    assert counter.window == 256
    assert counter.count("getUserName") > 1  # word pieces, not characters or words


def test_the_embedded_text_names_the_symbol_in_words():
    assert embedding_text("Cart.total_price", "\n\n    def total_price(self):\n        pass\n\n") \
        == "cart total price\n    def total_price(self):\n        pass"
    assert embedding_text("", "x = 1\n") == "x = 1"


@pytest.mark.parametrize("name_length", [5, 40])
def test_long_names_still_fit_the_window(chunker, name_length):
    name = "_".join(["segment"] * name_length)
    source = f"def {name}():\n" + "\n".join(f"    v{i} = f(a{i}, b{i})" for i in range(300))
    counter = token_counter(MODEL)
    chunks = chunker.chunk(source + "\n", "python")
    assert all(counter.count(embedding_text(c.symbol, c.text)) <= counter.budget
               for c in chunks)


NESTED = '''def walk_tree(root):
    seen = set()
    order = []

    def visit(node, depth):
        if node in seen:
            return
        seen.add(node)
        for child in node.children:
            visit(child, depth + 1)
        order.append((node, depth))

    visit(root, 0)
    return order
'''


def test_a_nested_function_is_its_own_chunk_and_the_parent_keeps_its_lines(chunker):
    chunks = chunker.chunk(NESTED, "python")
    spans = {c.symbol: [] for c in chunks}
    for c in chunks:
        spans[c.symbol].append((c.start_line, c.end_line, c.part_of))
    assert spans["walk_tree.visit"] == [(5, 11, (5, 11))]
    assert [(s, e) for s, e, _ in spans["walk_tree"]] == [(1, 3), (13, 14)]
    assert {p for _, _, p in spans["walk_tree"]} == {(1, 14)}  # pieces of one definition


def test_javascript_functions_assigned_to_names_are_definitions(chunker):
    source = ("Suite.prototype.timeout = function (ms) {\n  this._timeout = ms;\n"
              "  return this;\n};\n\nexports.lookupFiles = function lookupFiles(path) {\n"
              "  return [path];\n};\n")
    chunks = chunker.chunk(source, "javascript")
    assert [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks] == [
        ("function", "Suite.timeout", 1, 4), ("function", "exports.lookupFiles", 6, 8)]


def test_pieces_of_a_long_function_share_its_span(chunker):
    body = "\n".join(f"    value_{i} = compute_something({i}, factor={i * 3})"
                     for i in range(120))
    chunks = chunker.chunk(f"def long_one():\n{body}\n    return value_0\n", "python")
    assert len(chunks) > 1
    assert {c.part_of for c in chunks} == {(1, 122)}


def test_a_tiny_method_keeps_its_own_span(chunker):
    source = ("class Box:\n    def __init__(self, size):\n        self.size = size\n\n"
              "    def f(self): ...\n\n    def area(self):\n        return self.size ** 2\n")
    tiny = [c for c in chunker.chunk(source, "python") if c.symbol == "Box.f"]
    assert [(c.start_line, c.end_line) for c in tiny] == [(5, 5)]


@pytest.mark.parametrize("lines", [
    ["def f(x):", "", "    return x  # naïve 日本語 🙂", "\t", "}"],
    ["x = '[SEP] written in the source'", "y = 1"],  # the joining token's own spelling
    ["[CLS] [MASK]", "", ""],
])
def test_lines_are_tokenized_at_once_as_they_are_one_by_one(lines):
    """The chunker counts every line of a file in one call (joined by a special token that
    the tokenizer cuts out first): the same ids and counts as line by line."""
    counter = token_counter("all-MiniLM-L6-v2")
    ids, counts = counter.lines(lines)
    each = counter.ids_many(lines)
    assert counts.tolist() == [len(i) for i in each]
    assert ids.tolist() == [t for i in each for t in i]
