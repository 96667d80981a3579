"""Indexing one shard: re-parse only files whose content changed, drop chunks of files that
left the shard, and commit the shard's change to LanceDB in one write."""

import hashlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from semcode import progress
from semcode.config import DEFAULT_PARSE_TIMEOUT
from semcode.embed.model_files import require_model
from semcode.idsets import absent, duplicated, surplus
from semcode.index.parse_progress import ParseProgress, Sink
from semcode.index.parsed_vectors import Spool
from semcode.ingest import beneath, gitrepo
from semcode.ingest.discovery import INDEXED, SKIPPED
from semcode.ingest.rows import SYMBOLS, VECTORS
from semcode.ingest.sandbox import SandboxedChunker, die_with_parent, sandboxed_chunker
from semcode.ingest.symbols import symbols_version
from semcode.reports import FILE_ROW, ShardReport, count_skips
from semcode.store.lease import DEFAULT_TTL, WriterLease, writer_lease
from semcode.store.tables import CHUNKS_SCHEMA, SYMBOLS_SCHEMA, Store, sql_in, sql_str

ROW_BATCH = 4096  # chunk rows turned from Python objects into Arrow at a time


class FileReader:
    """File contents at the snapshot: git blobs by id, or working-tree files checked
    against the hash the snapshot recorded."""

    def __init__(self, repo: str, is_git: bool):
        self.repo = Path(repo).resolve()
        self.blobs = gitrepo.BlobReader(self.repo) if is_git else None

    def read(self, file: dict) -> tuple[bytes | None, str]:
        if self.blobs is not None:
            data = self.blobs.read(file["content_hash"])
            return (data, "") if data is not None else (None, "vanished: blob missing")
        try:  # beneath the folder only: a symlink put in its path since the snapshot is refused
            data = beneath.read_bytes(self.repo, file["path"])
        except (FileNotFoundError, NotADirectoryError):
            return None, "vanished: deleted during the run"
        except beneath.OutsideCheckout as exc:
            return None, f"symlink: {exc.strerror}"
        except OSError as exc:
            return None, f"unreadable: {exc.strerror}"
        if hashlib.sha256(data).hexdigest() != file["content_hash"]:
            return None, "changed_during_run: will be indexed by the next run"
        return data, ""

    def close(self) -> None:
        if self.blobs is not None:
            self.blobs.close()


def index_shard(*, store_uri: str, repo: str, shard: int, model: str, is_git: bool,
                reserve_tokens: int = 0, held: bool = False, owner: str | None = None,
                lease_ttl: float = DEFAULT_TTL,
                parse_timeout: float = DEFAULT_PARSE_TIMEOUT,
                vectors_to: str | None = None) -> ShardReport:
    """Bring one shard's chunk rows level with the manifest, in one commit. ``held``: the
    caller holds the store's writer lease as ``owner`` (else this call takes it), and each
    commit checks that it still does (a lease of ``lease_ttl`` seconds). A file whose chunking
    takes over ``parse_timeout`` seconds is cut by line windows (``semcode/ingest/sandbox.py``).
    ``vectors_to``: a folder for the static tier's vectors of the new chunks
    (``semcode/index/parsed_vectors.py``)."""
    store = Store(store_uri)
    if held and owner:
        store.fence = WriterLease(store, owner, ttl=lease_ttl).check
    chunker = sandboxed_chunker(model, reserve_tokens, parse_timeout)
    spool = Spool(vectors_to, shard, model) if vectors_to else None
    try:
        if not held:
            with writer_lease(store):
                return _index_shard(store, repo, shard, is_git, chunker, spool)
        return _index_shard(store, repo, shard, is_git, chunker, spool)
    finally:
        if spool is not None:
            spool.close()


