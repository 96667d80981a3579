"""Search: code-aware words, fusion, filters (hostile ones too), and each mode end to end."""

import pytest

from semcode.errors import QueryError
from semcode.identifiers import keywords, split_identifier
from semcode.search.searcher import Searcher, blend, name_match
from semcode.store.tables import sql_str
from tests.conftest import SEARCH_MODEL as MODEL


@pytest.mark.parametrize("name,parts", [
    ("getUserName", ["get", "user", "name"]),
    ("get_user_name", ["get", "user", "name"]),
    ("HTTPServer", ["http", "server"]),
    ("parseHTTPResponse2", ["parse", "http", "response", "2"]),
    ("XMLHttpRequest", ["xml", "http", "request"]),
    ("__init__", ["init"]),
    ("snake_case_ID", ["snake", "case", "id"]),
    ("x", ["x"]),
])
def test_identifiers_split_into_words(name, parts):
    assert split_identifier(name) == parts


def test_keywords_keep_the_identifier_and_add_its_parts():
    assert keywords("user = getUserName(request)") == \
        "user getusername get user name request"


def test_keywords_neither_stem_nor_drop_stop_words():
    assert keywords("the running of tests") == "the running of tests"


def test_blend_weighs_the_cosine_and_the_scaled_keyword_score():
    by_vector = [("a", 0.9), ("b", 0.5)]
    by_keyword = [("b", 20.0), ("c", 10.0)]
    fused = dict(blend(by_vector, by_keyword, vector_share=0.8))
    assert fused["a"] == pytest.approx(0.8 * 0.9)  # no keyword score
    assert fused["b"] == pytest.approx(0.8 * 0.5 + 0.2 * 1.0)  # the query's best BM25 is 1
    assert fused["c"] == pytest.approx(0.8 * 0.5 + 0.2 * 0.5)  # cosine: the lowest returned
    assert [cid for cid, _ in blend(by_vector, by_keyword, vector_share=1.0)][0] == "a"
    assert [cid for cid, _ in blend(by_vector, by_keyword, vector_share=0.0)][0] == "b"


def test_the_name_bonus_counts_the_chunks_own_name_words_in_the_query():
    words = {"delete", "cookie", "name"}
    assert name_match(words, "Cookies.delete") == 1.0  # its own name, not its class's
    assert name_match(words, "Cookies.get_cookie_header") == pytest.approx(1 / 3)
    assert name_match(words, "Cookies") == 0.0 and name_match(words, "") == 0.0


@pytest.mark.parametrize("value,literal", [
    ("python", "'python'"),
    ("it's", "'it''s'"),
    ("x' OR '1'='1", "'x'' OR ''1''=''1'"),
])
def test_sql_literals_are_escaped(value, literal):
    assert sql_str(value) == literal


@pytest.mark.model
@pytest.mark.parametrize("mode,query,symbol", [
    ("hybrid", "check that an email address is well formed", "validate_email_address"),
    ("vector", "check that an email address is well formed", "validate_email_address"),
    ("keyword", "validate email address", "validate_email_address"),
    ("keyword", "get_user_name", "getUserName"),
    ("hybrid", "getUserName", "getUserName"),
    ("vector", "read a value from the least recently used cache", "LRU.Get"),
])
def test_each_mode_finds_the_target_first(searcher, mode, query, symbol):
    hits = searcher.search(query, k=5, mode=mode)
    assert hits[0].symbol == symbol


@pytest.mark.model
def test_hybrid_prefers_callables_but_still_finds_types(searcher):
    hits = searcher.search("fixed size cache that evicts the least recently used entry", k=3)
    assert "LRU" in [h.symbol for h in hits]
    assert hits[0].kind in ("function", "method")


