"""Properties of the chunker for any text in any supported language (hypothesis): every
non-blank line is covered exactly once, ranges are valid, and ids are stable. Random draws,
through the same sandbox an index run uses: a grammar that never returns on a draw
(tree-sitter-perl on "{\n// c\n## Title") costs the deadline, and its line windows must
cover the text just the same."""

from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semcode.embed.tokens import token_counter
from semcode.ingest.chunking import Chunker
from semcode.ingest.languages import SPECS
from semcode.ingest.sandbox import SandboxedChunker

LANGUAGES = [spec.name for spec in SPECS] + ["text"]
CHUNKER = Chunker(token_counter("all-MiniLM-L6-v2"))

# Lines built from the pieces code is made of, so that parsers find real structure (and
# broken structure) often; plus arbitrary text, long lines and blank lines.
PIECES = ["def f(x):", "    return x", "class A:", "  def m(self): pass", "}", "{", "fn g() {",
          "func (r *R) M() {", "function h() {", "int main(void) {", "end", "# note", "// c",
          "/*", "*/", "MAGIC = 7", "    x = [1, 2,", "    3]", "'''", '"', "<?php", "## Title",
          "x" * 300, "word " * 120, "\t", "   ", "é ü 中文 🙂", "\\", "`", "@decorator"]
line = st.one_of(st.sampled_from(PIECES), st.text(max_size=60).map(lambda t: t.replace("\n", "")))
source = st.lists(line, max_size=60).map("\n".join)
SANDBOX = SandboxedChunker("all-MiniLM-L6-v2", deadline=3)
RANDOM = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _file(language: str) -> dict:
    return {"path": f"src/file.{language}", "shard": 0, "language": language,
            "content_hash": "h"}


def _sandboxed(text: str, language: str, commit: str = "c1") -> list[dict]:
    rows, _ = SANDBOX.rows(_file(language), text, commit)
    return rows


def _check_cover(text: str, chunks) -> None:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    spans: dict[int, list] = {}
    for c in chunks:
        assert 1 <= c.start_line <= c.end_line <= len(lines), (c.start_line, c.end_line)
        for n in range(c.start_line, c.end_line + 1):
            spans.setdefault(n, []).append(c)
    for n, content in enumerate(lines, start=1):
        owners = spans.get(n, [])
        if not content.strip():
            continue
        assert owners, f"line {n} is in no chunk: {content!r}"
        if len(owners) > 1:  # only a line over the budget is cut, into pieces of that line
            assert all(c.start_line == c.end_line == n for c in owners), f"line {n} twice"
            assert "".join(c.text for c in owners) == content


@settings(RANDOM, max_examples=150)
@given(text=source, language=st.sampled_from(LANGUAGES))
def test_any_text_is_covered_exactly_once_with_valid_ranges(text, language):
    _check_cover(text, [SimpleNamespace(**r) for r in _sandboxed(text, language)])


@settings(RANDOM, max_examples=40)
@given(text=source, language=st.sampled_from(LANGUAGES))
def test_chunk_ids_are_stable_and_distinct(text, language):
    first = [r["chunk_id"] for r in _sandboxed(text, language, "c1")]
    again = [r["chunk_id"] for r in _sandboxed(text, language, "c2")]
    assert first == again
    assert len(first) == len(set(first))


def test_a_small_statement_between_two_functions_near_the_budget_is_kept():
    """Probe regression: `MAGIC = 7` fit with neither neighbour and was dropped."""
    def function(name: str, pad: int) -> str:
        return "\n".join([f"def {name}():", *(f"    value_{i} = {i}" for i in range(40)),
                          "    return " + " + ".join(["x"] * pad)])

    for pad in range(60):  # walk both functions' size across the budget edge
        text = f"{function('first', pad)}\n\nMAGIC = 7\n\n{function('second', pad)}\n"
        chunks = CHUNKER.chunk(text, "python")
        _check_cover(text, chunks)
        assert any("MAGIC = 7" in c.text for c in chunks), pad
