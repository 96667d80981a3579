"""Properties of a whole index, each with its evidence. Dagster's asset checks call these;
so do ``semcode status`` and the tests."""

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from semcode.idsets import absent, duplicated, sample
from semcode.reports import FILE_ROW, INDEXED, CheckReport, VectorReport
from semcode.status_reports import Freshness
from semcode.store.index_policy import unindexed_allowance
from semcode.store.search_indexes import keyword_index_problem
from semcode.store.tables import Store, sql_str

SAMPLE = 10


def _ids(store: Store, table: str, column: str = "chunk_id") -> pa.Array:
    return store.scan(table, [column]).column(column).combine_chunks()


def _sample(ids: pa.Array) -> list[str]:
    return sample(ids, SAMPLE)


def _examples(**found: pa.Array) -> str:
    """`` (missing e.g. a1b2…, c3d4…)`` — a few of each kind of offender, for the message."""
    parts = [f"{kind.replace('_', ' ')} e.g. {', '.join(sample(ids, 3))}"
             for kind, ids in found.items() if len(ids)]
    return f" ({'; '.join(parts)})" if parts else ""


def vectors_match_chunks(store: Store, model_id: str, dim: int) -> CheckReport:
    """One vector per chunk: no duplicate ids, equal counts and id sets, the model's
    dimension, finite values, one model."""
    chunk_ids, vector_ids = _ids(store, "chunks"), _ids(store, "vectors")
    other = f"model != {sql_str(model_id)}"
    wrong_model = sorted(pc.unique(store.scan("vectors", ["model"], other).column("model"))
                         .to_pylist()) if store.count("vectors", other) else []
    dup_chunks, missing = duplicated(chunk_ids), absent(chunk_ids, vector_ids)
    # Every chunk id among as many vector ids, all distinct: the vector ids are the same set,
    # so they hold no duplicate and no orphan (the usual case, two passes saved).
    same = not len(dup_chunks) and not len(missing) and len(vector_ids) == len(chunk_ids)
    none = vector_ids.slice(0, 0)
    dup_vectors = none if same else duplicated(vector_ids)
    orphaned = none if same else absent(vector_ids, chunk_ids)
    stored_dim = (store.table("vectors").schema.field("vector").type.list_size
                  if store.has("vectors") else dim)
    non_finite = 0
    for batch in store.stream("vectors", ["vector"], batch_size=65536):
        values = batch.column("vector").flatten().to_numpy(zero_copy_only=False)
        non_finite += int(np.count_nonzero(~np.isfinite(values)))
    passed = not (len(missing) or len(orphaned) or len(dup_chunks) or len(dup_vectors)
                  or non_finite or wrong_model or stored_dim != dim
                  or len(chunk_ids) != len(vector_ids))
    description = "every chunk has exactly one vector" if passed else (
        f"{len(chunk_ids)} chunks, {len(vector_ids)} vectors: {len(missing)} missing, "
        f"{len(orphaned)} orphaned, {len(dup_chunks) + len(dup_vectors)} duplicated, "
        f"{non_finite} non-finite values{'' if stored_dim == dim else ', wrong size'}"
        f"{', other models' if wrong_model else ''}"
        f"{_examples(missing=missing, orphaned=orphaned, duplicated=dup_chunks)}"
        " — run `semcode index` to repair")
    return CheckReport(name="vectors_match_chunks", passed=passed, description=description,
                       evidence={
        "chunks": len(chunk_ids), "vectors": len(vector_ids),
        "missing_vectors": len(missing), "orphaned_vectors": len(orphaned),
        "duplicate_chunk_ids": len(dup_chunks), "duplicate_vector_ids": len(dup_vectors),
        "non_finite_values": non_finite, "dimension": stored_dim, "expected_dimension": dim,
        "other_models": ", ".join(wrong_model), "expected_model": model_id,
        "sample_missing": ", ".join(_sample(missing)),
        "sample_orphaned": ", ".join(_sample(orphaned)),
        "sample_duplicates": ", ".join((_sample(dup_chunks) + _sample(dup_vectors))[:SAMPLE]),
    })


def chunks_match_manifest(store: Store) -> CheckReport:
    """No silent gaps: every indexed file has chunks of its current content, and no chunk
    belongs to a file that is not indexed or to an older version of it."""
    files = store.scan("files", ["path", "content_hash", "status"])
    indexed = files.filter(pc.equal(files.column("status"), INDEXED)) \
        .select(["path", "content_hash"])
    versions = store.scan("chunks", ["path", "content_hash"]) \
        .group_by(["path", "content_hash"]).aggregate([])  # each (file, version) once
    chunk_paths = pc.unique(versions.column("path").combine_chunks())
    indexed_paths = indexed.column("path").combine_chunks()
    without_chunks = absent(indexed_paths, chunk_paths)
    stray = pc.unique(versions.join(indexed, keys=["path", "content_hash"],
                                    join_type="left anti").column("path").combine_chunks())
    passed = not (len(without_chunks) or len(stray))
    description = "chunks cover exactly the indexed files" if passed else (
        f"{len(without_chunks)} indexed files have no chunks, {len(stray)} files have chunks "
        f"of another version or should have none"
        f"{_examples(without_chunks=without_chunks, stray=stray)} — run `semcode index` to "
        "repair")
    return CheckReport(name="chunks_match_manifest", passed=passed, description=description,
                       evidence={
        "indexed_files": len(indexed_paths), "files_with_chunks": len(chunk_paths),
        "files_without_chunks": len(without_chunks), "stray_chunk_files": len(stray),
        "sample_without_chunks": ", ".join(_sample(without_chunks)),
        "sample_stray": ", ".join(_sample(stray)),
    })


