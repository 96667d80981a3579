"""Code navigation: definitions, references, callers and callees from the index's symbols —
real grammars on real files, a real index run, the working tree through the overlay."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from semcode.config import Settings
from semcode.embed.tokens import token_counter
from semcode.ingest.chunking import Chunker
from semcode.ingest.rows import SYMBOLS, chunk_columns
from semcode.search.searcher import Searcher
from semcode.store import checks
from semcode.store.tables import Store
from semcode_dagster.assets.local_run import run_index_job
from tests.conftest import clone, init_repo

MODEL = "static"  # the packaged static model: navigation does not rank by meaning

SHOP = {
    "shop/__init__.py": "",
    "shop/prices.py": """\
        def total_price(items):
            return sum(price(i) for i in items)


        def price(item):
            return item.cost


        def get(mapping, key):
            return mapping[key]
        """,
    "shop/cart.py": """\
        from shop.prices import total_price


        class Cart:
            def get(self, key):
                return self.items[key]

            def checkout(self):
                # total_price(self.items) would be wrong here: a comment, not a call
                return total_price(self.items) + self.get("fee")
        """,
    "shop/report.py": """\
        from shop import prices


        def summary(cart):
            \"\"\"Like get(cart), in words only.\"\"\"
            fee = prices.get(cart.totals, "sum")
            return fee + cart.get("tax")
        """,
}


def write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(text))


def indexed_shop(root: Path) -> Settings:
    """The shop repository under ``root``, indexed by a real run: its settings."""
    repo = root / "repo"
    repo.mkdir()
    write(repo, SHOP)
    init_repo(repo)
    settings = Settings(repo=str(repo), store=str(root / "store"), model=MODEL)
    report = run_index_job(settings)
    assert report.ok and report.checks.get("symbols_match_chunks"), report.text()
    return settings


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The shop repository, indexed: (repo, store)."""
    settings = indexed_shop(tmp_path_factory.mktemp("nav"))
    return Path(settings.repo), settings.store_uri


def ask(store: str, relation: str, name: str, checkout: Path | None = None, **how):
    return Searcher(store, model=MODEL, checkout=checkout).navigator().answer(
        relation, name, **how)


def lines(answer, path: str) -> list[int]:
    return sorted(r.line for r in answer.results if r.path == path)


def test_a_call_in_a_comment_or_a_docstring_is_not_a_reference(shop):
    _, store = shop
    refs = ask(store, "references", "total_price", calls=True)
    assert lines(refs, "shop/cart.py") == [10]  # line 9 holds it in a comment
    assert {r.enclosing for r in refs.results} == {"Cart.checkout"}
    everything = ask(store, "references", "total_price")
    assert {(r.kind, r.line) for r in everything.results if r.path == "shop/cart.py"} == \
        {("import", 1), ("call", 10)}
    assert lines(ask(store, "references", "get"), "shop/report.py") == [6, 7]  # not line 5
    assert "name-based" in refs.note


def test_a_method_and_a_function_of_the_same_name_are_told_apart_by_kind(shop):
    _, store = shop
    found = ask(store, "definition", "get")
    assert {(d.qualified, d.kind, d.path) for d in found.results} == {
        ("Cart.get", "method", "shop/cart.py"), ("get", "function", "shop/prices.py")}
    method = ask(store, "callers", "Cart.get")
    assert {(c.caller, c.path, tuple(c.calls)) for c in method.results} == {
        ("Cart.checkout", "shop/cart.py", (10,)), ("summary", "shop/report.py", (7,))}
    function = ask(store, "callers", "get", kind="function")
    # prices.get(…) goes through the module report.py imports: the function, not a method
    assert {(c.caller, c.path, tuple(c.calls)) for c in function.results} == {
        ("summary", "shop/report.py", (6,))}


def test_callees_resolve_each_call_by_scope(shop):
    _, store = shop
    answer = ask(store, "callees", "total_price")
    called = {c.name: c for c in answer.results}
    assert set(called) == {"sum", "price"}
    assert not called["sum"].defined_at  # a builtin: not indexed
    assert [(d.path, d.scope) for d in called["price"].defined_at] == \
        [("shop/prices.py", "same file")]
    # a line with a call: the called name, ranked from that file (imported beats elsewhere)
    used = ask(store, "definition", "shop/cart.py:10")
    assert used.name == "total_price"
    assert [(d.path, d.line, d.scope) for d in used.results] == [("shop/prices.py", 1,
                                                                  "imported")]
    defined = ask(store, "callees", "shop/cart.py:8")  # a definition's line: that definition
    assert defined.name == "Cart.checkout"
    assert {c.name: [d.qualified for d in c.defined_at] for c in defined.results} == {
        "total_price": ["total_price"], "get": ["Cart.get"]}


def test_a_rename_in_the_working_tree_moves_its_references(shop, tmp_path):
    repo, store = shop
    work = clone(repo, tmp_path / "work")
    for path in ("shop/prices.py", "shop/cart.py"):
        file = work / path
        file.write_text(file.read_text().replace("total_price", "grand_total"))
    renamed = ask(store, "references", "grand_total", checkout=work, calls=True)
    assert lines(renamed, "shop/cart.py") == [10]
    assert [(d.path, d.line) for d in renamed.resolved] == [("shop/prices.py", 1)]
    assert ask(store, "references", "total_price", checkout=work).results == []
    # the index itself is unchanged: a search without the checkout still sees the old name
    assert lines(ask(store, "references", "total_price", calls=True), "shop/cart.py") == [10]