def _index_shard(store: Store, repo: str, shard: int, is_git: bool,
                 chunker: SandboxedChunker, spool: Spool | None = None) -> ShardReport:
    started = time.perf_counter()
    where = f"shard = {int(shard)}"
    files = store.scan("files", ["path", "shard", "language", "content_hash", "status",
                                 "commit", "size", "reason"], where).to_pylist()
    wanted = {f["path"]: f for f in files if f["status"] == INDEXED}
    # One scan of the shard's chunk rows serves the repair, the diff and the report.
    stored = store.scan("chunks", ["chunk_id", "path", "content_hash"], where)
    duplicates, stored = _drop_duplicated_paths(store, shard, stored)
    stored_hash = _versions(stored)
    # a file's symbols are read in the same pass as its chunks: one without them (a store
    # from before symbols, a run stopped between the two commits) is parsed again
    # (or read by other tag queries: `detail` of a file row is what read it)
    symbols_hash = _versions(store.scan("symbols", ["path", "content_hash"],
                                        f"{where} AND role = '{FILE_ROW}' AND "
                                        f"detail = {sql_str(symbols_version())}"))
    stale = [f for p, f in wanted.items()
             if stored_hash.get(p) != f["content_hash"] or symbols_hash.get(p) != f["content_hash"]]
    gone = (set(stored_hash) | set(symbols_hash)) - set(wanted)
    _sink.add(len(wanted) - len(stale), 0)
    rows, symbols, skips, notes = _chunk_files(stale, repo, is_git, chunker, spool)
    replaced = [f["path"] for f in stale] + sorted(gone)
    before = stored.column("chunk_id").filter(pc.is_in(
        stored.column("path"), value_set=pa.array(replaced, pa.string()))).combine_chunks()
    store.write_shard(shard, rows, replaced, symbols)
    store.update_files(skips + notes)
    after = rows.column("chunk_id").combine_chunks()
    return ShardReport(
        shard=shard, files_seen=len(files), parsed=len(stale) - len(skips),
        unchanged=len(wanted) - len(stale), skipped=len(files) - len(wanted) + len(skips),
        removed=len(gone), chunks_added=len(absent(after, before)),
        chunks_removed=len(absent(before, after)),
        # the shard's rows now: what was stored, less the replaced files' rows, plus the new
        # (the writer lease keeps anyone else from writing the shard meanwhile)
        chunks_total=stored.num_rows - len(before) + len(after),
        new_skips=count_skips(s["reason"] for s in skips),
        line_windows=count_skips(n["reason"] for n in notes),
        repaired={"duplicate_chunks": duplicates} if duplicates else {},
        seconds=round(time.perf_counter() - started, 3))


def _versions(rows: pa.Table) -> dict[str, str]:
    """path → content hash, from rows of (path, content_hash, …): one per file."""
    versions = rows.group_by(["path", "content_hash"]).aggregate([])
    return dict(zip(versions.column("path").to_pylist(),
                    versions.column("content_hash").to_pylist(), strict=True))


def _drop_duplicated_paths(store: Store, shard: int, stored: pa.Table) -> tuple[int, pa.Table]:
    """Repair: a chunk id stored twice (two writers inserting the same new ids at once) takes
    its file's rows out of the shard, so that the file is parsed again. Returns the number
    of surplus rows and the ``stored`` rows (chunk_id, path, …) that are left."""
    ids = stored.column("chunk_id").combine_chunks()
    doubled = duplicated(ids)
    if not len(doubled):
        return 0, stored
    paths = pc.unique(stored.column("path").filter(pc.is_in(ids, value_set=doubled)))
    store.delete("chunks", f"shard = {int(shard)} AND {sql_in('path', paths.to_pylist())}")
    extra = surplus(ids)
    progress.say(f"shard {shard}: {extra} duplicate chunk row(s) found; "
                 f"re-parsing {len(paths)} file(s)")
    return extra, stored.filter(pc.invert(pc.is_in(stored.column("path"), value_set=paths)))


