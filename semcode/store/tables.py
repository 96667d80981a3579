"""The LanceDB store: ``files``, ``chunks``, ``symbols``, ``vectors`` and a small ``meta``
table.

Write rules, learned from how LanceDB behaves under concurrent writers:

* one writer at a time per store, on any store and across machines: the writer lease
  (``semcode/store/lease.py``), a conditional update of one row committed by LanceDB itself;
* each shard's change is ONE ``merge_insert`` whose delete side is scoped to that shard and
  those paths, so concurrent shards never delete each other's rows;
* commits that conflict with a concurrent writer are retried.
"""

import json
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.table import Table

from semcode.config import STORE_DIRNAME
from semcode.errors import (
    StoreError,
    StoreNotFound,
    as_commit_conflict,
    as_unreachable,
    first_line,
)
from semcode.reports import SnapshotReport, VectorReport

T = TypeVar("T")

FILES_SCHEMA = pa.schema([
    ("path", pa.string()), ("shard", pa.int32()), ("language", pa.string()),
    ("size", pa.int64()), ("content_hash", pa.string()), ("status", pa.string()),
    ("reason", pa.string()), ("commit", pa.string()),
])
CHUNKS_SCHEMA = pa.schema([
    ("chunk_id", pa.string()), ("path", pa.string()), ("shard", pa.int32()),
    ("language", pa.string()), ("kind", pa.string()), ("symbol", pa.string()),
    ("start_line", pa.int32()), ("end_line", pa.int32()), ("text", pa.string()),
    ("text_hash", pa.string()), ("keywords", pa.string()), ("content_hash", pa.string()),
    ("commit", pa.string()), ("part_start", pa.int32()), ("part_end", pa.int32()),
])
# One row per definition and per reference (``semcode/ingest/symbols.py``), and a ``file``
# row per parsed file version, so that a file with no symbols is known to have been read.
SYMBOLS_SCHEMA = pa.schema([
    ("symbol_id", pa.string()), ("path", pa.string()), ("shard", pa.int32()),
    ("language", pa.string()), ("content_hash", pa.string()), ("role", pa.string()),
    ("name", pa.string()), ("qualified", pa.string()), ("enclosing", pa.string()),
    ("kind", pa.string()), ("line", pa.int32()), ("end_line", pa.int32()),
    ("chunk_id", pa.string()), ("detail", pa.string()),
])
META_SCHEMA = pa.schema([("key", pa.string()), ("value", pa.string())])
# LanceDB's ``to_arrow()`` hands a scan over in small batches, one round trip through its
# event loop each: reading 1.43M chunk ids took 0.53 s that way, 0.11 s in batches of this size.
SCAN_BATCH = 65_536


def read_all(query: Any) -> pa.Table:
    """Every row a LanceDB query selects, in one table (an empty one keeps its schema)."""
    return query.to_batches(SCAN_BATCH).read_all()


def vectors_schema(dim: int) -> pa.Schema:
    """path, language and kind are fixed by the chunk id; they are copied here so that
    filters apply before vector ranking (a prefilter), not after it."""
    return pa.schema([
        ("chunk_id", pa.string()), ("text_hash", pa.string()), ("model", pa.string()),
        ("path", pa.string()), ("language", pa.string()), ("kind", pa.string()),
        ("vector", pa.list_(pa.float32(), dim)),
    ])


def vector_rows(chunks: pa.Table, model_id: str, vectors: np.ndarray, dim: int) -> pa.Table:
    """Vector rows of ``model_id`` for ``chunks`` (chunk_id, text_hash, path, language,
    kind): ``vectors`` holds ``dim`` floats for each chunk, in their order."""
    return pa.Table.from_arrays(
        [chunks.column("chunk_id"), chunks.column("text_hash"),
         pa.array([model_id] * chunks.num_rows, pa.string()), chunks.column("path"),
         chunks.column("language"), chunks.column("kind"),
         pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dim)],
        schema=vectors_schema(dim))