def symbols_match_chunks(store: Store) -> CheckReport:
    """Navigation answers from the same index as search: every indexed file's current
    version has its symbols (its ``file`` row, written in the same pass as its chunks), no
    file version has symbols it should not, and every definition and reference points at
    a chunk that exists."""
    files = store.scan("files", ["path", "content_hash", "status"])
    indexed = files.filter(pc.equal(files.column("status"), INDEXED)) \
        .select(["path", "content_hash"])
    read = store.scan("symbols", ["path", "content_hash"], f"role = {sql_str(FILE_ROW)}")
    without = indexed.join(read, keys=["path", "content_hash"], join_type="left anti") \
        .column("path").combine_chunks()
    stray = pc.unique(read.join(indexed, keys=["path", "content_hash"],
                                join_type="left anti").column("path").combine_chunks())
    pointed = pa.concat_arrays([pc.unique(batch.column("chunk_id")) for batch in store.stream(
        "symbols", ["chunk_id"], f"role != {sql_str(FILE_ROW)}", batch_size=65536)]
        or [pa.array([], pa.string())])
    dangling = absent(pc.unique(pointed), _ids(store, "chunks"))
    passed = not (len(without) or len(stray) or len(dangling))
    description = "every indexed file has its symbols, each pointing at a chunk" if passed \
        else (f"{len(without)} indexed files have no symbols of their current version, "
              f"{len(stray)} files have symbols they should not, {len(dangling)} chunks "
              f"named by symbols do not exist"
              f"{_examples(without_symbols=without, stray=stray, dangling=dangling)} — run "
              "`semcode index` to repair")
    return CheckReport(name="symbols_match_chunks", passed=passed, description=description,
                       evidence={
        "indexed_files": indexed.num_rows, "files_with_symbols": read.num_rows,
        "files_without_symbols": len(without), "stray_symbol_files": len(stray),
        "dangling_chunk_ids": len(dangling),
        "sample_without_symbols": ", ".join(_sample(without)),
        "sample_dangling": ", ".join(_sample(dangling)),
    })


def keyword_index_answers(store: Store) -> CheckReport:
    """Keyword (and so hybrid) search can answer: the full-text index over ``chunks``
    exists, a query through it returns, and the rows written since it was last brought up to
    date (which queries scan beside it) are within their allowance."""
    rows = store.count("chunks")
    problem = keyword_index_problem(store) if rows else ""
    unindexed = 0
    if not problem and rows:
        stats = store.table("chunks").index_stats("keywords_idx")
        unindexed = stats.num_unindexed_rows if stats else 0
    passed = not problem and unindexed <= unindexed_allowance(rows)
    return CheckReport(
        name="keyword_index_answers", passed=passed,
        description="the full-text index answers for every chunk" if passed else
        f"keyword search is broken: {problem or f'{unindexed} chunks not in the index'} — "
        "run `semcode index` to rebuild it",
        evidence={"problem": problem, "unindexed_rows": unindexed,
                  "unindexed_allowance": unindexed_allowance(rows)})


def index_matches_head(fresh: Freshness, indexed: str | None) -> CheckReport:
    """The index holds the head of its branch (a warning, not a failure: a lagging index
    still answers, about older code). Outside git there is no head to lag."""
    passed = bool(fresh.fresh) or fresh.head is None
    if passed:
        description = f"the index holds the head of {fresh.branch}" if fresh.head else \
            "not a git repository: nothing to lag behind"
    else:
        lag = f"{fresh.behind} commit(s) behind" if fresh.behind is not None else "not at"
        description = (f"the index is {lag} {fresh.branch} (indexed "
                       f"{(indexed or 'nothing')[:12]}, head {(fresh.head or '?')[:12]}) — "
                       "turn on git_push_sensor, or run `semcode index`")
    return CheckReport(name="index_matches_branch_head", passed=passed, description=description,
                       evidence={"branch": fresh.branch or "", "head": fresh.head or "",
                                 "indexed_commit": indexed or "",
                                 "commits_behind": fresh.behind if fresh.behind is not None
                                 else -1})


VectorsCheck = Callable[[Store, str, int], CheckReport]


def live_checks(store: Store, vectors: VectorReport | None,
                vectors_check: "VectorsCheck | None" = None) -> dict[str, bool]:
    """The checks run now against the store as it is — not the verdicts of the last run,
    which a crash or a hand edit since may have made untrue."""
    return {report.name: report.passed
            for report in live_check_reports(store, vectors, vectors_check)}


def live_check_reports(store: Store, vectors: VectorReport | None,
                       vectors_check: "VectorsCheck | None" = None) -> list[CheckReport]:
    """The same checks with their evidence and, when one fails, what it found;
    ``vectors_check``: how ``vectors_match_chunks`` is decided (in full by default)."""
    if vectors is None or not store.has("vectors"):
        empty = store.count("chunks") == 0
        return [CheckReport(name="vectors_match_chunks", passed=empty,
                            description="no vectors yet" if empty else
                            "chunks without any vectors — run `semcode index`"),
                chunks_match_manifest(store), keyword_index_answers(store),
                symbols_match_chunks(store)]
    return [(vectors_check or vectors_match_chunks)(store, vectors.model, vectors.dim or
                                                    store.table("vectors").schema.field(
                                                        "vector").type.list_size),
            chunks_match_manifest(store), keyword_index_answers(store),
            symbols_match_chunks(store)]
