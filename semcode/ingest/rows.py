"""A file's chunk rows: what ``chunks`` stores for each chunk, with ids from content.

Light on purpose (tree-sitter and the tokenizer, no store): the parse sandbox's child process
imports it, and starting that child is on the path of every push."""

import hashlib
from collections import Counter
from typing import TYPE_CHECKING

from semcode.embed.embedding import embedding_text
from semcode.identifiers import keywords
from semcode.ingest.chunking import Chunker
from semcode.ingest.symbols import symbol_columns

if TYPE_CHECKING:
    from semcode.embed.static_model import StaticPooler


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def chunk_id(path: str, symbol: str, hash_: str, occurrence: int) -> str:
    """Deterministic from content: the same file in another checkout has the same ids."""
    key = f"{path}\0{symbol}\0{hash_}\0{occurrence}".encode("utf-8", "surrogateescape")
    return hashlib.blake2b(key, digest_size=16).hexdigest()


# The columns of a chunk row that differ between the chunks of one file; the rest (path,
# shard, language, content_hash, commit) are the file's.
VARYING = ("chunk_id", "kind", "symbol", "start_line", "end_line", "text", "text_hash",
           "keywords", "part_start", "part_end")
# The key of ``chunk_columns``'s answer that holds the file's symbols columns
# (``semcode/ingest/symbols.py``), made in the same pass over the same tree.
SYMBOLS = "symbols"
# The key that holds the static tier's vectors of the file's chunks, when asked for: one
# float32 buffer, a row per chunk (semcode/index/parsed_vectors.py).
VECTORS = "vectors"


def chunk_columns(file: dict, text: str, chunker: Chunker, language: str | None = None,
                  pooler: "StaticPooler | None" = None) -> dict[str, list]:
    """The varying columns of one file's chunk rows, column by column (what crosses the
    parse sandbox's pipe: far cheaper to pickle than a dict per row), and under ``SYMBOLS``
    its symbols' columns. ``language``: how to cut it, when not by its own language
    (``""``: line windows only, no grammar, no symbols). ``pooler``: the chunks' static
    vectors too, under ``VECTORS``, from the ids the chunker counted with."""
    columns: dict[str, list] = {name: [] for name in VARYING}
    seen: Counter[tuple[str, str]] = Counter()
    cut_as = file["language"] if language is None else language
    parsed = chunker.parse(text, cut_as)
    for c in parsed.chunks:
        h = text_hash(embedding_text(c.symbol, c.text))
        seen[(c.symbol, h)] += 1
        for name, value in zip(VARYING, (
                chunk_id(file["path"], c.symbol, h, seen[(c.symbol, h)] - 1), c.kind,
                c.symbol, c.start_line, c.end_line, c.text, h,
                keywords(f"{c.symbol}\n{c.text}"), c.part_of[0], c.part_of[1]), strict=True):
            columns[name].append(value)
    columns[SYMBOLS] = symbol_columns(file, parsed, columns["chunk_id"], cut_as)  # type: ignore[assignment]
    if pooler is not None and parsed.token_ids is not None:
        chunks = parsed.chunks
        vectors = pooler.vectors([parsed.token_ids(c) for c in chunks],
                                 lambda i: embedding_text(chunks[i].symbol, chunks[i].text))
        columns[VECTORS] = vectors.tobytes()  # type: ignore[assignment]
    return columns


def as_rows(file: dict, columns: dict[str, list], commit: str) -> list[dict]:
    """Whole chunk rows (a dict each) from a file and its varying columns."""
    own = {"path": file["path"], "shard": file["shard"], "language": file["language"],
           "content_hash": file["content_hash"], "commit": commit}
    return [{**own, **dict(zip(VARYING, values, strict=True))}
            for values in zip(*(columns[name] for name in VARYING), strict=True)]


def chunk_rows(file: dict, text: str, chunker: Chunker, commit: str,
               language: str | None = None) -> list[dict]:
    """The rows of one file's chunks."""
    return as_rows(file, chunk_columns(file, text, chunker, language), commit)