@pytest.mark.model
def test_hits_carry_what_a_person_needs(searcher):
    hit = searcher.search("reverse a string in place", k=1)[0]
    assert (hit.path, hit.start_line, hit.end_line, hit.symbol, hit.language, hit.kind) == \
        ("native/strings.c", 8, 16, "reverse_string", "c", "function")
    assert "strlen" in hit.text and hit.score > 0


@pytest.mark.model
def test_each_hit_says_which_side_found_it(searcher):
    for mode in ("vector", "keyword"):
        assert {h.matched_by for h in searcher.search("user name", k=5, mode=mode)} == {mode}
    hybrid = {h.chunk_id: h.matched_by for h in searcher.search("user name", k=10)}
    vector = {h.chunk_id for h in searcher.search("user name", k=10, mode="vector")}
    keyword = {h.chunk_id for h in searcher.search("user name", k=10, mode="keyword")}
    for cid, side in hybrid.items():  # the hybrid's sides rank deeper than 10: a superset
        if cid in vector and cid in keyword:
            assert side == "both"
        elif side == "keyword":
            assert cid not in vector
    assert "both" in hybrid.values()


@pytest.mark.model
@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_language_filter_applies_before_ranking(searcher, mode):
    hits = searcher.search("user", k=10, languages=["typescript"], mode=mode)
    assert hits and {h.language for h in hits} == {"typescript"}
    # filtered first, not trimmed: the best TypeScript hit is still found though Python
    # chunks mention users more
    assert "User" in {h.symbol for h in hits}


@pytest.mark.model
@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_path_globs_and_kinds_filter(searcher, mode):
    hits = searcher.search("user", k=10, paths=["src/**/*.py", "web/*.ts"], kinds=["function"],
                           mode=mode)
    assert hits
    assert all(h.kind == "function" for h in hits)
    assert all(h.path.startswith("src/") or h.path == "web/api.ts" for h in hits)


@pytest.mark.model
@pytest.mark.parametrize("hostile", [
    "python' OR '1'='1", "python\"; DROP TABLE chunks; --", "') OR (1=1", "%", "*", "\\",
    "python' --",
])
@pytest.mark.parametrize("field", ["languages", "kinds", "paths"])
def test_hostile_filters_neither_error_nor_widen(searcher, hostile, field):
    if field == "paths" and hostile == "*":
        pytest.skip("a bare * is a legitimate glob that matches everything")
    if field == "paths" and hostile == "\\":
        with pytest.raises(QueryError, match="invalid glob"):
            searcher.search("user", paths=[hostile])
        return
    if field in ("languages", "kinds"):  # not one semcode knows: said, never an empty answer
        with pytest.raises(QueryError, match=f"unknown {field[:-1]}"):
            searcher.search("user", **{field: [hostile]})
        return
    hits = searcher.search("user", k=10, mode="hybrid", **{field: [hostile]})
    assert hits == []


@pytest.mark.model
def test_exclusions_alone_mean_everything_but_them(searcher):
    hits = searcher.search("user", k=10, paths=["!src/**", "!web/**"])
    assert hits and not any(h.path.startswith(("src/", "web/")) for h in hits)
    everywhere = {h.path.split("/")[0] for h in searcher.search("user", k=30)}
    assert {"src", "web"} <= everywhere  # the exclusions did take something out


@pytest.mark.model
def test_a_glob_that_matches_nothing_returns_nothing(searcher):
    assert searcher.search("user", paths=["nowhere/**"]) == []


@pytest.mark.model
def test_similar_finds_related_code_and_not_itself(searcher):
    hits = searcher.similar("src/shop/cart.py", 18, k=3)
    assert hits
    assert not any(h.path == "src/shop/cart.py" and h.start_line <= 18 <= h.end_line
                   for h in hits)


@pytest.mark.model
def test_unknown_mode_is_a_clear_error(searcher):
    with pytest.raises(QueryError, match="unknown mode"):
        searcher.search("x", mode="fuzzy")