def _chunk_files(stale: list[dict], repo: str, is_git: bool, chunker: SandboxedChunker,
                 spool: Spool | None = None,
                 ) -> tuple[pa.Table, pa.Table, list[dict], list[dict]]:
    """Chunk rows and symbols rows of every readable file, a skip (with its reason) for
    each other, and a note for each file cut by line windows because its grammar missed the
    deadline. Rows are gathered column by column and turned into Arrow a few thousand at a
    time; the chunks' static vectors, where the parse made them, go to ``spool``."""
    if not stale:  # nothing to read: no reader (a git process) for a shard with no work
        return CHUNKS_SCHEMA.empty_table(), SYMBOLS_SCHEMA.empty_table(), [], []
    reader, skips, notes = FileReader(repo, is_git), [], []
    batches: list[pa.RecordBatch] = []
    held = _Columns()
    symbols = _Columns(SYMBOLS_SCHEMA, ("path", "shard", "language", "content_hash"))
    symbol_batches: list[pa.RecordBatch] = []
    try:
        for f in stale:
            data, reason = reader.read(f)
            if data is not None:
                try:
                    columns, note = chunker.columns(f, data.decode("utf-8"),
                                                    vectors=spool is not None)
                    symbols.add(f, cast(dict[str, list], columns.pop(SYMBOLS)))
                    vectors = cast(bytes | None, columns.pop(VECTORS, None))
                    count = held.add(f, columns)
                    if spool is not None and vectors is not None:
                        spool.add(f, columns, vectors)
                    if note:
                        notes.append({**f, "status": INDEXED, "reason": note[:300]})
                    _sink.add(1, count)
                    if held.rows >= ROW_BATCH:
                        batches.append(held.batch())
                    if symbols.rows >= ROW_BATCH:
                        symbol_batches.append(symbols.batch())
                    continue
                except ValueError as exc:  # one bad file is a skip, never a lost shard
                    reason = f"parse_error: {exc}"[:300]
            skips.append({**f, "status": SKIPPED, "reason": reason})
            _sink.add(1, 0)
    finally:
        reader.close()
        _sink.flush()
    batches.append(held.batch())
    symbol_batches.append(symbols.batch())
    return (pa.Table.from_batches(batches, schema=CHUNKS_SCHEMA),
            pa.Table.from_batches(symbol_batches, schema=SYMBOLS_SCHEMA), skips, notes)


class _Columns:
    """Rows held column by column until they become a record batch: the columns that vary
    within a file, and ``own``, the file's, repeated."""

    def __init__(self, schema: pa.Schema = CHUNKS_SCHEMA,
                 own: tuple[str, ...] = ("path", "shard", "language", "content_hash", "commit")):
        self.schema, self.own = schema, own
        self.columns: dict[str, list] = {}
        self.rows = 0
        self.clear()

    def clear(self) -> None:
        self.columns = {name: [] for name in self.schema.names}
        self.rows = 0

    def add(self, file: dict, varying: dict[str, list]) -> int:
        count = len(next(iter(varying.values())))
        for name, values in varying.items():
            self.columns[name] += values
        for name in self.own:
            self.columns[name] += [file[name]] * count
        self.rows += count
        return count

    def batch(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.columns, schema=self.schema)
        self.clear()
        return batch


IN_PROCESS_FILES = 200  # parsing this many files costs about what starting a pool does


def workers_for(changed_files: int) -> int | None:
    """A pool of one process per core, unless the snapshot changed so few files that
    starting the pool would cost more than it saves (a push of a few files)."""
    return 1 if changed_files <= IN_PROCESS_FILES else None


def pool_size(shards: int, workers: int | None = None) -> int:
    """The parse processes ``index_shards`` runs for this many shards: one per core (or
    ``workers``), no more than there are shards."""
    return max(1, min(workers or os.cpu_count() or 1, shards or 1))


def index_shards(*, store_uri: str, repo: str, shards: list[int], model: str, is_git: bool,
                 workers: int | None = None, reserve_tokens: int = 0,
                 owner: str | None = None, parse_timeout: float = DEFAULT_PARSE_TIMEOUT,
                 committed: Callable[[int], None] | None = None,
                 vectors_to: str | None = None) -> list[ShardReport]:
    """Index several shards in parallel, one process per core; each commits on its own. The
    writer lease is held (as ``owner``) for all of them; the workers die with this process.
    Progress is reported in files (and chunks) as the workers go, not per shard.
    ``committed`` is told each shard number as soon as that shard's rows are in;
    ``vectors_to``: a folder for the static tier's vectors, made by the parse."""
    told = committed or (lambda shard: None)
    require_model(model)  # before any process starts: a clear error, not a child's
    store = Store(store_uri)
    idle = _idle_shards(store, shards) if len(shards) > IDLE_CHECK_SHARDS else {}
    shards = [s for s in shards if s not in idle]
    workers = pool_size(len(shards), workers)
    if not shards:
        return sorted(idle.values(), key=lambda r: r.shard)
    shown = ParseProgress(store.count("files", f"status = '{INDEXED}' AND "
                                      f"shard IN ({', '.join(str(int(s)) for s in shards)})"))
    results: list[ShardReport] = []
    with writer_lease(store, owner) as lease:
        one = partial(index_shard, store_uri=store_uri, repo=repo, model=model, is_git=is_git,
                      reserve_tokens=reserve_tokens, held=True, owner=lease.owner,
                      lease_ttl=lease.ttl, parse_timeout=parse_timeout, vectors_to=vectors_to)
        if workers == 1:  # its parse child starts while the shards' rows are read
            sandboxed_chunker(model, reserve_tokens, parse_timeout).start()
            global _sink
            _sink, outer = Sink(shown.add), _sink
            try:
                for shard in shards:
                    results.append(one(shard=shard))
                    told(shard)
            finally:
                _sink = outer
            return sorted([*results, *idle.values()], key=lambda r: r.shard)
        pool, queue = _pool(workers)
        with pool, shown.draining(queue):  # a failure waits for the shards still parsing
            futures = [pool.submit(one, shard=s) for s in shards]
            for future in as_completed(futures):
                results.append(future.result())
                told(results[-1].shard)
            pool.shutdown(wait=False)  # all in: the workers exit while the caller goes on
    return sorted([*results, *idle.values()], key=lambda r: r.shard)


