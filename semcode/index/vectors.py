"""Keeping ``vectors`` equal to ``chunks``: embed only chunks without a vector, reuse a vector
whenever the same text was embedded before by the same model, delete vectors whose chunk is
gone, repair duplicates, and never mix two models' vectors — nor drop the old ones before the
new model's are complete."""

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.table import Table

from semcode import progress
from semcode.embed.embedding import TextEncoder, embedding_text
from semcode.idsets import duplicated, surplus
from semcode.index.ahead import EmbedAhead
from semcode.index.parsed_vectors import ParsedVectors
from semcode.reports import VectorReport
from semcode.store import proof, search_indexes
from semcode.store.tables import Store, sql_in, sql_str, vector_rows, vectors_schema

# Chunk rows gathered, to start with, before their texts are encoded, sorted by length across
# the window: a batch pads its texts to its longest, so the more texts a sort spans, the less
# padding (flask's 2,922 texts: +3.3% tokens in windows of 512, +0.9% now; BENCHMARKS.md).
WINDOW = 4096
CALL = 512  # texts per encode call, to start with: progress is told after each
MAX_WINDOW = 16384  # a call and the window grow while a call takes under a second
STREAM_BATCH = 16384  # chunk rows read at a time
WRITE_ROWS, WRITE_SECONDS = 131_072, 30.0  # vector rows per write, or a write this often
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


def _dedupe(store: Store, name: str, ids: pa.Array) -> int:
    """Repair: keep one row of every chunk id stored more than once (two writers inserting
    the same new ids at once); ``ids`` are the table's. Returns the number of surplus rows
    removed."""
    doubled = sorted(duplicated(ids).to_pylist())
    for batch in _batches(doubled):
        rows = store.scan(name, VECTOR_COLUMNS, sql_in("chunk_id", batch)).to_pylist()
        keep = list({r["chunk_id"]: r for r in rows}.values())
        store.replace_rows(name, sql_in("chunk_id", batch), keep)
    extra = surplus(ids) if doubled else 0
    if extra:
        progress.say(f"{name}: removed {extra} duplicate vector row(s)")
    return extra


def embedded_hashes(store: Store, model_id: str, dim: int) -> pa.Array:
    """The text hashes that already have a vector of this model where the next
    ``update_vectors`` writes (``vectors``, or ``vectors_next`` during a model switch)."""
    name = NEXT if _other_model(store, model_id, dim) else VECTORS
    if not store.has(name) or store.table(name).schema.field("vector").type.list_size != dim:
        return pa.array([], pa.string())
    hashes = store.scan(name, ["text_hash"], f"model = {sql_str(model_id)}").column("text_hash")
    return pc.unique(hashes.combine_chunks())


def update_vectors(store: Store, embedder: TextEncoder, window: int = WINDOW,
                   ahead: EmbedAhead | None = None,
                   parsed: ParsedVectors | None = None) -> VectorReport:
    """Bring the vectors level with ``chunks``, whatever state they are found in. Memory is
    a few bytes per chunk (ids in Arrow) plus one window of texts: texts are streamed.
    ``ahead``: vectors of this encoder made while the shards parsed, taken by text hash
    for the texts this plan embeds (semcode/index/ahead.py); ``parsed``: the static tier's
    vectors the parse made, taken by chunk id (semcode/index/parsed_vectors.py)."""
    started = time.perf_counter()
    dim = embedder.dim
    result = VectorReport(model=embedder.model_id, dim=dim)
    name = _target(store, embedder.model_id, dim)
    table = store.table(name, vectors_schema(dim))
    duplicates = 0
    since = proof.changes_since(store, embedder.model_id, dim) if name == VECTORS else None
    if since is not None:  # from the last proof: what the chunks gained and lost since
        missing, orphans = since
        known = _known_hashes(store, name, pc.unique(missing.column("text_hash")))
        total_chunks = store.count("chunks")
    else:  # both tables compared in full, whatever state they are in
        have = store.scan(name, ["chunk_id", "text_hash"])
        duplicates = _dedupe(store, name, have.column("chunk_id").combine_chunks())
        if duplicates:
            have = store.scan(name, ["chunk_id", "text_hash"])
        chunks = store.scan("chunks", ["chunk_id", "text_hash"])
        missing = chunks.filter(_not_in(chunks.column("chunk_id"), have.column("chunk_id")))
        orphans = have.column("chunk_id").filter(
            _not_in(have.column("chunk_id"), chunks.column("chunk_id")))
        known, total_chunks = have.column("text_hash"), chunks.num_rows
    # One chunk of each text that has no vector yet is encoded; every other missing chunk
    # then copies the vector of its text, found by hash: no text is ever encoded twice.
    new = missing.filter(_not_in(missing.column("text_hash"), known))
    firsts = new.group_by("text_hash").aggregate([("chunk_id", "min")]).column("chunk_id_min")
    if ahead is not None and ahead.encoder is not embedder:
        ahead.discard()  # another model's vectors: never taken
        ahead = None
    firsts = firsts.combine_chunks()
    to_encode = firsts
    if parsed is not None:
        result.embedded_in_parse, to_encode = _take_parsed(store, table, parsed, embedder,
                                                           firsts)
    result.embedded, result.encode_seconds, result.embedded_ahead, result.embed_seconds = \
        _embed_missing(store, table, embedder, to_encode, total_chunks, window, ahead)
    result.embedded += result.embedded_in_parse
    result.embedded_ahead += result.embedded_in_parse
    if ahead is not None:
        result.encode_seconds += ahead.encode_seconds
        ahead.discard()  # what it encoded that this plan did not want
    if result.embedded:  # what encoded them (a fake encoder in tests says nothing)
        result.backend = str(getattr(embedder, "runs_on", ""))
    copies = missing.filter(_not_in(missing.column("chunk_id"), firsts))
    _copy_reused(store, name, table, copies, embedder.model_id, dim)
    result.reused = copies.num_rows
    for batch in _batches(orphans.to_pylist()):
        store.delete(name, sql_in("chunk_id", batch))
    result.deleted = len(orphans)
    if name == NEXT:  # complete: the new model's vectors replace the old in one commit
        result.deleted += store.count(VECTORS)
        store.replace_table(VECTORS, NEXT)
        store.drop(NEXT)
    if duplicates:
        result.repaired = {"duplicate_vectors": duplicates}
    search_indexes.refresh(store)
    result.total = store.count(VECTORS)
    result.seconds = round(time.perf_counter() - started, 3)
    result.encode_seconds = round(result.encode_seconds, 3)
    result.embed_seconds = round(result.embed_seconds, 3)
    return result


