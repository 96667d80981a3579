"""Where each chunk of a large index lies, held in memory between queries: its row id by
chunk id, and the line spans of every file. Past ``RESIDENT_MAX_ROWS`` the index itself stays
on disk (``semcode/search/resident.py`` holds small ones whole), but a search still reads the
rows of its ~100 candidates by id and the spans of the files whose pieces it merges; through
LanceDB's id and path indexes each lookup costs 10-20 ms at the Linux ``drivers/`` size,
while a read by row id costs ~9 ms and spans from memory nothing. The map takes ~52 bytes a
chunk (75 MB, read in 1.5-2.1 s, for 1.43M chunks) and belongs to one version of ``chunks``:
rows read through it are checked against the ids asked for, so a write in between costs a
lookup, never a wrong row."""

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

MAP_MAX_ROWS = 20_000_000  # ~1 GB at most (~52 bytes a chunk)


class RowMap:
    """Chunk id → row id, and path → line spans, of one version of ``chunks``."""

    def __init__(self, version: int, table: pa.Table):
        """``table``: every row's ``chunk_id``, ``path``, ``start_line``, ``end_line`` and
        ``_rowid``."""
        self.version = version
        ids = table.column("chunk_id").to_numpy(zero_copy_only=False).astype(np.bytes_)
        order = np.argsort(ids)
        self.ids = ids[order]
        self.row_ids = table.column("_rowid").to_numpy()[order]
        paths = table.column("path").combine_chunks().dictionary_encode()
        codes = paths.indices.to_numpy()
        by_path = np.argsort(codes, kind="stable")
        self.starts = table.column("start_line").to_numpy()[by_path]
        self.ends = table.column("end_line").to_numpy()[by_path]
        bounds = np.searchsorted(codes[by_path], np.arange(len(paths.dictionary) + 1))
        self.files = {path: (int(bounds[i]), int(bounds[i + 1]))
                      for i, path in enumerate(paths.dictionary.to_pylist())}

    def row_ids_of(self, ids: Sequence[str]) -> dict[str, int]:
        """The row id of each of ``ids`` that the map holds."""
        if not ids or not len(self.ids):
            return {}
        raw = [cid.encode("utf-8", "surrogateescape") for cid in ids]
        wanted = np.array(raw, dtype=self.ids.dtype)  # cut to the map's width: checked below
        at = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        width = self.ids.dtype.itemsize
        return {cid: int(self.row_ids[i]) for cid, whole, i in zip(ids, raw, at, strict=True)
                if len(whole) <= width and self.ids[i] == whole}

    def spans(self, paths: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
        found = {}
        for path in paths:
            if (span := self.files.get(path)) is not None:
                low, high = span
                found[path] = list(zip(self.starts[low:high].tolist(),
                                       self.ends[low:high].tolist(), strict=True))
        return found
