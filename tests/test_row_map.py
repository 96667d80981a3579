"""The row map of a large index (``semcode/search/row_map.py``): ids to row ids, paths to spans."""

import pyarrow as pa

from semcode.search.row_map import RowMap


def _map() -> RowMap:
    return RowMap(7, pa.table({
        "chunk_id": ["bb", "aa", "cc", "dd"],
        "path": ["x.c", "y.c", "x.c", "z/ü.c"],
        "start_line": pa.array([10, 1, 1, 3], pa.int32()),
        "end_line": pa.array([20, 5, 8, 4], pa.int32()),
        "_rowid": pa.array([40, 41, 42, 2**32 + 5], pa.uint64())}))


def test_ids_find_their_row_ids_and_nothing_else():
    mapped = _map()
    assert mapped.row_ids_of(["cc", "aa", "dd", "bb"]) == {"cc": 42, "aa": 41, "bb": 40,
                                                          "dd": 2**32 + 5}
    assert mapped.row_ids_of(["ab", "", "zz", "a"]) == {}
    assert mapped.row_ids_of(["aaa", "ccc"]) == {}  # longer than any id: never cut to a match
    assert mapped.row_ids_of(["ü"]) == {}
    assert mapped.row_ids_of([]) == {}


def test_each_file_has_the_spans_of_its_chunks_in_table_order():
    mapped = _map()
    assert mapped.spans(["x.c", "z/ü.c", "nowhere.c"]) == {"x.c": [(10, 20), (1, 8)],
                                                            "z/ü.c": [(3, 4)]}
    assert mapped.version == 7


def test_an_empty_index_maps_nothing():
    empty = RowMap(1, pa.table({"chunk_id": pa.array([], pa.string()),
                                "path": pa.array([], pa.string()),
                                "start_line": pa.array([], pa.int32()),
                                "end_line": pa.array([], pa.int32()),
                                "_rowid": pa.array([], pa.uint64())}))
    assert empty.row_ids_of(["aa"]) == {} and empty.spans(["x.c"]) == {}
