"""Shards written at the same time lose and duplicate no row.

This is the failure semcode exists to prevent, so it is tested with real processes writing
to real LanceDB at the same instant (a barrier releases them together), many times over.
"""

import multiprocessing as mp
import sys
import time
from collections import Counter

import pytest

from semcode.index.parse import index_shard, index_shards
from semcode.index.pipeline import record_snapshot
from semcode.store.tables import Store

WRITERS, ROUNDS, FILES_PER_SHARD, CHUNKS_PER_FILE = 6, 8, 6, 5
MODEL = "all-MiniLM-L6-v2"

pytestmark = pytest.mark.slow


def _rows(shard: int, round_: int) -> tuple[list[dict], list[str]]:
    """The shard's full content in one round: each round edits half of the files."""
    rows, paths = [], []
    for f in range(FILES_PER_SHARD):
        path = f"s{shard}/file{f}.py"
        version = round_ if f % 2 else 0
        paths.append(path)
        for c in range(CHUNKS_PER_FILE):
            rows.append({"chunk_id": f"{path}#{c}@{version}", "path": path, "shard": shard,
                         "language": "python", "kind": "function", "symbol": f"f{c}",
                         "start_line": c + 1, "end_line": c + 1, "text": f"v{version}",
                         "text_hash": f"h{version}", "keywords": "", "content_hash":
                         f"c{version}", "commit": f"r{round_}"})
    return rows, paths


def _released_together(target, args: list[tuple]) -> list[int | None]:
    """Runs ``target(*a, barrier)`` for each ``a`` of ``args``, each in its own process,
    sharing one barrier; their exit codes."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(args))
    procs = [ctx.Process(target=target, args=(*a, barrier)) for a in args]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    return [p.exitcode for p in procs]


def _writer(uri: str, shard: int, barrier) -> None:
    store = Store(uri)
    for round_ in range(ROUNDS):
        rows, paths = _rows(shard, round_)
        barrier.wait(timeout=120)
        store.write_shard(shard, rows, paths)


def test_concurrent_shard_writers_lose_and_duplicate_nothing(tmp_path):
    uri = str(tmp_path / "store")
    Store(uri).chunks()  # the table exists before the race, as after a snapshot
    assert _released_together(_writer, [(uri, s) for s in range(WRITERS)]) == [0] * WRITERS

    ids = Store(uri).scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist()
    assert len(ids) == WRITERS * FILES_PER_SHARD * CHUNKS_PER_FILE
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    expected = {r["chunk_id"] for s in range(WRITERS) for r in _rows(s, ROUNDS - 1)[0]}
    assert set(ids) == expected


def _open_tables(uris: list[str], writer: int, barrier) -> None:
    failed = 0
    for uri in uris:
        barrier.wait(timeout=120)
        time.sleep(writer * 0.0006)  # staggered across the ~2 ms a table takes to create
        try:
            Store(uri).symbols()
        except ValueError as exc:  # the race's symptom; the writer goes on to the next round
            print(f"writer {writer}, {uri}: {exc}")
            failed += 1
    sys.exit(min(failed, 1))


def test_writers_that_find_a_table_missing_at_once_all_open_the_one_table(tmp_path):
    """A table's folder is listed before its first version is committed: a writer that saw the
    folder and opened it then found no table (a parse worker failed so in CI). Each round,
    every writer reaches a missing table at the same instant."""
    uris = [str(tmp_path / f"store{i}") for i in range(80)]
    assert _released_together(_open_tables, [(uris, w) for w in range(WRITERS)]) == \
        [0] * WRITERS
    assert all(Store(uri).db.list_tables().tables == ["symbols"] for uri in uris)


def _index_all(uri: str, repo: str, shards: list[int], barrier) -> None:
    barrier.wait(timeout=120)
    for shard in shards:
        index_shard(store_uri=uri, repo=repo, shard=shard, model=MODEL, is_git=True)


def _chunk_ids(uri: str) -> list[str]:
    return Store(uri).scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist()


def test_the_same_shard_run_twice_at_once_is_serialized(sample_repo, tmp_path):
    """Two writers inserting the same new ids at once would duplicate them; the shard lock
    makes the second wait and then find nothing to do."""
    reference = str(tmp_path / "reference")
    record_snapshot(Store(reference), repo=str(sample_repo), shards=8, max_file_bytes=1_000_000)
    index_shards(store_uri=reference, repo=str(sample_repo), shards=list(range(8)),
                 model=MODEL, is_git=True, workers=1)

    for attempt in range(3):
        uri = str(tmp_path / f"race{attempt}")
        record_snapshot(Store(uri), repo=str(sample_repo), shards=8, max_file_bytes=1_000_000)
        order = [list(range(8)), list(reversed(range(8))), list(range(8))]
        assert _released_together(_index_all, [(uri, str(sample_repo), o) for o in order]) \
            == [0, 0, 0]
        ids = _chunk_ids(uri)
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(_chunk_ids(reference))


def test_parallel_range_run_equals_one_shard_at_a_time(sample_repo, tmp_path):
    serial, parallel = str(tmp_path / "serial"), str(tmp_path / "parallel")
    for uri, workers in ((serial, 1), (parallel, 4)):
        record_snapshot(Store(uri), repo=str(sample_repo), shards=8, max_file_bytes=1_000_000)
        index_shards(store_uri=uri, repo=str(sample_repo), shards=list(range(8)),
                     model=MODEL, is_git=True, workers=workers)
    columns = ["chunk_id", "path", "start_line", "end_line", "text_hash"]
    a = sorted(Store(serial).scan("chunks", columns).to_pylist(), key=lambda r: r["chunk_id"])
    b = sorted(Store(parallel).scan("chunks", columns).to_pylist(), key=lambda r: r["chunk_id"])
    assert a == b and len(a) > 30