_started: tuple[ProcessPoolExecutor, Any, int] | None = None  # start_pool's: pool, queue, size
_starting = threading.Lock()


def start_pool(model: str, parse_timeout: float = DEFAULT_PARSE_TIMEOUT,
               workers: int | None = None) -> None:
    """Start the parse processes now, for this process's next ``index_shards`` to use: each
    worker, and the sandbox child it parses in, imports the parser and the store (a second
    or more) while the caller does other work — a first index starts them while its
    snapshot is taken and the store's lease settles."""
    global _started
    size = max(1, workers or os.cpu_count() or 1)
    pool, queue = _new_pool(size)
    for _ in range(size):  # one task each: every worker is spawned at once, not on demand
        pool.submit(_ready, model, parse_timeout)
    with _starting:
        earlier, _started = _started, (pool, queue, size)
    if earlier is not None:
        earlier[0].shutdown(wait=False, cancel_futures=True)


def _ready(model: str, parse_timeout: float) -> None:
    """A started worker's first task: start its sandbox child (``index_shard`` finds it)."""
    sandboxed_chunker(model, 0, parse_timeout).start()


def _pool(workers: int) -> tuple[ProcessPoolExecutor, Any]:
    """The pool ``start_pool`` started, if it has ``workers`` processes; else a new one."""
    global _started
    with _starting:
        started, _started = _started, None
    if started is not None and started[2] == workers:
        return started[0], started[1]
    if started is not None:
        started[0].shutdown(wait=False, cancel_futures=True)
    return _new_pool(workers)


def _new_pool(size: int) -> tuple[ProcessPoolExecutor, Any]:
    """``size`` spawned parse processes, dying with this one, and the queue their progress
    comes back on."""
    context = get_context("spawn")
    queue = context.Queue()
    return ProcessPoolExecutor(size, mp_context=context, initializer=_worker_init,
                               initargs=(os.getpid(), queue)), queue


# Past this many shards in one call, the shards with nothing in them are found first, with a
# scan of two shard columns, instead of two queries each (~14 ms a shard): a repository with
# fewer files than shards leaves most of them empty.
IDLE_CHECK_SHARDS = 64


def _idle_shards(store: Store, shards: list[int]) -> dict[int, ShardReport]:
    """The shards among ``shards`` with no file to index and no chunk rows — nothing to parse,
    remove or repair — each with its report (its files, all skipped)."""
    wanted = pa.array(shards, pa.int32())
    files = store.scan("files", ["shard", "status"])
    files = files.filter(pc.is_in(files.column("shard"), value_set=wanted))
    busy = set(pc.unique(files.filter(pc.equal(files.column("status"), INDEXED))
                         .column("shard")).to_pylist())
    busy.update(pc.unique(store.scan("chunks", ["shard"]).column("shard")).to_pylist())
    values, counts = pc.value_counts(files.column("shard")).flatten()
    seen = dict(zip(values.to_pylist(), counts.to_pylist(), strict=True))
    return {s: ShardReport(shard=s, files_seen=(n := int(seen.get(s, 0))), skipped=n)
            for s in shards if s not in busy}


_sink = Sink()  # nobody listening


def _worker_init(parent: int, queue: Any) -> None:
    global _sink
    die_with_parent(parent)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one process per core already
    _sink = Sink(lambda files, chunks: queue.put((files, chunks)))
