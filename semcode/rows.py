"""A file's chunk rows: what ``chunks`` stores for each chunk, with ids from content.

Light on purpose (tree-sitter and the tokenizer, no store): the parse sandbox's child process
imports it, and starting that child is on the path of every push."""

import hashlib
from collections import Counter

from semcode.chunking import Chunker
from semcode.embedding import embedding_text
from semcode.identifiers import keywords


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def chunk_id(path: str, symbol: str, hash_: str, occurrence: int) -> str:
    """Deterministic from content: the same file in another checkout has the same ids."""
    key = f"{path}\0{symbol}\0{hash_}\0{occurrence}".encode("utf-8", "surrogateescape")
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def chunk_rows(file: dict, text: str, chunker: Chunker, commit: str,
               language: str | None = None) -> list[dict]:
    """The rows of one file's chunks. ``language``: how to cut it, when not by its own
    language (``""``: line windows only, no grammar)."""
    rows: list[dict] = []
    seen: Counter[tuple[str, str]] = Counter()
    cut_as = file["language"] if language is None else language
    for c in chunker.chunk(text, cut_as):
        h = text_hash(embedding_text(c.symbol, c.text))
        seen[(c.symbol, h)] += 1
        rows.append({
            "chunk_id": chunk_id(file["path"], c.symbol, h, seen[(c.symbol, h)] - 1),
            "path": file["path"], "shard": file["shard"], "language": file["language"],
            "kind": c.kind, "symbol": c.symbol, "start_line": c.start_line,
            "end_line": c.end_line, "text": c.text, "text_hash": h,
            "keywords": keywords(f"{c.symbol}\n{c.text}"),
            "content_hash": file["content_hash"], "commit": commit,
            "part_start": c.part_of[0], "part_end": c.part_of[1],
        })
    return rows