HOSTILE_QUERIES = ['"unterminated', "a AND OR NOT b", "title:foo", "foo~2", "*", "(((",
                   "'; DROP TABLE chunks; --", "user\x00name", "\\", "🙂" * 50, " ",
                   "x" * 19_000]


@pytest.mark.model
@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_hostile_queries_are_answered_not_raised(searcher, query, mode):
    hits = searcher.search(query, k=5, mode=mode)
    assert isinstance(hits, list) and len(hits) <= 5


@pytest.mark.model
@pytest.mark.parametrize("k", [0, -3, 10**9])
def test_an_absurd_k_is_a_clear_error(searcher, k):
    with pytest.raises(QueryError, match="k must be between"):
        searcher.search("user", k=k)


@pytest.mark.model
def test_a_query_over_the_size_limit_is_a_clear_error(searcher):
    with pytest.raises(QueryError, match="characters"):
        searcher.search("x " * 60_000)


@pytest.mark.model
@pytest.mark.parametrize("field", ["languages", "kinds", "paths"])
def test_a_nul_byte_in_a_filter_is_refused_not_widened(searcher, field):
    with pytest.raises(QueryError, match="NUL"):
        searcher.search("user", **{field: ["python\x00"]})


@pytest.mark.model
def test_a_crafted_path_glob_cannot_stall_a_search(searcher):
    """Probe regression: a 19-character glob froze the MCP server for ~10 s."""
    import time

    started = time.perf_counter()
    searcher.search("user", paths=["*a*a*a*a*a*a*a*a*a*a*b", "**/" * 30 + "*a*a*a*a*a*b"])
    assert time.perf_counter() - started < 5  # a hang guard: backtracking took minutes


DECLARED = {
    "geometry/area.py": '''from typing import overload


@overload
def polygon_area(corners: list[tuple[int, int]]) -> int: ...


@typing.overload
def polygon_area(corners: list[tuple[float, float]]) -> float: ...


def polygon_area(corners):
    total = 0
    for (x1, y1), (x2, y2) in zip(corners, corners[1:] + corners[:1]):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def circle_area(radius):
    return 3.14159 * radius * radius
''',
    "geometry/area.pyi": "def circle_area(radius: float) -> float: ...\n",
}


def indexed(tmp_path, files: dict[str, str]) -> Searcher:
    """A Searcher over a real index of a one-commit repository of ``files``."""
    from tests.conftest import commit_all, git
    from tests.dagster_helpers import defs_for, run_job

    repo = tmp_path / "repo"
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    commit_all(repo, "files")
    assert run_job(defs_for(repo, str(tmp_path / "store"))).success
    return Searcher(str(tmp_path / "store"), model=MODEL)


def test_declarations_rank_below_the_implementation(tmp_path):
    """A stub file's signature and a typing overload say what a function takes, not what
    it does: the implementation comes first (the declarations still come)."""
    searcher = indexed(tmp_path, DECLARED)
    implementation = DECLARED["geometry/area.py"].splitlines() \
        .index("def polygon_area(corners):") + 1
    polygon = searcher.search("polygon area of int corners", k=5)
    assert (polygon[0].symbol, polygon[0].start_line) == ("polygon_area", implementation)
    assert len({h.start_line for h in polygon if h.symbol == "polygon_area"}) == 3
    circle = searcher.search("circle area from a float radius", k=5)
    assert (circle[0].path, circle[0].symbol) == ("geometry/area.py", "circle_area")
    assert "geometry/area.pyi" in {h.path for h in circle}


HOOKED = {
    "checks.py": '''class _RangeValidator:
    def __init__(self, low, high):
        self.low = low
        self.high = high

    def __call__(self, instance, attribute, value):
        if not self.low <= value <= self.high:
            raise ValueError(f"{attribute} must lie in {self.low}..{self.high}: {value}")


def within(low, high):
    return _RangeValidator(low, high)
''',
}


