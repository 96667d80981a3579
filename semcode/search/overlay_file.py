"""The overlay as it is kept between searches: one Arrow file in the checkout's git directory,
written whole and renamed into place (a reader sees the old file or the new one), with what
it covers in the file's metadata. Its consistency rule is checked on every read; a file that
fails it is rebuilt, never trusted."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semcode.ingest.worktree import INDEXED, PENDING, PathState
from semcode.search.overlay_view import ROW_COLUMNS
from semcode.store.tables import CHUNKS_SCHEMA

VERSION = 2  # bump when the file's layout changes: older files are rebuilt


@dataclass(frozen=True)
class Base:
    """What the overlay needs of the index: its commit, model, width and rules."""

    uri: str
    commit: str
    model: str
    dim: int
    shards: int
    max_file_bytes: int


@dataclass(frozen=True)
class Saved:
    """An overlay as written: for ``base`` at ``head``, its paths and its rows."""

    base: Base
    head: str | None
    committed: frozenset[str]
    ahead: int
    behind: int
    files: dict[str, PathState]
    rows: pa.Table  # ROW_COLUMNS and vector: null only in a pending file's rows not embedded yet


def row_schema(dim: int) -> pa.Schema:
    return pa.schema([*(CHUNKS_SCHEMA.field(name) for name in ROW_COLUMNS),
                      pa.field("vector", pa.list_(pa.float32(), dim))])


def write_overlay(file: Path, saved: Saved) -> None:
    """``saved`` into ``file``: written beside it, then renamed over it."""
    meta = {"version": VERSION, "base": vars(saved.base), "head": saved.head,
            "committed": sorted(saved.committed), "ahead": saved.ahead,
            "behind": saved.behind,
            "files": {p: [s.signature, s.content_hash, s.status, s.reason]
                      for p, s in saved.files.items()}}
    table = saved.rows.replace_schema_metadata({"semcode": json.dumps(meta)})
    part = file.with_name(f".{file.name}.{os.getpid()}.part")
    try:
        with pa.OSFile(str(part), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
            out.write_table(table)
        os.replace(part, file)
    finally:
        part.unlink(missing_ok=True)


def read_overlay(file: Path) -> Saved | None:
    """An overlay file, or None when it cannot be read or breaks the consistency rule (it
    is then rebuilt, never trusted)."""
    try:
        with pa.memory_map(str(file)) as source:
            table = pa.ipc.open_file(source).read_all()
        meta = json.loads((table.schema.metadata or {})[b"semcode"])
        if meta.get("version") != VERSION:
            return None
        base = Base(**meta["base"])
        files = {p: PathState(tuple(sig) if sig is not None else None, h, status, reason)
                 for p, (sig, h, status, reason) in meta["files"].items()}
        saved = Saved(base=base, head=meta["head"], committed=frozenset(meta["committed"]),
                      ahead=meta["ahead"], behind=meta["behind"], files=files,
                      rows=table.replace_schema_metadata(None))
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
    return saved if consistent(saved) else None


def consistent(saved: Saved) -> bool:
    """The overlay's own rule: its chunks == its vectors (each chunk of an indexed file one
    finite vector of the base's width, no id twice), the files it indexed are files its chunks
    are of, and only a pending file's chunks may wait for their vector."""
    rows = saved.rows
    if rows.schema != row_schema(saved.base.dim):
        return False
    ids = rows.column("chunk_id")
    vectors = rows.column("vector").combine_chunks()
    if pc.count_distinct(ids).as_py() != rows.num_rows or \
            not np.isfinite(vectors.drop_null().flatten().to_numpy(zero_copy_only=False)).all():
        return False
    indexed = {p for p, s in saved.files.items() if s.status == INDEXED}
    pending = {p for p, s in saved.files.items() if s.status == PENDING}
    paths = set(rows.column("path").to_pylist())
    waiting = set(rows.column("path").filter(vectors.is_null()).to_pylist())
    return indexed <= paths <= indexed | pending and not waiting & indexed