def _known_hashes(store: Store, name: str, hashes: pa.Array) -> pa.Array:
    """Those of ``hashes`` that some vector of ``name`` already has: a few looked up, many
    found in one scan of the column."""
    if not len(hashes):
        return pa.array([], pa.string())
    where = sql_in("text_hash", hashes.to_pylist()) if len(hashes) <= ID_BATCH else None
    return store.scan(name, ["text_hash"], where).column("text_hash").combine_chunks()


def _not_in(values: pa.ChunkedArray | pa.Array, others: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A mask: which ``values`` are not among ``others``."""
    return pc.invert(pc.is_in(values, value_set=others.combine_chunks()
                              if isinstance(others, pa.ChunkedArray) else others))


ROW_COLUMNS = ["chunk_id", "text_hash", "path", "language", "kind"]


def _copy_reused(store: Store, name: str, table: Table, copies: pa.Table, model_id: str,
                 dim: int) -> None:
    """Vectors for ``copies`` (chunk_id, text_hash) from rows of the same text."""
    hashes = pc.unique(copies.column("text_hash")).to_pylist()
    for batch in _batches(hashes):
        found = store.scan(name, ["text_hash", "vector"], sql_in("text_hash", batch))
        found = found.take(_first_of_each(found.column("text_hash")))
        ids = copies.column("chunk_id").filter(pc.is_in(copies.column("text_hash"),
                                                        value_set=pa.array(batch)))
        rows = store.scan("chunks", ROW_COLUMNS, sql_in("chunk_id", ids.to_pylist()))
        at = pc.index_in(rows.column("text_hash").combine_chunks(),
                         value_set=found.column("text_hash").combine_chunks())
        vectors = found.column("vector").combine_chunks().take(at)
        data = vector_rows(rows, model_id, vectors.flatten().to_numpy(), dim)
        store.commit(partial(table.add, data), attempts=1)


def _first_of_each(values: pa.ChunkedArray) -> pa.Array:
    """Indices of the first row of each distinct value."""
    table = pa.table({"v": values, "i": pa.array(range(len(values)), pa.int64())})
    return table.group_by("v").aggregate([("i", "min")]).column("i_min")


def _take_parsed(store: Store, table: Table, parsed: ParsedVectors, embedder: TextEncoder,
                 firsts: pa.Array) -> tuple[int, pa.Array]:
    """Write the vectors the parse made for chunks of ``firsts`` (same model, same size);
    returns how many, and the chunks of ``firsts`` still to encode."""
    if parsed.model_id != embedder.model_id or not len(firsts):
        return 0, firsts
    taken: list[pa.Array] = []
    with _Writes(store, table) as writes:
        for rows in parsed.take(firsts, embedder.dim):
            writes.add(rows)
            taken.append(rows.column("chunk_id").combine_chunks())
            progress.report("embed", sum(len(t) for t in taken), len(firsts))
    if not taken:
        return 0, firsts
    done = pa.concat_arrays(taken)
    return len(done), firsts.filter(_not_in(firsts, done))


def _embed_missing(store: Store, table: Table, embedder: TextEncoder, firsts: pa.Array,
                   total_chunks: int, window: int,
                   ahead: EmbedAhead | None) -> tuple[int, float, int, float]:
    """Stream the chunks, encode the texts of ``firsts`` (one chunk per distinct text) —
    or take their vectors from ``ahead`` — and write while the next window encodes. A
    window's texts are encoded sorted by length, in calls that grow while one takes under a
    second (a static model wants thousands of texts a call, a transformer hundreds); the
    window grows with them. Returns the number of texts embedded, the seconds spent
    encoding here, how many vectors came from ``ahead``, and the seconds this step spent
    embedding (its encodes and its waits for ``ahead``)."""
    total = len(firsts)
    if not total:
        return 0, 0.0, 0, 0.0
    encode_seconds, done, taken, wall, call = 0.0, 0, 0, 0.0, min(CALL, window)
    progress.report("embed", 0, total)
    everything = total == total_chunks  # a first index: no filter needed
    pending: list[pa.Table] = []
    with _Writes(store, table) as writes:

        def flush() -> None:
            nonlocal encode_seconds, done, window, call, taken, wall
            rows = pa.concat_tables(pending)
            pending.clear()
            t0 = time.perf_counter()
            vectors, ahead_count, encoding, call = _encode_rows(
                rows, embedder, ahead, call, lambda n: progress.report("embed", done + n, total))
            wall += time.perf_counter() - t0  # a wait for ``ahead`` included
            encode_seconds += encoding  # the encoder's, for the rate
            taken += ahead_count
            window = max(window, call)
            writes.add(vector_rows(rows, embedder.model_id, vectors, embedder.dim))
            done += rows.num_rows
            progress.report("embed", done, total)

        held = 0
        for batch in _texts(store, firsts, everything):
            rows = pa.Table.from_batches([batch])
            if not everything:
                rows = rows.filter(pc.is_in(rows.column("chunk_id"), value_set=firsts))
            start = 0
            while start < rows.num_rows:  # the window may grow with each flush
                part = rows.slice(start, window - held)
                pending.append(part)
                held += part.num_rows
                start += part.num_rows
                if held >= window:
                    flush()
                    held = 0
        if pending:
            flush()
    return done, encode_seconds, taken, wall


def _encode_rows(rows: pa.Table, embedder: TextEncoder, ahead: EmbedAhead | None,
                 call: int, told: Callable[[int], None]) -> tuple[np.ndarray, int, float, int]:
    """The vectors of chunk ``rows`` (symbol, text, text_hash): those ``ahead`` made, the
    rest encoded now, sorted by length, ``call`` texts an encode call (doubled while a call
    takes under a second), ``told`` how many rows are done after each. Returns the vectors
    in row order, how many came from ``ahead``, the seconds spent encoding, and the call
    size reached."""
    hashes = rows.column("text_hash").to_pylist()
    made = ahead.take(hashes) if ahead is not None else {}
    todo = [i for i, h in enumerate(hashes) if h not in made]
    symbols, bodies = rows.column("symbol").to_pylist(), rows.column("text").to_pylist()
    texts = [embedding_text(symbols[i], bodies[i]) for i in todo]
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
    encoded = np.zeros((len(texts), embedder.dim), np.float32)
    seconds, start = 0.0, 0
    while start < len(order):
        part = order[start:start + call]
        started = time.perf_counter()
        encoded[part] = embedder.encode([texts[k] for k in part])
        took = time.perf_counter() - started
        seconds, start = seconds + took, start + len(part)
        told(len(made) + start)
        if took < 1.0:
            call = min(call * 2, MAX_WINDOW)
    if not made:
        return encoded, 0, seconds, call
    vectors = np.empty((len(hashes), embedder.dim), np.float32)
    if todo:
        vectors[todo] = encoded
    for i, text_hash in enumerate(hashes):
        if text_hash in made:
            vectors[i] = made[text_hash]
    return vectors, len(made), seconds, call


def _texts(store: Store, firsts: pa.Array, everything: bool) -> Iterator[pa.RecordBatch]:
    """The rows of ``firsts`` with their texts: a few are looked up by id (the chunk id
    index answers), many are streamed from the whole table."""
    columns = [*ROW_COLUMNS, "symbol", "text"]
    if everything or len(firsts) > ID_BATCH:
        yield from store.stream("chunks", columns, batch_size=STREAM_BATCH)
        return
    yield from store.scan("chunks", columns, sql_in("chunk_id", firsts.to_pylist())).to_batches()


class _Writes:
    """Vector rows appended by a background thread, gathered into large writes: at least
    ``rows`` rows, or whatever ``seconds`` brought (a slow model still saves its work
    often). Few large fragments keep the table from needing a compaction."""

    def __init__(self, store: Store, table: Table, rows: int = WRITE_ROWS,
                 seconds: float = WRITE_SECONDS):
        self.store, self.table, self.rows, self.seconds = store, table, rows, seconds
        self.held: list[pa.Table] = []
        self.since = time.monotonic()
        self.pool = ThreadPoolExecutor(1)
        self.futures: list[Future] = []

    def add(self, rows: pa.Table) -> None:
        self.held.append(rows)
        if sum(t.num_rows for t in self.held) >= self.rows or \
                time.monotonic() - self.since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if self.held:
            add = partial(self.table.add, pa.concat_tables(self.held))
            self.futures.append(self.pool.submit(self.store.commit, add, 1))
            self.held = []
        self.since = time.monotonic()

    def __enter__(self) -> "_Writes":
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.flush()
            for future in self.futures:
                future.result()
        finally:
            self.pool.shutdown()
