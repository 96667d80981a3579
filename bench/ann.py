"""Vector index choices at scale: build time, warm query latency and recall@10 against exact
search, on real vectors (the store bench/scale.py leaves behind), for each number of IVF
partitions probed (``--nprobes``; a search's SEMCODE_NPROBES). Each query asks for as many
neighbours as the vector side of a search does (``--depth``, 50) and its best 10 are compared
with the exact best 10. Usage:

    python bench/ann.py [--rows 1420000] [--queries 200] [--only semcode] [--nprobes 20,40]
                        [--depth 50]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("LANCEDB_LOG", "error")

import lancedb  # noqa: E402
import numpy as np
import pyarrow as pa  # noqa: E402
from lancedb.index import HnswSq, IvfHnswSq, IvfPq  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from semcode.search.searcher import DEPTH  # noqa: E402
from semcode.store.index_policy import ann_config  # noqa: E402

SOURCE = ROOT / "bench" / "out" / "linux-drivers-static.lancedb"
WORK = ROOT / "bench" / "out" / "ann.lancedb"


def configs(rows: int) -> dict:
    parts = max(1, round(rows ** 0.5 / 4))
    return {
        "hnsw_sq (LanceDB's default)": HnswSq(distance_type="cosine"),
        f"semcode: ivf_hnsw_sq p={ann_config(rows).num_partitions} ef=100 m=16":
            ann_config(rows),
        **{f"ivf_hnsw_sq p={max(1, rows // 20_000)} ef={ef} m=16": IvfHnswSq(
            distance_type="cosine", num_partitions=max(1, rows // 20_000), ef_construction=ef,
            m=16) for ef in (70, 100)},
        f"ivf_hnsw_sq p={parts} ef=100 m=16": IvfHnswSq(
            distance_type="cosine", num_partitions=parts, ef_construction=100, m=16),
        f"ivf_pq p={parts * 4} sub=32": IvfPq(distance_type="cosine",
                                              num_partitions=parts * 4, num_sub_vectors=32),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_420_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--only", default="")
    parser.add_argument("--nprobes", default="20", help="partitions probed, e.g. 10,20,40")
    parser.add_argument("--depth", type=int, default=DEPTH, help="neighbours each query asks "
                                                                 "for (10: the top 10 alone)")
    args = parser.parse_args()
    source = lancedb.connect(str(SOURCE)).open_table("vectors")
    data = source.search().select(["chunk_id", "vector"]).limit(args.rows).to_arrow()
    rng = np.random.default_rng(0)
    vectors = data.column("vector").combine_chunks().flatten().to_numpy().reshape(len(data), -1)
    queries = vectors[rng.choice(len(data), args.queries, replace=False)]
    queries = queries + rng.normal(0, 0.02, queries.shape).astype(np.float32)  # near, not on
    results = {}
    for name, config in configs(len(data)).items():
        if args.only and args.only not in name:
            continue
        shutil.rmtree(WORK, ignore_errors=True)
        table = lancedb.connect(str(WORK)).create_table("v", pa.Table.from_arrays(
            [data.column("chunk_id"), data.column("vector")], names=["chunk_id", "vector"]))
        exact = [set(table.search(q).distance_type("cosine").bypass_vector_index().limit(10)
                     .select(["chunk_id"]).to_arrow().column("chunk_id").to_pylist())
                 for q in queries[:50]]
        started = time.perf_counter()
        table.create_index("vector", config=config)
        built = time.perf_counter() - started
        table.search(queries[0]).limit(10).to_arrow()
        for nprobes in map(int, args.nprobes.split(",")):
            times, recall = [], []
            for i, q in enumerate(queries):
                t0 = time.perf_counter()
                hits = table.search(q).distance_type("cosine").nprobes(nprobes) \
                    .limit(args.depth).select(["chunk_id"]).to_arrow().column("chunk_id") \
                    .to_pylist()[:10]
                times.append((time.perf_counter() - t0) * 1000)
                if i < len(exact):
                    recall.append(len(exact[i] & set(hits)) / 10)
            times.sort()
            results[name, nprobes] = {"rows": len(data), "build_s": round(built, 1),
                                      "nprobes": nprobes, "depth": args.depth,
                                      "p50_ms": round(statistics.median(times), 1),
                                      "p95_ms": round(times[int(len(times) * 0.95)], 1),
                                      "recall_at_10": round(statistics.mean(recall), 3)}
            print(name, json.dumps(results[name, nprobes]), flush=True)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
