"""When the search indexes are built, of what kind, and when a table is compacted.

Rows written since an index was last brought up to date are still found (LanceDB scans them
beside the index); ``optimize()`` — a compaction that rewrites small fragments, then the indexes
taking the new rows in — is due only once they are a few percent of the table or the table has
many small files, so a one-file push does not rewrite a million-row table.
"""

from lancedb.index import IvfHnswSq
from lancedb.table import Table

# Rows an index may lag behind by (searched by a scan meanwhile), as a share of the table,
# and the fragments a table may have before it is compacted.
UNINDEXED_SHARE = 0.02
MAX_FRAGMENTS = 64


def unindexed_allowance(rows: int) -> int:
    return int(rows * UNINDEXED_SHARE)


def behind(table: Table, index: str | None) -> bool:
    """Whether ``table`` is due an ``optimize()``: too many rows outside its index, or too
    many small files."""
    stats: dict = table.stats()  # type: ignore[assignment]  # a dict at run time
    if stats["fragment_stats"]["num_fragments"] > MAX_FRAGMENTS:
        return True
    if index is None:
        return False
    indexed = table.index_stats(index)
    return indexed is not None and \
        indexed.num_unindexed_rows > unindexed_allowance(stats["num_rows"])


def ann_config(rows: int) -> IvfHnswSq:
    """An HNSW graph per IVF partition of about 20,000 vectors: LanceDB's default (one
    graph over everything, built with ef_construction=300) was still building after 8 minutes
    for Linux's 1.4M vectors on 2 cores. Built with ef_construction=50 it takes 81 s there
    against 120 s at 100, with the same recall@10 at 30 partitions probed (0.956 / 0.946 on
    50 queries: the scalar quantization and the probing decide it, not the graph;
    bench/ann.py, BENCHMARKS.md)."""
    return IvfHnswSq(distance_type="cosine", num_partitions=max(1, rows // 20_000),
                     ef_construction=50, m=16)
