"""Embedding while the shards still parse: the overlap of the two stages, without changing
what is committed or what the checks prove.

``code_vectors`` depends on every ``code_chunks`` partition, and that ordering stays the
contract for what is *committed and checked*: vectors are written, orphans deleted and the
store proven only after all shards are in. What may overlap is work. When both steps run in
one process (``semcode index``, Dagster's in-process executor), the chunks step hands each
shard, as soon as it is committed, to an ``EmbedAhead``: a thread that reads the shard's new
texts from the store and encodes them with the same encoder the vectors step will use. The
vectors step then takes those vectors by text hash instead of encoding the texts again —
its own plan (which chunks lack a vector, which reuse one) is made from the store as before,
so a text the thread never reached, or one it encoded that the plan no longer wants, changes
nothing but the time. Nothing is written by the thread; vectors it holds are in memory only,
at most ``LIMIT`` of them.
"""

import threading
import time
from collections import deque

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semcode.embed.backends import cores
from semcode.embed.embedding import TextEncoder, embedding_text
from semcode.index.handover import Handover
from semcode.store.tables import Store

FORCED: bool | None = None  # a bench's switch: always (True), never (False), or by cores
LIMIT = 65_536  # texts held ahead (vectors and texts waiting): ~100 MB at 384 dimensions
BATCH = 256  # texts per encode call: sorted by length inside, small enough to hand over soon


class EmbedAhead:
    """Encodes the new texts of shards as they are committed, for the vectors step to take.
    ``known``: the text hashes that already have a vector of this encoder's model (never
    encoded ahead). Every method is safe from any thread; a failure in the thread is kept
    and only means the vectors step encodes those texts itself."""

    def __init__(self, store: Store, encoder: TextEncoder, known: pa.Array,
                 limit: int = LIMIT):
        self.store, self.encoder, self.limit = store, encoder, limit
        self.known = known  # text hashes with a vector in the store
        self.seen: set[str] = set()  # queued or encoded here: each text encoded once
        self.shards: deque[int] = deque()
        self.waiting: deque[tuple[str, str]] = deque()  # (text_hash, embedding text)
        self.vectors: dict[str, np.ndarray] = {}
        self.pending: set[str] = set()  # queued or being encoded
        self.closed = self.reading = self.dropped = False
        self.error: BaseException | None = None
        self.encoded, self.encode_seconds = 0, 0.0  # by this thread
        self.lock = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="semcode-embed-ahead",
                                       daemon=True)
        self.thread.start()

    # -- the chunks step ---------------------------------------------------------------------
    def add_shard(self, shard: int) -> None:
        """The shard ``shard`` is committed: its new texts may be encoded."""
        with self.lock:
            if not self.closed:
                self.shards.append(shard)
                self.lock.notify_all()

    def close(self) -> None:
        """No more shards; the thread finishes what it has and stops."""
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def discard(self) -> None:
        """Stop at once and let go of everything held (a run that will not embed)."""
        with self.lock:
            self.closed = self.dropped = True
            self.shards.clear()
            self.waiting.clear()
            self.pending.clear()
            self.vectors.clear()
            self.lock.notify_all()

    # -- the vectors step --------------------------------------------------------------------
    def take(self, hashes: list[str]) -> dict[str, np.ndarray]:
        """The vectors of those ``hashes`` that were or are being encoded ahead — waiting for
        the ones still in the thread's hands — removed from memory as they are taken."""
        with self.lock:
            self.lock.wait_for(lambda: self.thread_done() or (
                not self.shards and not self.reading and not self.pending.intersection(hashes)))
            return {h: self.vectors.pop(h) for h in hashes if h in self.vectors}

    def thread_done(self) -> bool:
        return not self.thread.is_alive()

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while (work := self._next()) is not None:
                if isinstance(work, int):
                    try:
                        self._read(work)
                    finally:
                        with self.lock:
                            self.reading = False
                            self.lock.notify_all()
                else:
                    self._encode(work)
        except BaseException as exc:  # noqa: BLE001 — kept: the vectors step encodes instead
            self.error = exc
        finally:
            with self.lock:
                self.pending.clear()
                self.lock.notify_all()

    def _next(self) -> int | list[tuple[str, str]] | None:
        with self.lock:
            while True:
                # while shards parse, encode what was read before reading more; once closed,
                # read every shard left first, so that ``take`` knows what is coming
                if self.shards and (self.closed or not self.waiting):
                    self.reading = True
                    return self.shards.popleft()
                if self.waiting:
                    return [self.waiting.popleft()
                            for _ in range(min(BATCH, len(self.waiting)))]
                if self.closed:
                    return None
                self.lock.wait()

    def _full(self) -> bool:
        return len(self.vectors) + len(self.pending) >= self.limit

    def _read(self, shard: int) -> None:
        with self.lock:
            if self._full():
                return  # the rest is the vectors step's to encode
        rows = self.store.scan("chunks", ["text_hash", "symbol", "text"],
                               f"shard = {int(shard)}")
        rows = rows.filter(pc.invert(pc.is_in(rows.column("text_hash"),
                                              value_set=self.known)))
        texts = [(h, embedding_text(s, t)) for h, s, t in zip(
            rows.column("text_hash").to_pylist(), rows.column("symbol").to_pylist(),
            rows.column("text").to_pylist(), strict=True)]
        with self.lock:
            for text_hash, text in texts:
                if text_hash in self.seen or self.dropped:
                    continue
                if self._full():
                    break
                self.seen.add(text_hash)
                self.pending.add(text_hash)
                self.waiting.append((text_hash, text))

    def _encode(self, batch: list[tuple[str, str]]) -> None:
        started = time.perf_counter()
        vectors = self.encoder.encode([text for _, text in batch])
        with self.lock:
            self.encode_seconds += time.perf_counter() - started
            for (text_hash, _), vector in zip(batch, vectors, strict=True):
                if text_hash in self.pending:  # not discarded meanwhile
                    self.vectors[text_hash] = vector
                    self.pending.discard(text_hash)
            self.encoded += len(batch)
            self.lock.notify_all()


_runs: Handover[EmbedAhead] = Handover()  # the run whose chunks step started one


def worth_it(parse_workers: int) -> bool:
    """Whether embedding during the parse can gain anything here: only with cores the parse
    leaves free. Where the parse's processes fill every core (2 cores, 2 workers), the
    encoder's time hidden is the parse's time lost — measured on the 2-core AVX-512 machine
    (flask, ABBA): no gain, 1-4 s worse (BENCHMARKS.md; ``bench/overlap.py``)."""
    return cores() > parse_workers if FORCED is None else FORCED


def start(run: str, store: Store, encoder: TextEncoder, known: pa.Array) -> EmbedAhead:
    """An ``EmbedAhead`` for ``run``, for its vectors step to ``claim``."""
    return _runs.put(run, EmbedAhead(store, encoder, known))


def claim(run: str) -> EmbedAhead | None:
    """The ``EmbedAhead`` the chunks step of ``run`` started in this process, closed (no
    more shards); None when there is none (another process parsed, or too little changed)."""
    ahead = _runs.take(run)
    if ahead is not None:
        ahead.close()
    return ahead


def drop(run: str) -> None:
    """Let go of ``run``'s ``EmbedAhead`` (its chunks step failed)."""
    _runs.drop(run)
