"""Answers by keyword straight from the working tree, for a repository with no index yet.

While a first index builds (the MCP server starts one in the background; the CLI answers this
way when a build would take long), a search still answers: git lists the files that hold the
query's words (``git grep``, tracked and untracked files, by git's ignore rules), the files
holding the most of them are read by the index's rules — beneath the checkout, with the same
skip reasons — and cut by the same chunker, and their chunks are ranked by those words (BM25:
a rarer word counts more; a word of the chunk's own name more still). Each hit says
``source: worktree`` and ``matched_by: keyword``.
"""

import math
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from semcode.config import DEFAULT_MAX_FILE_BYTES, DEFAULT_PARSE_TIMEOUT
from semcode.errors import GitError
from semcode.identifiers import query_keywords, split_identifier
from semcode.ingest import beneath, gitrepo
from semcode.ingest.discovery import IGNORE_FILE, load_ignore
from semcode.ingest.globs import compile_path_globs
from semcode.ingest.languages import language_of
from semcode.ingest.sandbox import sandboxed_chunker
from semcode.ingest.worktree import inspect
from semcode.search.hits import WORKTREE, Answer, Hit

MAX_FILES = 40  # files read and chunked for one query, those holding the most words first
MAX_WORDS = 12
K1, B = 1.2, 0.75  # BM25's usual constants
NAME_BONUS = 0.5  # a query word in the chunk's own name, as a share of the best score


def keyword_answer(repo: str | Path, model: str, query: str, *, k: int,
                   languages: Sequence[str] = (), paths: Sequence[str] = (),
                   kinds: Sequence[str] = (), warning: str = "",
                   max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                   parse_timeout: float = DEFAULT_PARSE_TIMEOUT) -> Answer:
    """The ``k`` chunks of the checkout at ``repo`` that best hold the query's words."""
    top = Path(repo)
    words = list(dict.fromkeys(query_keywords(query).split()))[:MAX_WORDS]
    spec = compile_path_globs(paths) if paths else None
    holding = _files_holding(top, words)
    chosen = sorted((p for p in holding
                     if (spec is None or spec.match_file(p))
                     and (not languages or language_of(p) in languages)),
                    key=lambda p: (-len(holding[p]), p))[:MAX_FILES]
    chunks = _chunks(top, chosen, model, kinds, max_file_bytes, parse_timeout)
    warnings = [warning] if warning else []
    return Answer(hits=_ranked(chunks, words, k), warnings=warnings)


def _files_holding(top: Path, words: list[str]) -> dict[str, set[str]]:
    """Each file that holds one of ``words`` (case-insensitive, as a substring), with the
    words it holds: ``git grep`` per word, in a git checkout or any folder."""
    scope = ["--untracked"] if gitrepo.is_git_repo(top) else ["--no-index"]
    holding: dict[str, set[str]] = {}
    for word in words:
        proc = subprocess.run(["git", "-C", str(top), "grep", *scope, "-l", "-z", "-I", "-i",
                               "-F", "-e", word, "--", "."], capture_output=True, check=False)
        if proc.returncode not in (0, 1):  # 1: nothing holds it
            raise GitError(f"git grep failed in {top}: "
                                   f"{proc.stderr.decode('utf-8', 'replace').strip()}")
        for raw in proc.stdout.split(b"\0"):
            if raw:
                holding.setdefault(raw.decode("utf-8", "surrogateescape"), set()).add(word)
    return holding


def _chunks(top: Path, paths: list[str], model: str, kinds: Sequence[str],
            max_file_bytes: int, parse_timeout: float) -> list[dict]:
    """The chunks of ``paths`` as an index run would cut them (a skipped file has none)."""
    ignore = load_ignore(beneath.read_text(top, IGNORE_FILE))
    chunker = sandboxed_chunker(model, 0, parse_timeout)
    chunks = []
    for path in paths:
        state, text = inspect(top, path, ignore, max_file_bytes)
        if text is None:
            continue
        file = {"path": path, "shard": 0, "language": language_of(path),
                "content_hash": state.content_hash}
        try:
            columns, _ = chunker.columns(file, text)
        except ValueError:  # a file the chunker cannot cut is skipped, as in an index run
            continue
        for i, chunk_id in enumerate(columns["chunk_id"]):
            if kinds and columns["kind"][i] not in kinds:
                continue
            chunks.append({"path": path, "language": file["language"], "chunk_id": chunk_id,
                           **{name: columns[name][i] for name in (
                               "symbol", "kind", "start_line", "end_line", "text", "keywords",
                               "part_start", "part_end")}})
    return chunks


def _ranked(chunks: list[dict], words: list[str], k: int) -> list[Hit]:
    """BM25 over the chunks' code-aware words, plus a bonus for the words of a chunk's name."""
    if not chunks or not words:
        return []
    bags = [Counter(chunk["keywords"].split()) for chunk in chunks]
    length = sum(sum(bag.values()) for bag in bags) / len(bags) or 1.0
    df = {w: sum(1 for bag in bags if w in bag) for w in words}
    idf = {w: math.log(1 + (len(bags) - df[w] + 0.5) / (df[w] + 0.5)) for w in words}
    scores = []
    for chunk, bag in zip(chunks, bags, strict=True):
        size = sum(bag.values())
        score = sum(idf[w] * bag[w] * (K1 + 1) / (bag[w] + K1 * (1 - B + B * size / length))
                    for w in words if bag[w])
        named = set(split_identifier(chunk["symbol"].replace(".", "_")))
        score += NAME_BONUS * sum(idf[w] for w in words if w in named)
        scores.append(score)
    best = max(scores) or 1.0
    order = sorted(range(len(chunks)), key=lambda i: -scores[i])
    return [_hit(chunks[i], scores[i] / best) for i in order[:k] if scores[i] > 0]


def _hit(chunk: dict, score: float) -> Hit:
    return Hit(path=chunk["path"], start_line=chunk["start_line"], end_line=chunk["end_line"],
               symbol=chunk["symbol"], language=chunk["language"], kind=chunk["kind"],
               score=round(score, 6), text=chunk["text"], chunk_id=chunk["chunk_id"],
               matched_by="keyword", part_of=(chunk["part_start"], chunk["part_end"]),
               source=WORKTREE)
