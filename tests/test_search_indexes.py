"""The search indexes at scale: rows written since an index was last brought up to date are
still found, and the table is compacted only once they are a few percent of it."""

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest
from lancedb.query import MatchQuery

from semcode.store.checks import keyword_index_answers
from semcode.store.index_policy import ann_config, unindexed_allowance
from semcode.store.search_indexes import refresh
from semcode.store.tables import Store, vectors_schema


def _chunks(paths: list[str], shard: int = 0, word: str = "common") -> list[dict]:
    return [{"chunk_id": f"{p}#0", "path": p, "shard": shard, "language": "c",
             "kind": "function", "symbol": p, "start_line": 1, "end_line": 1, "text": p,
             "text_hash": p, "keywords": f"{word} {p.replace('/', ' ')}",
             "content_hash": p, "commit": "c1"} for p in paths]


def _keyword_hits(store: Store, word: str) -> list[str]:
    match = MatchQuery(word, "keywords")  # type: ignore[call-arg]
    return store.table("chunks").search(match, query_type="fts").limit(5) \
        .to_arrow().column("path").to_pylist()


def _unindexed(store: Store) -> int:
    return store.table("chunks").index_stats("keywords_idx").num_unindexed_rows


def test_a_small_write_is_searched_beside_the_index_and_a_large_one_is_folded_in(tmp_path):
    store = Store(str(tmp_path / "store"))
    store.write_shard(0, _chunks([f"f{i}" for i in range(1000)]), [])
    refresh(store)
    assert _unindexed(store) == 0

    store.write_shard(1, _chunks(["fresh"], shard=1, word="brandnew"), ["fresh"])
    assert refresh(store).get("chunks") is None  # no compaction for one row
    assert _unindexed(store) == 1 <= unindexed_allowance(1001)
    assert _keyword_hits(store, "brandnew") == ["fresh"]
    assert keyword_index_answers(store).passed

    many = [f"g{i}" for i in range(100)]
    store.write_shard(2, _chunks(many, shard=2), many)
    assert _unindexed(store) > unindexed_allowance(store.count("chunks"))
    assert not keyword_index_answers(store).passed  # the check sees an index left behind
    assert refresh(store).get("chunks") == "optimized"
    assert _unindexed(store) == 0 and keyword_index_answers(store).passed
    assert _keyword_hits(store, "brandnew") == ["fresh"]


def _vectors_table(store: Store, vectors: np.ndarray, first: int = 0):
    """A ``vectors`` table of these rows (added to it, when there is one), chunk ``c<i>``
    (also its path) for row i, counted from ``first``."""
    rows, width = vectors.shape
    ids = pa.array([f"c{i}" for i in range(first, first + rows)])
    table = store.table("vectors", vectors_schema(width))
    table.add(pa.Table.from_arrays(
        [ids, ids, pa.array(["m"] * rows), ids, pa.array(["c"] * rows),
         pa.array(["function"] * rows),
         pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), width)],
        schema=vectors_schema(width)))
    return table


