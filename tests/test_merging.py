"""Hits that are pieces of one definition become one hit; other hits stay as they are."""

from semcode.search.hits import Hit
from semcode.search.merging import merge_pieces


def hit(start, end, symbol="Client.send", part_of=(10, 60), score=1.0, side="vector",
        path="client.py"):
    text = "\n".join(f"line {n}" for n in range(start, end + 1))
    return Hit(path=path, start_line=start, end_line=end, symbol=symbol, language="python",
               kind="method", score=score, text=text, chunk_id=f"{path}:{start}",
               matched_by=side, part_of=part_of)


def spans_of(*spans):
    def spans_for(paths):
        return {"client.py": list(spans)}
    return spans_for


def test_touching_windows_of_one_function_become_one_hit():
    first, second = hit(10, 30, score=0.9), hit(32, 60, score=0.5, side="keyword")
    merged = merge_pieces([first, hit(70, 80, symbol="other", part_of=(70, 80)), second],
                          spans_of((10, 30), (32, 60), (70, 80)), k=10)
    assert [(h.start_line, h.end_line) for h in merged] == [(10, 60), (70, 80)]
    top = merged[0]
    assert top.score == 0.9 and top.matched_by == "both"
    assert top.text.split("\n")[20:23] == ["line 30", "", "line 32"]  # the blank line between


def test_a_getter_and_its_setter_stay_apart():
    getter = hit(10, 14, symbol="Response.request", part_of=(10, 14))
    setter = hit(16, 18, symbol="Response.request", part_of=(16, 18))
    merged = merge_pieces([getter, setter], spans_of((10, 14), (16, 18)), k=10)
    assert [(h.start_line, h.end_line) for h in merged] == [(10, 14), (16, 18)]


def test_a_piece_apart_from_a_better_piece_of_its_definition_is_left_out():
    """A closure lies between two windows of one function: the better window stands for the
    function (its part_of names the whole span) and the next hit takes the second place."""
    other = hit(70, 80, symbol="other", part_of=(70, 80))
    merged = merge_pieces([hit(10, 20, score=0.9), hit(40, 60, score=0.8), other],
                          spans_of((10, 20), (22, 38), (40, 60), (70, 80)), k=2)
    assert [(h.start_line, h.end_line, h.symbol) for h in merged] == \
        [(10, 20, "Client.send"), (70, 80, "other")]
    assert merged[0].part_of == (10, 60)


def test_a_closure_stays_apart_from_the_function_around_it():
    outer, inner = hit(10, 12), hit(13, 20, symbol="Client.send.retry", part_of=(13, 20))
    after = hit(21, 30)  # the function's lines after the closure: a piece of the outer one
    merged = merge_pieces([outer, inner, after], spans_of((10, 12), (13, 20), (21, 30)), k=10)
    assert [(h.start_line, h.end_line) for h in merged] == [(10, 12), (13, 20)]


def test_glue_code_outside_definitions_is_neither_joined_nor_left_out():
    a, b = hit(1, 5, symbol="", part_of=(1, 99)), hit(6, 9, symbol="", part_of=(1, 99))
    c = hit(20, 29, symbol="", part_of=(1, 99))
    assert len(merge_pieces([a, b, c], spans_of((1, 5), (6, 9), (20, 29)), k=10)) == 3


def test_k_counts_merged_hits_and_late_pieces_still_fold_in():
    hits = [hit(10, 30), hit(70, 80, symbol="b", part_of=(70, 80)), hit(32, 60)]
    merged = merge_pieces(hits, spans_of((10, 30), (32, 60), (70, 80)), k=1)
    assert [(h.start_line, h.end_line) for h in merged] == [(10, 60)]


def test_a_piece_between_two_kept_pieces_joins_all_three():
    hits = [hit(10, 20), hit(42, 60), hit(22, 40)]
    merged = merge_pieces(hits, spans_of((10, 20), (22, 40), (42, 60)), k=10)
    assert [(h.start_line, h.end_line) for h in merged] == [(10, 60)]


def test_an_index_without_definition_spans_merges_nothing():
    hits = [hit(10, 30, part_of=(0, 0)), hit(32, 60, part_of=(0, 0))]
    assert merge_pieces(hits, spans_of(), k=10) == hits


def test_windows_that_meet_line_to_line_need_no_spans_and_a_gap_reads_them_once():
    read = []

    def spans_for(paths):
        read.append(list(paths))
        return {"client.py": [(10, 30), (31, 40), (42, 60)]}

    merged = merge_pieces([hit(10, 30), hit(31, 40)], spans_for, k=10)
    assert [(h.start_line, h.end_line) for h in merged] == [(10, 40)] and read == []
    merged = merge_pieces([hit(10, 30), hit(42, 60), hit(31, 40)], spans_for, k=10)
    assert [(h.start_line, h.end_line) for h in merged] == [(10, 60)]
    assert read == [["client.py"]]
