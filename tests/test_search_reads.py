"""One search, three ways of reading the index: held whole in memory (small), through the
row map (large, long-lived), and from the store — the same answers, scores included, and
only the rows that can rank are read."""

import pytest

from semcode.search import index_side
from semcode.search.searcher import Searcher
from semcode.store.tables import sql_str
from tests.conftest import SEARCH_MODEL as MODEL

QUERIES = ["check that an email address is well formed", "reverse a string in place",
           "getUserName", "fixed size cache that evicts the least recently used entry"]


@pytest.mark.model
@pytest.mark.parametrize("mode", ["hybrid", "vector"])
def test_a_small_index_in_memory_answers_as_the_store_does(searcher, monkeypatch, mode):
    for _ in range(2):  # the second search of a process reads the copy
        searcher.search(QUERIES[0], k=1)
    assert searcher.index.resident() is not None  # the fixture's index is small
    monkeypatch.setattr(index_side, "RESIDENT_MAX_ROWS", -1)
    from_store = Searcher(searcher.store.uri, model=MODEL)
    assert from_store.index.resident() is None
    for query in QUERIES:
        held, read = searcher.search(query, k=8, mode=mode), from_store.search(query, k=8,
                                                                              mode=mode)
        assert [(h.chunk_id, h.start_line, h.end_line, h.text) for h in held] == \
            [(h.chunk_id, h.start_line, h.end_line, h.text) for h in read]
        assert [h.score for h in held] == pytest.approx([h.score for h in read], abs=1e-5)


@pytest.mark.model
def test_the_copy_in_memory_follows_a_write_to_the_store(searcher, tmp_path):
    import shutil

    shutil.copytree(searcher.store.uri, tmp_path / "store")
    live = Searcher(str(tmp_path / "store"), model=MODEL)
    assert live.search("reverse a string in place", k=1)[0].path == "native/strings.c"
    assert live.index.resident() is None  # a one-shot search reads only what it shows
    assert live.search("reverse a string in place", k=1)[0].path == "native/strings.c"
    before = live.index.resident()
    assert before is not None
    for table in ("vectors", "chunks"):  # what a run that deleted the file writes
        live.store.table(table).delete(f"path = {sql_str('native/strings.c')}")
    hits = live.search("reverse a string in place", k=10)
    assert hits and "native/strings.c" not in {h.path for h in hits}
    assert live.index.resident() is not before


def _answers(searcher: Searcher, mode: str) -> list:
    return [[(h.chunk_id, h.start_line, h.end_line, h.text, round(h.score, 5))
             for h in searcher.search(query, k=8, mode=mode)] for query in QUERIES]


@pytest.mark.model
def test_a_large_index_reads_rows_and_spans_through_its_row_map_as_the_store_answers(
        searcher, monkeypatch):
    monkeypatch.setattr(index_side, "RESIDENT_MAX_ROWS", -1)  # "large": not held whole
    mapped = Searcher(searcher.store.uri, model=MODEL)
    for _ in range(2):  # the second search of a process starts reading the map
        mapped.search(QUERIES[0], k=1)
    assert mapped.index.wait_for_map(60) is not None
    monkeypatch.setattr(index_side, "MAP_MAX_ROWS", -1)  # past its limit: no map
    from_store = Searcher(searcher.store.uri, model=MODEL)
    for _ in range(2):
        from_store.search(QUERIES[0], k=1)
    assert from_store.index.wait_for_map(60) is None
    for mode in ("hybrid", "vector", "keyword"):
        assert _answers(mapped, mode) == _answers(from_store, mode)
    every = searcher.store.scan("chunks", ["chunk_id", "path"])
    ids, paths = every.column("chunk_id").to_pylist(), sorted(set(every.column("path")
                                                                  .to_pylist()))
    assert mapped.index.rows(ids) == from_store.index.rows(ids)
    assert mapped.index.rows_by_row_id(ids) == from_store.index.rows(ids)  # the map alone
    assert from_store.index.rows_by_row_id(ids) == {}
    assert {p: sorted(s) for p, s in mapped.index.spans(paths).items()} == \
        {p: sorted(s) for p, s in from_store.index.spans(paths).items()}
    assert mapped.index.rows(["not-an-id"]) == {}


@pytest.mark.model
def test_the_row_map_is_left_once_the_chunks_move(searcher, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(index_side, "RESIDENT_MAX_ROWS", -1)
    shutil.copytree(searcher.store.uri, tmp_path / "store")
    live = Searcher(str(tmp_path / "store"), model=MODEL)
    for _ in range(2):
        assert live.search("reverse a string in place", k=1)[0].path == "native/strings.c"
    before = live.index.wait_for_map(60)
    assert before is not None and "native/strings.c" in before.files
    for table in ("vectors", "chunks"):  # what a run that deleted the file writes
        live.store.table(table).delete(f"path = {sql_str('native/strings.c')}")
    assert live.index.row_map() is None  # the map of the old version is not used
    hits = live.search("reverse a string in place", k=10)
    assert hits and "native/strings.c" not in {h.path for h in hits}
    after = live.index.wait_for_map(60)
    assert after is not None and after is not before
    assert "native/strings.c" not in after.files


@pytest.mark.model
def test_rows_that_cannot_reach_the_best_are_not_read_and_the_answers_are_the_same(
        searcher, monkeypatch):
    monkeypatch.setattr(index_side, "RESIDENT_MAX_ROWS", -1)  # through the store: the
    monkeypatch.setattr(index_side, "MAP_MAX_ROWS", -1)  # keyword side reads its rows
    pruned = Searcher(searcher.store.uri, model=MODEL)
    whole = Searcher(searcher.store.uri, model=MODEL)

    def every_row(fused, wanted, words, view, read):  # what a search read before
        rows = whole.rows([c for c, _ in fused], view, read)
        return sorted(((c, whole.rank_score(score, rows[c], words)) for c, score in fused
                       if c in rows), key=lambda pair: -pair[1]), rows

    monkeypatch.setattr(whole, "ranked", every_row)
    read = {"pruned": 0, "whole": 0}
    for name, one in (("pruned", pruned), ("whole", whole)):
        monkeypatch.setattr(one.index, "rows", lambda ids, name=name, reads=one.index.rows:
                            read.__setitem__(name, read[name] + len(ids)) or reads(ids))
    for query in QUERIES:
        for k in (1, 3):
            assert [(h.chunk_id, h.start_line, h.end_line, h.score)
                    for h in pruned.search(query, k=k)] == \
                [(h.chunk_id, h.start_line, h.end_line, h.score) for h in whole.search(query, k=k)]
    assert read["pruned"] < read["whole"] / 2, read  # the rows read past the keyword side's