def sql_str(value: str) -> str:
    """A SQL string literal: user text never reaches a filter unescaped."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_in(column: str, values: Iterable[str]) -> str:
    literals = ", ".join(sql_str(v) for v in values)
    return f"{column} IN ({literals})" if literals else "false"


def retry_conflicts(fn: Callable[[], T], attempts: int = 12,
                    before: Callable[[], None] | None = None) -> T:
    """Run a LanceDB commit, retrying (with jittered backoff) only when a concurrent writer
    committed first; every other error propagates at once. ``before``: the writer's fence,
    checked before each attempt."""
    for attempt in range(attempts):
        if before is not None:
            before()
        try:
            return fn()
        except (RuntimeError, OSError) as exc:
            conflict = as_commit_conflict(exc)
            if conflict is None:
                raise
            if attempt == attempts - 1:
                raise conflict from exc
            time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def ignored_by_git(path: Path) -> None:
    """A store in a ``.semcode`` folder (the default: inside the repository) ignores itself,
    as a virtual environment does, so `git add -A` adds none of it."""
    folder = path.parent
    if folder.name == STORE_DIRNAME and not (folder / ".gitignore").exists():
        (folder / ".gitignore").write_text("# semcode's index: never committed\n*\n")


R = TypeVar("R", SnapshotReport, VectorReport)


def _parse_meta(kind: type[R], value: object) -> R | None:
    if not isinstance(value, dict):
        return None
    try:
        return kind.from_dict(value)
    except ValueError:  # pydantic's ValidationError: written by another layout
        return None


class Store:
    """One LanceDB database: a directory, or any URI LanceDB accepts (``s3://…``)."""

    def __init__(self, uri: str, create: bool = True):
        self.uri = uri
        self.local = "://" not in uri
        if self.local:
            path = Path(uri)
            if not create and not path.is_dir():
                raise StoreNotFound(f"store not found at {uri} — run `semcode index` first")
            if create:
                try:
                    path.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot write the store at {uri} ({exc.strerror}) — "
                                     "choose a writable place with --store or "
                                     "SEMCODE_STORE") from None
                if not os.access(path, os.W_OK):
                    raise StoreError(f"cannot write the store at {uri} (read-only) — choose "
                                     "a writable place with --store or SEMCODE_STORE")
                ignored_by_git(path)
        # Every read sees the latest commit, whichever handle wrote it (a long-lived MCP
        # server included); LanceDB's default caches a table's version per handle.
        try:
            self.db = lancedb.connect(uri, read_consistency_interval=timedelta(0))
            if self.local:  # a folder that cannot be read fails here, not in the first query
                self.db.list_tables()
        except (RuntimeError, OSError, ValueError) as exc:
            if (unreachable := as_unreachable(exc, uri)) is None:
                raise
            raise unreachable from None
        # The writer's fence (semcode/store/lease.py), checked before every commit through this
        # handle: it raises LeaseLost once this writer no longer holds the store.
        self.fence: Callable[[], None] | None = None

    def guard(self) -> None:
        if self.fence is not None:
            self.fence()

    def commit(self, fn: Callable[[], T], attempts: int = 12) -> T:
        """One write, fenced and retried on commit conflicts."""
        return retry_conflicts(fn, attempts, before=self.fence)

    # -- tables ------------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.db.list_tables().tables

    def _readable(self, name: str) -> Table | None:
        """``name`` opened; None when it does not exist yet — also when it is listed but
        cannot be opened: another process is creating it (its folder is listed before its
        first version is committed). A reader then finds it empty, as a moment before; a
        writer creates it too, which settles on one table."""
        if not self.has(name):
            return None
        try:
            return self.db.open_table(name)
        except ValueError as exc:
            if "was not found" not in str(exc):
                raise
            return None

    def table(self, name: str, schema: pa.Schema | None = None) -> Table:
        """Open a table, creating it (empty, with ``schema``) when it does not exist yet."""
        if schema is None:
            return self.db.open_table(name)
        opened = self._readable(name)
        if opened is not None:
            return opened

        def create() -> Table:
            return self.db.create_table(name, schema=schema, exist_ok=True)

        return retry_conflicts(create)

    def files(self) -> Table:
        return self.table("files", FILES_SCHEMA)

    def chunks(self) -> Table:
        return self.table("chunks", CHUNKS_SCHEMA)

    def symbols(self) -> Table:
        return self.table("symbols", SYMBOLS_SCHEMA)

    def vectors(self, dim: int | None = None) -> Table:
        return self.table("vectors", vectors_schema(dim) if dim else None)

    def count(self, name: str, where: str | None = None) -> int:
        table = self._readable(name)
        return table.count_rows(where) if table is not None else 0

    def scan(self, name: str, columns: list[str], where: str | None = None) -> pa.Table:
        table = self._readable(name)
        if table is None:  # empty, with the columns' own types
            known = _SCHEMAS.get(name.removesuffix("_next"))
            return pa.table({c: pa.array([], known.field(c).type if known and c in known.names
                                         else pa.string()) for c in columns})
        query = table.search().select(columns)
        if where:
            query = query.where(where)
        return read_all(query)

    def stream(self, name: str, columns: list[str], where: str | None = None,
               batch_size: int = 4096) -> Iterator[pa.RecordBatch]:
        table = self._readable(name)
        if table is None:
            return iter(())
        query = table.search().select(columns)
        if where:
            query = query.where(where)
        return iter(query.to_batches(batch_size))

    # -- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        rows = self.scan("meta", ["value"], f"key = {sql_str(key)}")
        return json.loads(rows.column("value")[0].as_py()) if rows.num_rows else default

    def set_meta(self, **values: Any) -> None:
        table = self.table("meta", META_SCHEMA)
        data = pa.Table.from_pylist([{"key": k, "value": json.dumps(v)} for k, v in values.items()],
                                    schema=META_SCHEMA)
        self.commit(lambda: table.merge_insert("key").when_matched_update_all()
                        .when_not_matched_insert_all().execute(data))

    def last_snapshot(self) -> SnapshotReport | None:
        """What the last snapshot recorded; None before the first (or from an older layout,
        which then reads as "no snapshot": the run re-checks everything)."""
        return _parse_meta(SnapshotReport, self.get_meta("snapshot"))

    def last_vectors(self) -> VectorReport | None:
        """What the last successful vectors step recorded: its commit, model and counts."""
        return _parse_meta(VectorReport, self.get_meta("vectors"))

    # -- writes ------------------------------------------------------------------------------
    def replace_files(self, rows: list[dict]) -> None:
        """The manifest of one snapshot, in one commit."""
        data = pa.Table.from_pylist(rows, schema=FILES_SCHEMA)
        self.guard()
        self.db.create_table("files", data, mode="overwrite")

    def update_files(self, rows: list[dict]) -> None:
        if not rows:
            return
        table = self.files()
        data = pa.Table.from_pylist(rows, schema=FILES_SCHEMA)
        self.commit(lambda: table.merge_insert("path").when_matched_update_all()
                        .when_not_matched_insert_all().execute(data))

    def write_shard(self, shard: int, rows: pa.Table | list[dict],
                    replaced_paths: Iterable[str], symbols: pa.Table | None = None) -> None:
        """Replace every chunk of ``replaced_paths`` in ``shard`` with ``rows``, one commit;
        and, a commit before it, their symbols with ``symbols`` (when given). Symbols first:
        a run stopped between the two leaves chunks of the older version, which the next
        run parses again, symbols and all."""
        paths = sorted(set(replaced_paths))
        if not paths and not len(rows):
            return
        scope = f"shard = {int(shard)} AND {sql_in('path', paths)}"
        if symbols is not None:
            self._replace(self.symbols(), "symbol_id", scope, symbols)
        data = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows,
                                                                            schema=CHUNKS_SCHEMA)
        self._replace(self.chunks(), "chunk_id", scope, data)

    def _replace(self, table: Table, key: str, scope: str, data: pa.Table) -> None:
        """The rows ``scope`` selects become ``data``, in one commit."""
        if not len(data):
            self.commit(lambda: table.delete(scope))
            return
        self.commit(lambda: table.merge_insert(key).when_matched_update_all()
                        .when_not_matched_insert_all()
                        .when_not_matched_by_source_delete(scope).execute(data))

    def replace_rows(self, name: str, where: str, rows: list[dict]) -> None:
        """The rows ``where`` selects, replaced by ``rows`` (a repair: delete, then add)."""
        table = self.table(name)
        self.commit(lambda: table.delete(where))
        if rows:
            data = pa.Table.from_pylist(rows, schema=table.schema)
            self.commit(lambda: table.add(data))

    def replace_table(self, name: str, source: str) -> None:
        """``name`` becomes a copy of ``source``, streamed, in one commit (an overwrite is a
        new version: readers see the old table or the new one, never a mix)."""
        table = self.table(source)
        batches = table.search().select(table.schema.names).to_batches(8192)
        reader = pa.RecordBatchReader.from_batches(table.schema, iter(batches))
        self.guard()
        self.db.create_table(name, reader, mode="overwrite")

    def drop(self, name: str) -> None:
        if self.has(name):
            self.guard()
            self.db.drop_table(name)

    def delete(self, name: str, where: str) -> None:
        if self.has(name):
            table = self.table(name)
            self.commit(lambda: table.delete(where))

    def optimize(self, name: str) -> None:
        if self.has(name):
            table = self.table(name)
            self.commit(lambda: table.optimize())

    # -- damage ------------------------------------------------------------------------------
    def damaged_tables(self) -> dict[str, str]:
        """Tables that exist but cannot be read through, or have an older layout: name → why.
        Reading one column reads every data file of a table."""
        problems = {}
        for name in self.db.list_tables().tables:
            expected = _LAYOUTS.get(name.removesuffix("_next"))
            if expected is None:
                continue
            try:
                table = self.db.open_table(name)
                if set(table.schema.names) != set(expected):
                    problems[name] = "an older layout"
                    continue
                read_all(table.search().select([_NARROW.get(name.removesuffix("_next"),
                                                            expected[0])]))
            except (RuntimeError, OSError, ValueError) as exc:
                problems[name] = first_line(exc)
        return problems


_SCHEMAS: dict[str, pa.Schema] = {"files": FILES_SCHEMA, "chunks": CHUNKS_SCHEMA,
                                  "meta": META_SCHEMA, "vectors": vectors_schema(1),
                                  "symbols": SYMBOLS_SCHEMA}
_LAYOUTS: dict[str, list[str]] = {name: schema.names for name, schema in _SCHEMAS.items()}
# The cheapest column to read through a whole table (any column touches every data file).
_NARROW = {"files": "shard", "chunks": "shard", "vectors": "kind", "symbols": "shard"}