def test_a_method_the_language_calls_ranks_below_the_api_that_triggers_it(tmp_path):
    """``__call__`` does the check, but a person calls ``within``: the factory comes first,
    the hook still comes; a constructor is not a hook."""
    from semcode.ingest.languages import is_hook

    searcher = indexed(tmp_path, HOOKED)
    hits = searcher.search("check a value lies between two bounds", k=5)
    assert hits[0].symbol == "within"
    assert "_RangeValidator.__call__" in {h.symbol for h in hits}
    assert is_hook("python", "_RangeValidator.__call__")
    assert not is_hook("python", "_RangeValidator.__init__")
    assert is_hook("python", "__call__")
    assert not is_hook("javascript", "Range.__call__")


@pytest.mark.parametrize(("path", "test"), [
    ("tests/test_core.py", True), ("src/pkg/tests/helpers.py", True), ("conftest.py", True),
    ("pkg/core_test.py", True), ("logger_test.go", True), ("web/app.test.ts", True),
    ("web/__tests__/app.js", True), ("lib/app.spec.js", True),
    ("src/test/java/AppTest.java", True), ("spec/models/user_spec.rb", True),
    ("src/pkg/core.py", False), ("testify/assert/assertions.go", False),
    ("src/contest.py", False), ("latest/notes.md", False), ("src/attest.rs", False),
])
def test_a_test_file_is_known_by_its_language_s_conventions(path, test):
    from semcode.search.ranking import is_test

    assert is_test(path) is test


@pytest.mark.model
def test_a_test_counts_less_unless_the_query_asks_about_tests(tmp_path):
    """click's case in small: the test's name and docstring hold the query's words, the code
    that does it (``consume_value``) does not, so without the prior the test comes first."""
    import subprocess
    import sys

    from semcode.search.ranking import TEST_PRIOR
    from tests.conftest import init_repo

    repo = tmp_path / "repo"
    (repo / "cli").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "cli" / "options.py").write_text(
        "import os\n\n\nclass Option:\n"
        "    def __init__(self, name, envvar=None, default=None):\n"
        "        self.name, self.envvar, self.default = name, envvar, default\n\n"
        "    def consume_value(self, given):\n"
        "        if given is not None:\n            return given\n"
        "        if self.envvar and self.envvar in os.environ:\n"
        "            return os.environ[self.envvar]\n"
        "        return self.default\n")
    (repo / "tests" / "test_options.py").write_text(
        "from cli.options import Option\n\n\n"
        "def test_option_default_from_environment_variable(monkeypatch):\n"
        '    """An option takes its default value from an environment variable."""\n'
        "    monkeypatch.setenv('APP_COLOR', 'red')\n"
        "    option = Option('color', envvar='APP_COLOR', default='blue')\n"
        "    assert option.consume_value(None) == 'red'\n")
    init_repo(repo)
    store = str(tmp_path / "store")
    subprocess.run([sys.executable, "-m", "semcode", "index", str(repo), "--store", store],
                   check=True, capture_output=True, timeout=600)

    def scores(searcher: Searcher, query: str) -> dict[str, float]:
        """Each file's best hit's score."""
        best: dict[str, float] = {}
        for hit in searcher.search(query, k=5, mode="hybrid"):
            best[hit.path] = max(best.get(hit.path, 0.0), hit.score)
        return best

    flat, ranked = Searcher(store, model=MODEL, test_prior=1.0), Searcher(store, model=MODEL)
    query = "option default value from an environment variable"
    before, after = scores(flat, query), scores(ranked, query)
    test, code = "tests/test_options.py", "cli/options.py"
    assert max(before, key=before.get) == test  # what the prior is for
    assert after[test] == pytest.approx(before[test] * TEST_PRIOR, abs=1e-6)
    assert after[code] == pytest.approx(before[code], abs=1e-6)
    asked = "a test for an option default value from an environment variable"
    assert scores(ranked, asked)[test] == pytest.approx(scores(flat, asked)[test], abs=1e-6)