def test_the_symbols_check_finds_a_file_without_symbols_and_the_next_run_repairs_it(
        tmp_path):
    settings = indexed_shop(tmp_path)
    store = settings.store_uri
    Store(store).delete("symbols", "path = 'shop/cart.py'")
    report = checks.symbols_match_chunks(Store(store))
    assert not report.passed and "shop/cart.py" in report.description
    again = run_index_job(settings)
    assert again.ok and checks.symbols_match_chunks(Store(store)).passed
    assert ask(store, "callers", "total_price").results[0].caller == "Cart.checkout"


def test_the_cli_answers_in_json_and_says_it_is_name_based(shop):
    repo, store = shop
    done = subprocess.run(
        [sys.executable, "-m", "semcode", "callers", "price", "--json", "--repo", str(repo),
         "--store", store], capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "SEMCODE_MODEL": MODEL})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["relation"] == "callers" and "name-based" in answer["note"]
    assert [(c["caller"], c["path"]) for c in answer["results"]] == \
        [("total_price", "shop/prices.py")]


@pytest.fixture(scope="module")
def chunker():
    return Chunker(token_counter("all-MiniLM-L6-v2"))


def symbols_of(chunker, path: str, language: str, text: str) -> list[tuple]:
    file = {"path": path, "language": language, "content_hash": "x", "shard": 0}
    found = chunk_columns(file, textwrap.dedent(text), chunker)[SYMBOLS]
    return [(found["role"][i], found["kind"][i], found["name"][i], found["line"][i],
             found["enclosing"][i]) for i in range(len(found["role"]))]


def test_go_and_typescript_references_come_from_their_tag_queries(chunker):
    go = symbols_of(chunker, "main.go", "go", """\
        package main

        import "github.com/acme/store"

        // Open() is mentioned, not called
        func Run(s *store.Store) error {
            return store.Open(s)
        }
        """)
    assert ("reference", "import", "store", 3, "") in go
    assert ("reference", "call", "Open", 7, "Run") in go
    assert not [s for s in go if s[3] == 5]  # the comment's line holds nothing
    assert ("definition", "function", "Run", 6, "") in go
    ts = symbols_of(chunker, "app.ts", "typescript", """\
        import { Router } from "./router";
        interface Handler { handle(r: Request): void }
        export class App implements Handler {
          run(): Router { return new Router(); }
        }
        """)
    assert ("reference", "import", "Router", 1, "") in ts
    assert ("reference", "type", "Handler", 3, "App") in ts
    assert ("reference", "call", "Router", 4, "App.run") in ts
    assert ("definition", "interface", "Handler", 2, "") in ts
    assert not [s for s in ts if s[1] == "type" and s[3] == 2 and s[2] == "Handler"]


def test_files_read_by_other_tag_queries_are_read_again(tmp_path):
    """A file's symbols record what read them; after the tag queries change, the next run
    parses every file again instead of trusting symbols the old queries made."""
    from semcode.ingest.symbols import symbols_version

    settings = indexed_shop(tmp_path)
    store = settings.store_uri
    assert run_index_job(settings).files.parsed == 0  # nothing changed
    Store(store).table("symbols").update(where="role = 'file' AND path = 'shop/cart.py'",
                                         values={"detail": "older queries"})
    again = run_index_job(settings)
    assert again.ok and again.files.parsed == 1
    rows = Store(store).scan("symbols", ["detail"], "role = 'file'").column("detail")
    assert set(rows.to_pylist()) == {symbols_version()}


def test_every_symbol_points_at_a_chunk_after_a_line_cut_in_pieces(chunker):
    """A line too long for the model is cut in pieces, and a small last piece is joined to
    the lines after it: those lines' references still point at the chunk that holds them
    (found at the Linux drivers/ size, where the check caught 11 rows pointing at none)."""
    file = {"path": "noc.c", "language": "c", "content_hash": "x", "shard": 0}
    for items in range(150, 700):  # a length whose last piece is joined to lines 3-4
        long = ", ".join(f"SLAVE_{i}_CFG" for i in range(items))
        text = f"int f(void);\nDEFINE_QNODE(a, {long});\nDEFINE_QNODE(b, 1);\nDEFINE_QNODE(c);\n"
        columns = chunk_columns(file, text, chunker)
        spans = list(zip(columns["start_line"], columns["end_line"], strict=True))
        if (2, 4) in spans and (2, 2) in spans:
            break
    else:
        pytest.fail("no line length gave a last piece joined to the lines after it")
    found = columns[SYMBOLS]
    calls = [i for i, role in enumerate(found["role"]) if role == "reference"]
    assert [found["line"][i] for i in calls] == [2, 3, 4]
    for i in calls:
        chunk = columns["chunk_id"].index(found["chunk_id"][i])
        assert columns["start_line"][chunk] <= found["line"][i] <= columns["end_line"][chunk]
