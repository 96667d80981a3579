"""Properties of a whole index, each with its evidence. Dagster's asset checks call these;
so do ``semcode status`` and the tests."""

from collections import Counter

import numpy as np

from semcode.discovery import INDEXED
from semcode.reports import CheckReport
from semcode.store import Store

SAMPLE = 10


def _dupes(ids: list[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def vectors_match_chunks(store: Store, model_id: str, dim: int) -> CheckReport:
    """One vector per chunk: no duplicate ids, equal counts and id sets, the model's
    dimension, finite values, one model."""
    chunk_ids = store.scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist()
    vector_rows = store.scan("vectors", ["chunk_id", "model"])
    vector_ids = vector_rows.column("chunk_id").to_pylist()
    models = sorted(set(vector_rows.column("model").to_pylist()))
    chunk_set, vector_set = set(chunk_ids), set(vector_ids)
    missing = sorted(chunk_set - vector_set)
    orphaned = sorted(vector_set - chunk_set)
    dup_chunks, dup_vectors = _dupes(chunk_ids), _dupes(vector_ids)
    stored_dim = (store.table("vectors").schema.field("vector").type.list_size
                  if store.has("vectors") else dim)
    non_finite = 0
    for batch in store.stream("vectors", ["vector"]):
        values = batch.column("vector").flatten().to_numpy(zero_copy_only=False)
        non_finite += int(np.count_nonzero(~np.isfinite(values)))
    wrong_model = [m for m in models if m != model_id]
    passed = not (missing or orphaned or dup_chunks or dup_vectors or non_finite
                  or wrong_model or stored_dim != dim or len(chunk_ids) != len(vector_ids))
    description = "every chunk has exactly one vector" if passed else (
        f"{len(chunk_ids)} chunks, {len(vector_ids)} vectors: {len(missing)} missing, "
        f"{len(orphaned)} orphaned, {len(dup_chunks) + len(dup_vectors)} duplicated, "
        f"{non_finite} non-finite values{'' if stored_dim == dim else ', wrong size'}"
        f"{', other models' if wrong_model else ''} — run `semcode index` to repair")
    return CheckReport(name="vectors_match_chunks", passed=passed, description=description,
                       evidence={
        "chunks": len(chunk_ids), "vectors": len(vector_ids),
        "missing_vectors": len(missing), "orphaned_vectors": len(orphaned),
        "duplicate_chunk_ids": len(dup_chunks), "duplicate_vector_ids": len(dup_vectors),
        "non_finite_values": non_finite, "dimension": stored_dim, "expected_dimension": dim,
        "models": ", ".join(models), "expected_model": model_id,
        "sample_missing": ", ".join(missing[:SAMPLE]),
        "sample_orphaned": ", ".join(orphaned[:SAMPLE]),
        "sample_duplicates": ", ".join((dup_chunks + dup_vectors)[:SAMPLE]),
    })


def chunks_match_manifest(store: Store) -> CheckReport:
    """No silent gaps: every indexed file has chunks of its current content, and no chunk
    belongs to a file that is not indexed or to an older version of it."""
    files = store.scan("files", ["path", "content_hash", "status"]).to_pylist()
    indexed = {f["path"]: f["content_hash"] for f in files if f["status"] == INDEXED}
    chunks = store.scan("chunks", ["path", "content_hash"])
    chunk_versions = set(zip(chunks.column("path").to_pylist(),
                             chunks.column("content_hash").to_pylist(), strict=True))
    chunk_paths = {p for p, _ in chunk_versions}
    without_chunks = sorted(p for p in indexed if p not in chunk_paths)
    stray = sorted({p for p, h in chunk_versions if indexed.get(p) != h})
    passed = not (without_chunks or stray)
    description = "chunks cover exactly the indexed files" if passed else (
        f"{len(without_chunks)} indexed files have no chunks, {len(stray)} files have chunks "
        "of another version or should have none — run `semcode index` to repair")
    return CheckReport(name="chunks_match_manifest", passed=passed, description=description,
                       evidence={
        "indexed_files": len(indexed), "files_with_chunks": len(chunk_paths),
        "files_without_chunks": len(without_chunks), "stray_chunk_files": len(stray),
        "sample_without_chunks": ", ".join(without_chunks[:SAMPLE]),
        "sample_stray": ", ".join(stray[:SAMPLE]),
    })


def keyword_index_answers(store: Store) -> CheckReport:
    """Keyword (and so hybrid) search can answer: the full-text index over ``chunks``
    exists, covers every row, and a query through it returns."""
    problem = store.keyword_index_problem() if store.count("chunks") else ""
    unindexed = 0
    if not problem and store.count("chunks"):
        stats = store.table("chunks").index_stats("keywords_idx")
        unindexed = stats.num_unindexed_rows if stats else 0
    passed = not problem and unindexed == 0
    return CheckReport(
        name="keyword_index_answers", passed=passed,
        description="the full-text index answers for every chunk" if passed else
        f"keyword search is broken: {problem or f'{unindexed} chunks not in the index'} — "
        "run `semcode index` to rebuild it",
        evidence={"problem": problem, "unindexed_rows": unindexed})
