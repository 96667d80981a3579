"""The training pairs of semcode's code-tuned model (bench/code_model.py), read from one
standard library's files: a doc comment's first sentence (``doc``), its key phrase
(``phrase``), a name's words with the name hidden in the code (``name``), and a prose comment
inside a body (``comment``), each mapped to its function as semcode chunks and reads it."""

import ast
import random
import re
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from semcode.config import DEFAULT_MODEL  # noqa: E402
from semcode.embed.embedding import embedding_text  # noqa: E402
from semcode.embed.tokens import token_counter  # noqa: E402
from semcode.identifiers import split_identifier  # noqa: E402
from semcode.ingest.chunking import Chunker  # noqa: E402
from semcode.ingest.languages import language_of  # noqa: E402

FUNCTION_KINDS = {"function", "method"}
SENTENCE = re.compile(r"(.+?[.!?])(\s|$)")


def first_sentence(text: str, name: str = "") -> str | None:
    """A doc comment's first sentence as the harness takes one: the first paragraph, Go's
    leading name dropped, 4-40 words, not a parameter list or a deprecation."""
    text = " ".join(text.strip().split("\n\n")[0].split())
    if name and text.split(" ", 1)[0] == name:
        text = text.split(" ", 1)[1] if " " in text else ""
    match = SENTENCE.match(text)
    sentence = (match.group(1) if match else text).strip()
    if sentence.lower().startswith((":param", "deprecated", "todo", "see ", "alias", "@")):
        return None
    return sentence if 4 <= len(sentence.split()) <= 40 else None


def python_doc(text: str) -> tuple[str, str] | None:
    """(docstring, the function without it) for a Python function chunk."""
    dedented = textwrap.dedent(text)
    try:
        tree = ast.parse(dedented)
    except SyntaxError:
        return None
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)),
                None)
    if node is None or not node.body:
        return None
    first = node.body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and
            isinstance(first.value.value, str)):
        return None
    lines = text.split("\n")
    if dedented.split("\n")[first.lineno - 1][:first.col_offset].strip():
        return None  # `def f(): "doc"` on one line: the docstring does not own its line
    rest = lines[:first.lineno - 1] + lines[first.end_lineno:]
    return first.value.value, "\n".join(rest)


def comment_doc(text: str, language: str) -> tuple[str, str] | None:
    """(doc comment, the definition without it) for a Go ``//`` run or a JSDoc ``/** */``
    block right above the code of a chunk."""
    lines = text.split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    start = i
    if language == "go":
        while i < len(lines) and lines[i].strip().startswith("//"):
            i += 1
        doc = "\n".join(re.sub(r"^\s*//\s?", "", line) for line in lines[start:i])
    else:
        if i >= len(lines) or not lines[i].strip().startswith("/**"):
            return None
        while i < len(lines) and "*/" not in lines[i]:
            i += 1
        i += 1
        body = []
        for line in lines[start:i]:
            line = re.sub(r"^\s*/\*\*|\*/\s*$", "", line)
            line = re.sub(r"^\s*\*\s?", "", line)
            if line.strip().startswith("@"):
                break
            body.append(line)
        doc = "\n".join(body)
    if i == start or i >= len(lines):
        return None
    return doc, "\n".join(lines[i:])


KINDS = ("doc", "phrase", "name", "comment")
# what a key phrase drops (articles), and the words that end it (a clause, a condition)
ARTICLES = {"a", "an", "the"}
PHRASE_END = re.compile(r"[,;:(]| if | when | unless | so that | which | that | as | for use ")
COMMENT = {"python": re.compile(r"^\s*#\s?(.*)$"), "go": re.compile(r"^\s*//\s?(.*)$"),
           "javascript": re.compile(r"^\s*//\s?(.*)$"),
           "typescript": re.compile(r"^\s*//\s?(.*)$")}
NOT_PROSE = re.compile(r"^(noqa|type:|todo|fixme|xxx|pragma|eslint|istanbul|tslint|nolint|"
                       r"go:|@ts-|prettier|see |cf\.|note:|https?:|\$|-|=|\*)", re.I)
GENERIC_NAMES = {"new", "get", "set", "run", "init", "main", "call", "apply", "string", "str",
                 "repr", "len", "iter", "next", "close", "open", "reset", "clear", "copy"}


def key_phrase(sentence: str) -> str | None:
    """The few words a person types for a doc sentence: its first clause, lower-cased, the
    articles and the closing period dropped, 2-7 words; None when that is the sentence."""
    clause = PHRASE_END.split(" " + sentence.rstrip(".!?") + " ", maxsplit=1)[0]
    words = [w for w in clause.lower().split() if w not in ARTICLES]
    words = [w.strip("`'\"") for w in words]
    phrase = " ".join(w for w in words if w)
    if not 2 <= len(phrase.split()) <= 7 or phrase == sentence.lower().rstrip("."):
        return None
    return phrase


