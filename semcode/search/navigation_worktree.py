"""The working tree's side of navigation: the paths a checkout's overlay holds, and the
symbols of the files it indexed, read from the checkout (``semcode/search/navigation.py``
puts them in place of the index's)."""

import hashlib
import threading
from collections.abc import Callable
from typing import cast

import pyarrow as pa

from semcode.ingest import beneath
from semcode.ingest.languages import language_of
from semcode.ingest.rows import SYMBOLS
from semcode.ingest.sandbox import sandboxed_chunker
from semcode.search.navigation import WorktreeSymbols
from semcode.search.overlay import Overlay
from semcode.search.overlay_view import OverlayView
from semcode.store.tables import SYMBOLS_SCHEMA


def worktree_symbols(overlay: Overlay, view: Callable[[list[str]], OverlayView],
                     ) -> WorktreeSymbols:
    """The working tree's side for a ``Navigator``: the paths the overlay holds, and the
    symbols of those it indexed, read from the checkout with the index's chunker (the same
    chunk ids as the overlay's rows), each content parsed once."""
    cache: dict[str, pa.Table] = {}
    lock = threading.Lock()

    def symbols(warnings: list[str]) -> tuple[frozenset[str], pa.Table]:
        seen = view(warnings)
        if seen.empty:
            return frozenset(), EMPTY
        chunker = sandboxed_chunker(overlay.model, 0, overlay.parse_timeout)
        tables = []
        for path in seen.indexed_paths():
            try:
                data = beneath.read_bytes(overlay.checkout.top, path)
            except OSError:
                continue  # gone since the overlay looked: the next question sees it
            key = hashlib.blake2b(path.encode("utf-8", "surrogateescape") + b"\0" + data,
                                  digest_size=16).hexdigest()
            with lock:
                table = cache.get(key)
            if table is None:
                file = {"path": path, "shard": 0, "language": language_of(path),
                        "content_hash": hashlib.sha256(data).hexdigest()}
                try:
                    columns, _ = chunker.columns(file, data.decode("utf-8", "replace"))
                except ValueError:
                    continue  # the overlay skipped it too
                found = cast(dict[str, list], columns[SYMBOLS])
                own = {name: [file[name]] * len(found["role"])
                       for name in ("path", "shard", "language", "content_hash")}
                table = pa.Table.from_pydict({**found, **own}, schema=SYMBOLS_SCHEMA)
                with lock:
                    if len(cache) > 4096:
                        cache.clear()
                    cache[key] = table
            tables.append(table)
        return seen.hidden, pa.concat_tables([EMPTY, *tables])

    return symbols


EMPTY = SYMBOLS_SCHEMA.empty_table()
