"""Keeping ``vectors`` equal to ``chunks``: embed only chunks without a vector, reuse a vector
whenever the same text was embedded before by the same model, delete vectors whose chunk is
gone, repair duplicates, and never mix two models' vectors — nor drop the old ones before the
new model's are complete."""

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
from lancedb.table import Table

from semcode import progress
from semcode.embedding import TextEncoder, embedding_text
from semcode.idsets import duplicated, surplus
from semcode.reports import VectorReport
from semcode.store import Store, sql_in, sql_str, vectors_schema

WINDOW = 512  # texts per encode call: sorted by length inside, written while the next encodes
ID_BATCH = 2000  # ids per IN (…) filter
VECTORS, NEXT = "vectors", "vectors_next"
VECTOR_COLUMNS = ["chunk_id", "text_hash", "model", "path", "language", "kind", "vector"]


def _batches(items: list[str], size: int = ID_BATCH) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _other_model(store: Store, model_id: str, dim: int) -> bool:
    """``vectors`` holds vectors of another model or size: a new set must be built."""
    if not store.has(VECTORS):
        return False
    table = store.table(VECTORS)
    if table.schema.field("vector").type.list_size != dim:
        return True
    return table.count_rows(f"model != {sql_str(model_id)}") > 0


def _target(store: Store, model_id: str, dim: int) -> str:
    """Where this run writes: ``vectors``, or, on a model switch, ``vectors_next`` — built
    beside the old vectors (which stay searchable) and swapped in only when complete, so a
    failed switch never leaves an index without vectors."""
    if not _other_model(store, model_id, dim):
        store.drop(NEXT)
        return VECTORS
    if store.has(NEXT):
        next_table = store.table(NEXT)
        if (next_table.schema.field("vector").type.list_size != dim
                or next_table.count_rows(f"model != {sql_str(model_id)}")):
            store.drop(NEXT)  # a switch to yet another model was interrupted
    return NEXT


def _dedupe(store: Store, name: str) -> int:
    """Repair: keep one row of every chunk id stored more than once (two writers inserting
    the same new ids at once). Returns the number of surplus rows removed."""
    ids = store.scan(name, ["chunk_id"]).column("chunk_id").combine_chunks()
    doubled = sorted(duplicated(ids).to_pylist())
    for batch in _batches(doubled):
        rows = store.scan(name, VECTOR_COLUMNS, sql_in("chunk_id", batch)).to_pylist()
        keep = list({r["chunk_id"]: r for r in rows}.values())
        store.replace_rows(name, sql_in("chunk_id", batch), keep)
    extra = surplus(ids) if doubled else 0
    if extra:
        progress.say(f"{name}: removed {extra} duplicate vector row(s)")
    return extra


