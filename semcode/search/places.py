"""A place in the code as a vector: the chunk at ``path:line``, or a whole file's mean.

What "find code like this" starts from (``Searcher.similar``, ``semcode similar``, MCP's
``find_similar``): a path the checkout changed is read from its overlay, at its current lines;
any other from the index's chunks and vectors.
"""

import numpy as np

from semcode.errors import NotIndexed, QueryError
from semcode.ingest.discovery import INDEXED
from semcode.search.overlay_view import OverlayView
from semcode.store.tables import Store, sql_in, sql_str

MAX_LINE = 2**31 - 1  # lines are stored as int32


def vector_at(store: Store, view: OverlayView, path: str,
              line: int | None = None) -> tuple[np.ndarray, list[str]]:
    """The unit vector of the chunk at ``path:line`` (the mean of the file's, without a line)
    and the ids of the chunks it stands for."""
    if line is not None and not 1 <= line <= MAX_LINE:
        raise QueryError(f"line {line} is not a line of a file: give 1 to {MAX_LINE:,}")
    at = f"{path}:{line}" if line is not None else path
    if path in view.hidden:
        vectors, ids = view.place(path, line)
        if not ids:
            status, why = view.files.get(path, ("", ""))
            raise NotIndexed(f"no chunk at {at} in the working tree" +
                             (f" ({why})" if status != INDEXED and why else ""))
    else:
        scope = f"path = {sql_str(path)}"
        if line is not None:
            scope += f" AND start_line <= {int(line)} AND end_line >= {int(line)}"
        ids = store.scan("chunks", ["chunk_id"], scope).column("chunk_id").to_pylist()
        if not ids:
            raise NotIndexed(f"no indexed chunk at {at} — is the path relative to the "
                             "repository and indexed?")
        own = store.scan("vectors", ["vector"], sql_in("chunk_id", ids))
        vectors = np.stack(own.column("vector").to_numpy(zero_copy_only=False))
    vector = np.mean(vectors, 0)
    return vector / (np.linalg.norm(vector) or 1.0), ids
