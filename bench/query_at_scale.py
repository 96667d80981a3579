"""Query latency at the size SCALING.md plans for: a synthetic vectors table of N rows of
the default model's width (384), clustered like embeddings are (points around 2,000 random
directions, normalized), searched exactly (no index) and through semcode's vector index.
Prints one JSON line per phase. Usage:

    python bench/query_at_scale.py [--rows 10000000] [--queries 100] [--nprobes 30,100,200]
                                   [--refine 1,2,5] [--depth 50]

Indexed queries ask for ``--depth`` neighbours, as the vector side of a search does, probing
each ``--nprobes`` (SEMCODE_NPROBES) with each ``--refine`` (SEMCODE_REFINE) in turn; their
best 10 are compared with the exact 10. A table and index left by an earlier run of the same
size are reused (exact search never reads the index).

Needs ~1.6 GB of disk per million rows (bench/out/scale-<rows>.lancedb, not in git).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("LANCEDB_LOG", "error")

import lancedb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from semcode.config import DEFAULT_NPROBES, DEFAULT_REFINE  # noqa: E402
from semcode.search.indexed_version import vector_query  # noqa: E402
from semcode.search.searcher import DEPTH  # noqa: E402
from semcode.store.index_policy import ann_config  # noqa: E402

DIM = 384
BATCH = 250_000


def say(**figures: object) -> None:
    print(json.dumps(figures), flush=True)


def vectors(rng: np.random.Generator, centers: np.ndarray, n: int) -> np.ndarray:
    picked = centers[rng.integers(0, len(centers), n)]
    out = picked + rng.normal(0, 0.6 / DIM ** 0.5, (n, DIM)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def build(path: Path, rows: int, rng: np.random.Generator, centers: np.ndarray):
    db = lancedb.connect(str(path))
    if "vectors" in db.table_names():
        table = db.open_table("vectors")
        if table.count_rows() == rows:
            return table
        db.drop_table("vectors")
    started, table = time.perf_counter(), None
    for first in range(0, rows, BATCH):
        n = min(BATCH, rows - first)
        batch = pa.table({
            "chunk_id": pa.array([f"{i:012x}" for i in range(first, first + n)]),
            "kind": pa.array(["function"] * n),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors(rng, centers, n).ravel()), DIM)})
        if table is None:
            table = db.create_table("vectors", batch)
        else:
            table.add(batch)
    assert table is not None
    say(phase="write", rows=rows, seconds=round(time.perf_counter() - started, 1),
        bytes=sum(f.stat().st_size for f in path.rglob("*") if f.is_file()))
    return table


def timed(table, queries: np.ndarray, exact: bool, nprobes: int = 0,
          depth: int = 10, refine: int = 1) -> tuple[list[float], list[set]]:
    times, found = [], []
    for q in queries:
        query = table.search(q).distance_type("cosine").limit(10).bypass_vector_index() \
            if exact else vector_query(table, q, depth, nprobes, refine)  # as a search asks
        query = query.select(["chunk_id"])
        t0 = time.perf_counter()
        ids = query.to_arrow().column("chunk_id").to_pylist()[:10]
        times.append(1000 * (time.perf_counter() - t0))
        found.append(set(ids))
    return sorted(times), found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--exact-queries", type=int, default=10)
    parser.add_argument("--nprobes", default=str(DEFAULT_NPROBES), help="e.g. 30,100,200")
    parser.add_argument("--refine", default=str(DEFAULT_REFINE), help="e.g. 1,2,5")
    parser.add_argument("--depth", type=int, default=DEPTH)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 1, (2_000, DIM)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    path = ROOT / "bench" / "out" / f"scale-{args.rows}.lancedb"
    table = build(path, args.rows, rng, centers)
    queries = vectors(rng, centers, args.queries)
    table.search(queries[0]).bypass_vector_index().limit(10).to_arrow()  # warm the cache
    times, exact = timed(table, queries[:args.exact_queries], exact=True)
    say(phase="exact search, no index", rows=args.rows, queries=len(times),
        p50_ms=round(statistics.median(times), 1), max_ms=round(times[-1], 1))
    config = ann_config(args.rows)
    if not table.list_indices():
        started = time.perf_counter()
        table.create_index("vector", config=config)
        say(phase="vector index build", index=f"ivf_hnsw_sq p={config.num_partitions}",
            seconds=round(time.perf_counter() - started, 1))
    for _ in range(2):  # warm: the index's partitions are read on first use
        timed(table, queries, exact=False, nprobes=max(map(int, args.nprobes.split(","))),
              depth=args.depth)
    for nprobes in map(int, args.nprobes.split(",")):
        for refine in map(int, args.refine.split(",")):
            times, found = timed(table, queries, exact=False, nprobes=nprobes,
                                 depth=args.depth, refine=refine)
            recall = [len(a & b) / 10 for a, b in zip(exact, found, strict=False)]
            say(phase="indexed search", rows=args.rows, queries=len(times), nprobes=nprobes,
                refine=refine, depth=args.depth, p50_ms=round(statistics.median(times), 1),
                p95_ms=round(times[int(0.95 * (len(times) - 1))], 1),
                recall_at_10=round(statistics.mean(recall), 3))


if __name__ == "__main__":
    main()