def name_query(symbol: str) -> str | None:
    """A name's words as a query: ``clearCookie`` → "clear cookie", a one-word method with its
    class's words after it (``Request.send`` → "send request"); None for a name that says
    nothing alone (``get``, ``__init__``, a single word with no class)."""
    parts = symbol.split(".")
    words = split_identifier(parts[-1])
    if parts[-1].startswith("__") or not words:
        return None
    if len(words) == 1:
        if words[0] in GENERIC_NAMES or len(parts) < 2:
            return None
        words = words + split_identifier(parts[-2])
    if len(words) < 2 or len(words) > 6 or any(w.isdigit() for w in words):
        return None
    return " ".join(words)


def masked(symbol: str, code: str) -> str:
    """The chunk as the model reads it with its own name hidden, so a name's words are learnt
    from what the body does, not copied from the header: the header keeps the enclosing
    names, the body's name becomes ``_``."""
    name = symbol.rsplit(".", 1)[-1]
    body = re.sub(rf"\b{re.escape(name)}\b", "_", code)
    return embedding_text(symbol.rsplit(".", 1)[0] if "." in symbol else "", body)


def inline_comment(code: str, language: str, rng: random.Random) -> tuple[str, str] | None:
    """(a prose comment inside a body, the body without that line): the words a person
    thinks in, mapped to the function that does it."""
    pattern = COMMENT.get(language)
    if pattern is None:
        return None
    lines = code.split("\n")
    blocks: list[list[int]] = []  # runs of comment lines: one thought, however wrapped
    for i, line in enumerate(lines[1:], start=1):
        if pattern.match(line):
            if blocks and blocks[-1][-1] == i - 1:
                blocks[-1].append(i)
            else:
                blocks.append([i])
    found = []
    for block in blocks:
        prose = " ".join(pattern.match(lines[i]).group(1).strip() for i in block)  # type: ignore[union-attr]
        match = SENTENCE.match(prose)
        text = (match.group(1) if match else prose).strip().rstrip(".:")
        words = text.split()
        if (3 <= len(words) <= 12 and not NOT_PROSE.match(text)
                and sum(w.isalpha() for w in words) >= 0.7 * len(words)
                and not re.search(r"[(){}\[\];=<>]", text)):
            found.append((block, text))
    if not found:
        return None
    block, text = rng.choice(found)
    return text[0].lower() + text[1:], "\n".join(
        line for i, line in enumerate(lines) if i not in block)


def pairs_of(name: str, tree: Path, files: list[Path], seed: int = 0) -> dict[str, list[dict]]:
    """Every pair of one standard library by kind, in file order: ``doc`` (a doc comment's
    first sentence), ``phrase`` (its key phrase), ``name`` (a name's words, the name hidden)
    and ``comment`` (a prose comment inside the body)."""
    chunker = Chunker(token_counter(DEFAULT_MODEL))
    rng = random.Random(seed)
    pairs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for path in files:
        rel = path.relative_to(tree).as_posix()
        language = language_of(rel)
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for chunk in chunker.chunk(text, language):
            if chunk.kind not in FUNCTION_KINDS or chunk.part_of != (chunk.start_line,
                                                                     chunk.end_line):
                continue
            where = {"file": f"{name}/{rel}", "language": language}
            found = python_doc(chunk.text) if language == "python" else \
                comment_doc(chunk.text, language)
            doc, code = found if found is not None else (None, chunk.text)
            lines = len([line for line in code.split("\n") if line.strip()])
            if lines < 2:
                continue
            short = chunk.symbol.rsplit(".", 1)[-1]
            sentence = first_sentence(doc, short if language == "go" else "") if doc else None
            if sentence is not None:
                full = embedding_text(chunk.symbol, code)
                pairs["doc"].append({"query": sentence, "code": full, **where})
                if (phrase := key_phrase(sentence)) is not None:
                    pairs["phrase"].append({"query": phrase, "code": full, **where})
            if lines < 3:
                continue  # a one-line body says too little to learn its name or comment from
            if (words := name_query(chunk.symbol)) is not None:
                pairs["name"].append({"query": words, "code": masked(chunk.symbol, code),
                                      **where})
            if (comment := inline_comment(code, language, rng)) is not None:
                pairs["comment"].append({"query": comment[0],
                                         "code": embedding_text(chunk.symbol, comment[1]),
                                         **where})
    return pairs
