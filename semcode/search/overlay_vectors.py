"""The overlay's vectors, within a search's budget.

A search must not wait for the working tree: one untracked 1 MB file of small functions is
~10,000 texts, minutes of a CPU encoder. So the overlay embeds to a deadline: each text a
vector already known answers from it (the overlay's own, or the index's by text hash), the
rest are encoded shortest first in batches while time is left, and what is not reached keeps
a null vector. A file some of whose chunks still wait is *pending*: its rows are kept (a
later search continues from them, never embedding a text twice), the index's chunks answer
for its path meanwhile, and the search says so.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semcode.embed.embedding import TextEncoder, embedding_text
from semcode.store.tables import Store, sql_in

ID_BATCH = 2000
ENCODE_BATCH = 64  # texts encoded between two looks at the clock


@dataclass
class Filled:
    """Rows with the vectors found or made; ``embedded``: texts encoded this time."""

    rows: pa.Table
    embedded: int


def fill_vectors(rows: pa.Table, dim: int, known_rows: pa.Table, store: Store,
                 encoder: Callable[[], TextEncoder] | None, deadline: float) -> Filled:
    """``rows`` (ROW_COLUMNS and a ``vector`` column, null where none yet) with every null
    vector filled that can be: from ``known_rows`` or the index by text hash, then encoded
    (each distinct text once, shortest first) until ``deadline`` (``time.monotonic()``),
    one batch at least."""
    vectors = rows.column("vector").combine_chunks()
    hashes = rows.column("text_hash").to_pylist()
    wanted = {h for h, v in zip(hashes, vectors.is_null().to_pylist(), strict=True) if v}
    if not wanted:
        return Filled(rows, 0)
    known = vectors_by_hash(known_rows, wanted)
    missing = sorted(wanted - set(known))
    for start in range(0, len(missing), ID_BATCH):
        found = store.scan("vectors", ["text_hash", "vector"],
                           sql_in("text_hash", missing[start:start + ID_BATCH]))
        known.update(vectors_by_hash(found, set(missing)))
    todo = [h for h in dict.fromkeys(h for h in hashes if h in wanted) if h not in known]
    embedded = 0
    if todo:
        if encoder is None:
            raise ValueError("this overlay was opened to survey, not to embed")
        symbols, texts = rows.column("symbol").to_pylist(), rows.column("text").to_pylist()
        first = {h: i for i, h in reversed(list(enumerate(hashes)))}
        inputs = {h: embedding_text(symbols[first[h]], texts[first[h]]) for h in todo}
        todo.sort(key=lambda h: len(inputs[h]))  # shortest first: the most files finished
        model = encoder()
        for start in range(0, len(todo), ENCODE_BATCH):
            if start and time.monotonic() >= deadline:
                break
            batch = todo[start:start + ENCODE_BATCH]
            encoded = np.asarray(model.encode([inputs[h] for h in batch]), dtype=np.float32)
            known.update(zip(batch, encoded, strict=True))
            embedded += len(batch)
    return Filled(_with_vectors(rows, hashes, known, dim), embedded)


def _with_vectors(rows: pa.Table, hashes: list[str], known: dict[str, np.ndarray],
                  dim: int) -> pa.Table:
    old = rows.column("vector").combine_chunks()
    flat = np.zeros((len(hashes), dim), dtype=np.float32)
    valid = np.zeros(len(hashes), dtype=bool)
    if len(old) and old.null_count < len(old):
        present = ~np.asarray(old.is_null().to_numpy(zero_copy_only=False))
        values = old.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)
        flat[present] = values
        valid |= present
    for i, h in enumerate(hashes):
        if not valid[i] and h in known:
            flat[i], valid[i] = known[h], True
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1), pa.float32()), dim,
                                                mask=pa.array(~valid))
    index = rows.schema.get_field_index("vector")
    return rows.set_column(index, rows.schema.field("vector"), vectors)


def vectors_by_hash(rows: pa.Table, wanted: set[str]) -> dict[str, np.ndarray]:
    """The non-null vectors of ``rows`` (text_hash, vector) whose hash is in ``wanted``."""
    if not rows.num_rows:
        return {}
    rows = rows.filter(pc.and_(pc.is_in(rows.column("text_hash"),
                                        value_set=pa.array(sorted(wanted), pa.string())),
                               pc.is_valid(rows.column("vector"))))
    if not rows.num_rows:
        return {}
    vectors = rows.column("vector").combine_chunks()
    flat = vectors.flatten().to_numpy(zero_copy_only=False).reshape(len(vectors), -1)
    return dict(zip(rows.column("text_hash").to_pylist(), flat, strict=True))


def waiting_by_path(rows: pa.Table) -> dict[str, tuple[int, int]]:
    """path → (chunks embedded, chunks) for every path some of whose chunks wait."""
    null = rows.column("vector").combine_chunks().is_null()
    paths = rows.column("path").to_pylist()
    counts: dict[str, list[int]] = {}
    for path, waits in zip(paths, null.to_pylist(), strict=True):
        done_total = counts.setdefault(path, [0, 0])
        done_total[0] += not waits
        done_total[1] += 1
    return {p: (d, t) for p, (d, t) in counts.items() if d < t}