def update_vectors(store: Store, embedder: TextEncoder, window: int = WINDOW) -> VectorReport:
    """Bring the vectors level with ``chunks``, whatever state they are found in."""
    started = time.perf_counter()
    dim = embedder.dim
    result = VectorReport(model=embedder.model_id, dim=dim)
    name = _target(store, embedder.model_id, dim)
    table = store.table(name, vectors_schema(dim))
    duplicates = _dedupe(store, name)
    chunks = store.scan("chunks", ["chunk_id", "text_hash", "path", "language", "kind"])
    meta = {r["chunk_id"]: r for r in chunks.to_pylist()}
    have = store.scan(name, ["chunk_id", "text_hash"]).to_pylist()
    have_ids = {r["chunk_id"] for r in have}
    source_of = {r["text_hash"]: r["chunk_id"] for r in have}
    missing = [cid for cid in meta if cid not in have_ids]
    reuse = [cid for cid in missing if meta[cid]["text_hash"] in source_of]
    to_embed = [cid for cid in missing if meta[cid]["text_hash"] not in source_of]
    orphans = sorted(have_ids - meta.keys())

    def rows(ids: list[str], vectors: np.ndarray) -> pa.Table:
        return pa.Table.from_pydict({
            "chunk_id": ids,
            "text_hash": [meta[i]["text_hash"] for i in ids],
            "model": [embedder.model_id] * len(ids),
            "path": [meta[i]["path"] for i in ids],
            "language": [meta[i]["language"] for i in ids],
            "kind": [meta[i]["kind"] for i in ids],
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.reshape(-1), pa.float32()), dim),
        }, schema=vectors_schema(dim))

    _copy_reused(store, name, table, reuse, meta, source_of, rows)
    result.embedded, result.encode_seconds = _embed_missing(
        store, table, embedder, to_embed, meta, rows, window)
    result.reused = len(reuse) + len(to_embed) - result.embedded
    for batch in _batches(orphans):
        store.delete(name, sql_in("chunk_id", batch))
    result.deleted = len(orphans)
    if name == NEXT:  # complete: the new model's vectors replace the old in one commit
        result.deleted += store.count(VECTORS)
        store.replace_table(VECTORS, NEXT)
        store.drop(NEXT)
    if duplicates:
        result.repaired = {"duplicate_vectors": duplicates}
    progress.report("index", 0, 1)
    store.refresh_search_indexes()
    progress.report("index", 1, 1)
    result.total = store.count(VECTORS)
    result.seconds = round(time.perf_counter() - started, 3)
    result.encode_seconds = round(result.encode_seconds, 3)
    return result


RowBuilder = Callable[[list[str], np.ndarray], pa.Table]


def _copy_reused(store: Store, name: str, table: Table, reuse: list[str],
                 meta: dict[str, dict], source_of: dict[str, str], rows: RowBuilder) -> None:
    for batch in _batches(reuse):
        sources = sorted({source_of[meta[cid]["text_hash"]] for cid in batch})
        found = store.scan(name, ["text_hash", "vector"], sql_in("chunk_id", sources))
        by_hash = dict(zip(found.column("text_hash").to_pylist(),
                           found.column("vector").to_numpy(zero_copy_only=False), strict=True))
        vectors = np.stack([by_hash[meta[cid]["text_hash"]] for cid in batch])
        table.add(rows(batch, vectors.astype(np.float32)))


def _embed_missing(store: Store, table: Table, embedder: TextEncoder, to_embed: list[str],
                   meta: dict[str, dict], rows: RowBuilder, window: int) -> tuple[int, float]:
    """Stream chunk texts, encode each distinct text once, write while the next window
    encodes. Returns the number of texts encoded and the seconds spent encoding."""
    ids_by_hash: dict[str, list[str]] = {}
    for cid in to_embed:
        ids_by_hash.setdefault(meta[cid]["text_hash"], []).append(cid)
    if not ids_by_hash:
        return 0, 0.0
    encode_seconds, done, total = 0.0, 0, len(ids_by_hash)
    progress.report("embed", 0, total)
    pending_texts: dict[str, str] = {}
    with ThreadPoolExecutor(1) as writer:
        writes = []

        def flush() -> None:
            nonlocal encode_seconds, done
            hashes = list(pending_texts)
            t0 = time.perf_counter()
            vectors = embedder.encode([pending_texts[h] for h in hashes])
            encode_seconds += time.perf_counter() - t0
            ids = [cid for h in hashes for cid in ids_by_hash[h]]
            repeat = [len(ids_by_hash[h]) for h in hashes]
            writes.append(writer.submit(table.add, rows(ids, np.repeat(vectors, repeat, 0))))
            done += len(hashes)
            pending_texts.clear()
            progress.report("embed", done, total)

        seen: set[str] = set()
        for batch in store.stream("chunks", ["text_hash", "symbol", "text"]):
            for h, symbol, text in zip(*(batch.column(c).to_pylist()
                                         for c in ("text_hash", "symbol", "text")), strict=True):
                if h in ids_by_hash and h not in seen:
                    seen.add(h)
                    pending_texts[h] = embedding_text(symbol, text)
                    if len(pending_texts) >= window:
                        flush()
        if pending_texts:
            flush()
        for w in writes:
            w.result()
    return done, encode_seconds