def test_the_ann_index_has_partitions_of_bounded_size(tmp_path):
    assert ann_config(1_420_000).num_partitions == 71
    assert ann_config(50_000).num_partitions == 2
    store = Store(str(tmp_path / "store"))
    vectors = np.random.default_rng(0).standard_normal((2000, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = _vectors_table(store, vectors)
    assert refresh(store, ann_min_rows=1000)["ann"] == "created"
    hit = table.search(vectors[7]).distance_type("cosine").limit(1).to_arrow()
    assert hit.column("chunk_id").to_pylist() == ["c7"]


def _recall_through(tmp_path, monkeypatch, config, rows: int = 4000) -> Callable[..., float]:
    """Recall@10 against exact search of 20 random queries over ``rows`` random vectors indexed
    with ``config``, searched as an index side with the given settings searches."""
    from semcode.search import index_side

    monkeypatch.setattr(index_side, "RESIDENT_MAX_ROWS", -1)  # through LanceDB's index
    store = Store(str(tmp_path / "store"))
    store.chunks()
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((rows, 16)).astype(np.float32)
    ids = [f"c{i}" for i in range(rows)]
    _vectors_table(store, vectors).create_index("vector", config=config)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def recall(**settings: int) -> float:
        side = index_side.IndexSide(store, **settings)
        found = 0
        for q in rng.standard_normal((20, 16)).astype(np.float32):
            exact = {ids[i] for i in np.argsort(-(unit @ q))[:10]}
            found += len(exact & {cid for cid, _ in side.vector_ranking(q, 10, None)})
        return found / 200

    return recall


def test_a_search_probes_the_partitions_it_is_told(tmp_path, monkeypatch):
    from lancedb.index import IvfFlat

    from semcode.config import ConfigError, Settings

    recall = _recall_through(tmp_path, monkeypatch,
                             IvfFlat(distance_type="cosine", num_partitions=32))
    assert recall(nprobes=32) == 1.0 > recall(nprobes=1)
    assert Settings.from_env({"SEMCODE_NPROBES": "40"}).nprobes == 40
    with pytest.raises(ConfigError, match="SEMCODE_NPROBES"):
        Settings.from_env({"SEMCODE_NPROBES": "0"})


def test_a_search_re_ranks_the_candidates_it_is_told_by_their_whole_vectors(tmp_path,
                                                                            monkeypatch):
    from lancedb.index import IvfPq

    from semcode.config import ConfigError, Settings

    # Coarse codes, trained at random: how well they rank varies from one build to the next.
    # 10 x 100 candidates are all 1,000 rows, so re-ranking them by their whole vectors is
    # exact whatever the training gave (a bound of 0.95 on 4,000 rows failed once in CI).
    recall = _recall_through(tmp_path, monkeypatch, IvfPq(
        distance_type="cosine", num_partitions=2, num_sub_vectors=2, num_bits=4), rows=1000)
    assert recall(nprobes=2, refine=100) == 1.0 > recall(nprobes=2, refine=10) > \
        recall(nprobes=2, refine=1)
    assert Settings.from_env({"SEMCODE_REFINE": "5"}).refine == 5
    assert Settings().refine == 1
    with pytest.raises(ConfigError, match="SEMCODE_REFINE"):
        Settings.from_env({"SEMCODE_REFINE": "101"})


def test_the_vector_side_scores_cosines_whether_or_not_rows_lie_outside_the_ann_index(
        tmp_path, monkeypatch):
    """LanceDB's IVF-HNSW-SQ answers a table its index covers whole with the 8-bit copies'
    squared distance (twice the cosine distance, roughly) and a table with rows outside it
    with the exact cosine distance: the vector side re-ranks by the whole vectors, so a
    score is a cosine either way (the blend and the working tree's own scores assume it)."""
    from semcode.search import index_side

    monkeypatch.setattr(index_side, "RESIDENT_MAX_ROWS", -1)  # through LanceDB's index
    store = Store(str(tmp_path / "store"))
    store.chunks()
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((3000, 16)).astype(np.float32)
    table = _vectors_table(store, vectors)
    table.create_index("vector", config=ann_config(3000))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((5, 16)).astype(np.float32)

    def scores_are_cosines() -> None:
        side = index_side.IndexSide(store)
        for q in queries:
            ranked = side.vector_ranking(q, 10, None)
            exact = {f"c{i}": float(unit[i] @ q / np.linalg.norm(q)) for i in range(len(unit))}
            assert [s for _, s in ranked] == pytest.approx([exact[c] for c, _ in ranked],
                                                           abs=1e-5)

    scores_are_cosines()  # every row in the index
    vectors = np.concatenate([vectors, rng.standard_normal((2, 16)).astype(np.float32)])
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    _vectors_table(store, vectors[3000:], first=3000)
    scores_are_cosines()  # two rows outside it


def test_a_large_index_searches_its_index_s_own_version_and_the_writes_since_as_one(
        tmp_path, monkeypatch):
    """After a push, a long-lived searcher searches the version of ``vectors`` that its ANN
    index covers whole (no row mask), less the chunks deleted since, plus the ones added
    since scored in memory: the answer of the current version, scores included (both
    re-rank enough candidates here to be exact); a deleted chunk is never answered, an
    added one is."""
    from semcode.search import index_side

    monkeypatch.setattr(index_side, "RESIDENT_MAX_ROWS", -1)  # "large"
    store = Store(str(tmp_path / "store"))
    store.chunks()
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((3040, 16)).astype(np.float32)
    queries = rng.standard_normal((12, 16)).astype(np.float32)
    vectors[3000] = queries[1] * 2  # to be added: the nearest there is to query 1
    table = _vectors_table(store, vectors[:3000])
    table.create_index("vector", config=ann_config(3000))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = [[f"c{i}" for i in np.argsort(-(unit[:3000] @ q))[:12]] for q in queries]
    gone = [exact[0][0], *exact[2]]  # query 2 loses all its 12 nearest: a deeper look
    table.delete(f"chunk_id IN ({', '.join(repr(c) for c in gone)})")
    _vectors_table(store, vectors[3000:], first=3000)

    live = index_side.IndexSide(store, refine=20)
    for _ in range(2):  # the second search starts the reads
        with live.one_reading():
            pass
    live.wait_for_map(60)
    indexed = live.indexed_version()
    assert indexed is not None and indexed.version == store.table("vectors").version
    assert indexed.base.version < indexed.version
    assert sorted(indexed.deleted.to_pylist()) == sorted(gone)
    assert indexed.added.num_rows == 40
    current = index_side.IndexSide(store, refine=20)  # never reads it: the store's version
    kept = np.array([f"c{i}" not in gone for i in range(3040)])
    for q in queries:
        with live.one_reading():
            got = live.vector_ranking(q, 10, None)
        want = current.vector_ranking(q, 10, None)
        scores = np.where(kept, unit @ q / np.linalg.norm(q), -2.0)
        assert [c for c, _ in got] == [c for c, _ in want] == \
            [f"c{i}" for i in np.argsort(-scores)[:10]]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)
    with live.one_reading():
        assert live.vector_ranking(queries[1], 1, None)[0][0] == "c3000"
        assert exact[0][0] not in {c for c, _ in live.vector_ranking(queries[0], 10, None)}
        deeper = [c for c, _ in live.vector_ranking(queries[2], 10, None)]
    assert len(deeper) == 10 and not set(deeper) & set(gone)

    def cleaned_up(*_):
        raise OSError("Not found: vectors.lance/_versions/3.manifest")
    monkeypatch.setattr(type(indexed), "nearest", cleaned_up)  # the current version answers
    with live.one_reading():
        assert live.vector_ranking(queries[1], 3, None) == current.vector_ranking(queries[1],
                                                                                  3, None)

    store.table("vectors").optimize()  # the index covers the table whole again: not needed
    caught_up = index_side.IndexSide(store)
    for _ in range(2):
        with caught_up.one_reading():
            pass
    caught_up.wait_for_map(60)
    assert store.table("vectors").index_stats("vector_idx").num_unindexed_rows == 0
    assert caught_up.indexed_version() is None
