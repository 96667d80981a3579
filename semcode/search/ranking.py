"""How a hybrid search scores a candidate: the blend of its cosine and its BM25 score, the
bonus for the words of its own name, and the priors by kind, file and name. Every constant
was measured on all 16 development corpora (BENCHMARKS.md)."""

import re

from semcode.identifiers import split_identifier

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
# A test holds the words of what it tests (its name, its calls, its data), so on the keyword
# side it outranks the code itself: for a query that does not ask about tests, tests rank
# below the code they test (bench/test_prior.py; the value is set there).
TEST_PRIOR = 0.7
TEST_WORDS = frozenset({"test", "tests", "testing", "tested", "unittest", "pytest", "spec",
                        "specs", "fixture", "fixtures", "mock", "mocks", "mocked", "testcase"})
TEST_FOLDERS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "testdata",
                          "test_data", "e2e"})
TEST_FILE = re.compile(r"^test_.*\.py$|_tests?\.py$|^conftest\.py$|_test\.go$|"
                       r"\.(test|spec)\.[cm]?[jt]sx?$|(Test|Tests|IT)\.(java|kt|scala)$|"
                       r"_(spec|test)\.rb$|Tests?\.cs$|_test\.(c|cc|cpp|rs|exs?)$")


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


def merged(first: list[Ranked], second: list[Ranked], k: int) -> list[Ranked]:
    """Two rankings whose scores are on one scale, as one: the best ``k``."""
    return sorted(first + second, key=lambda pair: (-pair[1], pair[0]))[:k]


def on_scale_of(own: list[Ranked], reference: list[Ranked]) -> list[Ranked]:
    """``own``'s BM25 scores scaled so that its best equals ``reference``'s best. Two
    corpora's BM25 scores are on different scales (a word's weight depends on how many
    chunks of its corpus hold it), so each side's best match counts alike — as the hybrid
    blend already counts every score relative to the query's best."""
    if not own or not reference:
        return own
    factor = max(s for _, s in reference) / (max(s for _, s in own) or 1.0)
    return [(cid, score * factor) for cid, score in own]


def is_test(path: str) -> bool:
    """A test file, by the conventions of its language: in a test folder, or named as one."""
    *folders, name = path.split("/")
    return any(folder.lower() in TEST_FOLDERS for folder in folders) or \
        bool(TEST_FILE.search(name))


def asks_about_tests(query_words: set[str]) -> bool:
    return not TEST_WORDS.isdisjoint(query_words)
