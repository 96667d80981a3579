"""The overlay: search answers from the verified index plus what the checkout changed —
edits, new files, deletions, renames, commits not indexed, another worktree — and never
writes to the index. Real git checkouts, the real model, real search."""

import json
import shutil
from dataclasses import replace

import pyarrow as pa
import pytest

from semcode.config import default_store_uri
from semcode.ingest import worktree
from semcode.interfaces import cli
from semcode.interfaces.status import index_status
from semcode.search import overlay, overlay_file
from semcode.search.searcher import Searcher
from tests.conftest import git

pytestmark = [pytest.mark.model]

KELVIN = ('\n\ndef convert_kelvin_to_celsius(kelvin):\n'
          '    """Turn a temperature in kelvin into degrees celsius."""\n'
          '    return kelvin - 273.15\n')
QUERY = "convert a kelvin temperature to celsius"


def searcher(work) -> Searcher:
    checkout, store = work
    return Searcher(store, checkout=checkout)


def append(path, text=KELVIN):
    with open(path, "a") as f:
        f.write(text)


def searched(work) -> Searcher:
    """A searcher that has answered once with cart.py edited (its overlay written)."""
    append(work[0] / "src/shop/cart.py")
    found = searcher(work)
    found.search(QUERY)
    return found


def where(hits, symbol):
    return next(((h.source, h.path, h.start_line, h.end_line) for h in hits
                 if h.symbol == symbol), None)


def test_an_uncommitted_function_is_found_from_the_working_tree(work):
    checkout, _ = work
    append(checkout / "src/shop/cart.py")
    for mode in ("hybrid", "keyword", "vector"):
        hits = searcher(work).search(QUERY if mode != "keyword" else "kelvin", k=3, mode=mode)
        assert hits[0].symbol == "convert_kelvin_to_celsius", mode
        assert hits[0].source == "worktree" and hits[0].path == "src/shop/cart.py"


def test_lines_below_an_edit_are_reported_where_they_are_now(work):
    checkout, store = work
    path = checkout / "src/shop/cart.py"
    indexed = where(Searcher(store).search("add an item to the cart", k=5), "Cart.add_item")
    assert indexed is not None and indexed[0] == "index"
    path.write_text("# a header of three lines\n# pushes every line\n# down\n" + path.read_text())
    now = where(searcher(work).search("add an item to the cart", k=5), "Cart.add_item")
    assert now == ("worktree", "src/shop/cart.py", indexed[2] + 3, indexed[3] + 3)


def test_functions_of_a_deleted_file_are_gone(work):
    checkout, store = work
    assert "validate_email_address" in {h.symbol for h in Searcher(store).search(
        "validate email address", k=5, mode="keyword")}
    (checkout / "src/shop/users.py").unlink()
    hits = searcher(work).search("validate email address", k=10, mode="keyword")
    assert all(h.path != "src/shop/users.py" for h in hits)


def test_a_renamed_file_answers_at_its_new_path(work):
    checkout, _ = work
    git(checkout, "mv", "src/shop/users.py", "src/shop/accounts.py")
    hits = searcher(work).search("check that an email address is well formed", k=5)
    assert where(hits, "validate_email_address")[:2] == ("worktree", "src/shop/accounts.py")
    assert all(h.path != "src/shop/users.py" for h in hits)


def test_an_untracked_file_is_found_and_an_ignored_one_is_not(work):
    checkout, _ = work
    (checkout / ".gitignore").write_text("scratch/\n")
    (checkout / "scratch").mkdir()
    (checkout / "scratch/kelvin.py").write_text(KELVIN)
    (checkout / "src/temperature.py").write_text(KELVIN.replace("convert_kelvin",
                                                                "turn_kelvin"))
    hits = searcher(work).search("kelvin", k=5, mode="keyword")
    assert [(h.symbol, h.path, h.source) for h in hits] == \
        [("turn_kelvin_to_celsius", "src/temperature.py", "worktree")]


def test_commits_the_index_has_not_seen_are_searched(work):
    checkout, store = work
    git(checkout, "checkout", "-q", "-b", "feature")
    (checkout / "src/temperature.py").write_text(KELVIN)
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "kelvin")
    (checkout / "src/shop/users.py").unlink()
    git(checkout, "commit", "-q", "-am", "no users")
    assert git(checkout, "status", "--porcelain") == ""  # nothing uncommitted
    hits = searcher(work).search(QUERY, k=10)
    assert hits[0].symbol == "convert_kelvin_to_celsius" and hits[0].source == "worktree"
    assert all(h.path != "src/shop/users.py" for h in hits)
    status = index_status(store, str(checkout))
    assert status.worktree.commits_ahead == 2 and status.worktree.changed_files == 2
    assert status.worktree.deleted == 1 and status.up_to_date is False


def test_each_text_is_embedded_at_most_once(work):
    checkout, _ = work
    (checkout / "src/shop/copy.py").write_text((checkout / "src/shop/cart.py").read_text())
    append(checkout / "src/shop/users.py")
    found = searcher(work)
    found.search(QUERY)
    assert found.overlay.embedded == 1  # the copy's texts and users.py's others are indexed
    found.search("something else")
    assert found.overlay.embedded == 0  # nothing changed since: nothing read or embedded
    again = searcher(work)  # a new process reads the overlay back
    assert again.search(QUERY)[0].source == "worktree" and again.overlay.embedded == 0


def test_undoing_the_edits_gives_the_index_answers_again(work):
    checkout, store = work
    queries = ["add an item to the cart", "validate email address", QUERY]
    indexed = [[(h.path, h.start_line, h.score) for h in Searcher(store).search(q)]
               for q in queries]
    append(checkout / "src/shop/cart.py")
    (checkout / "src/shop/users.py").unlink()
    (checkout / "src/new.py").write_text(KELVIN)
    found = searcher(work)
    assert found.search(QUERY)[0].source == "worktree"
    git(checkout, "checkout", "--", ".")
    (checkout / "src/new.py").unlink()
    assert [[(h.path, h.start_line, h.score) for h in found.search(q)] for q in queries] \
        == indexed
    status = index_status(store, str(checkout))
    assert status.up_to_date and status.worktree.state == "clean"


def test_similar_works_from_a_line_of_an_edited_file(work):
    checkout, _ = work
    path = checkout / "src/shop/cart.py"
    lines = len(path.read_text().splitlines())
    append(path)
    hits = searcher(work).similar("src/shop/cart.py", lines + 4, k=3)
    assert hits and all(not (h.path == "src/shop/cart.py" and h.start_line > lines)
                        for h in hits)  # never itself


def test_status_says_what_differs_and_whether_the_overlay_covers_it(work):
    checkout, store = work
    assert index_status(store, str(checkout)).up_to_date
    append(checkout / "src/shop/cart.py")
    (checkout / "blob.bin.py").write_bytes(b"\0\1\2binary")
    (checkout / "latin1.py").write_bytes("caf\xe9 = 1\n".encode("latin-1"))
    (checkout / "huge.py").write_text("x = 1\n" * 200_000)  # 1.2 MB: over the index's limit
    status = index_status(store, str(checkout))
    assert not status.up_to_date and status.worktree.state == "stale"
    assert status.worktree.changed_files == 4
    searcher(work).search(QUERY)
    status = index_status(store, str(checkout))
    report = status.worktree
    assert (report.state, report.changed_files, report.indexed, report.skipped) == \
        ("current", 4, 1, 3)
    assert report.skip_reasons == {"binary": 1, "invalid_utf8": 1, "too_large": 1}
    assert "+ overlay of 4 changed file(s) (current)" in status.text()
    assert json.loads(status.to_json())["worktree"]["state"] == "current"


def test_a_changed_file_the_working_tree_excludes_hides_its_index_chunks(work):
    checkout, store = work
    with open(checkout / ".semcodeignore", "a") as ignore:
        ignore.write("src/shop/cart.py\n")
    append(checkout / "src/shop/cart.py")
    hits = searcher(work).search("add an item to the cart", k=20)
    assert not [h for h in hits if h.path == "src/shop/cart.py"]  # not the stale chunks
    report = index_status(store, str(checkout)).worktree
    assert report.skip_reasons.get("excluded") == 1 and report.state == "current"


@pytest.mark.parametrize("edit", [False, True], ids=["ignore-file-only", "and-an-edit"])
def test_status_is_never_up_to_date_while_git_lists_changes(work, edit):
    """``*`` in the working tree's .semcodeignore excludes every changed path by name — and
    the checkout still differs from the index."""
    checkout, store = work
    with open(checkout / ".semcodeignore", "a") as ignore:
        ignore.write("*\n")
    if edit:
        append(checkout / "src/shop/cart.py")
    searcher(work).search(QUERY)
    status = index_status(store, str(checkout))
    assert not status.up_to_date and status.worktree.state != "clean"
    assert "left out" in status.text() or status.worktree.changed_files


def test_attribute_marks_and_lfs_pointers_are_skips_in_the_working_tree(work):
    checkout, store = work
    (checkout / ".gitattributes").write_text("gen/** linguist-generated\n")
    (checkout / "gen").mkdir()
    (checkout / "gen" / "kelvin.py").write_text(KELVIN)
    (checkout / "weights.py").write_bytes(
        b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"ab" * 32 +
        b"\nsize 99\n")
    hits = searcher(work).search(QUERY, k=20)
    assert not [h for h in hits if h.path in ("gen/kelvin.py", "weights.py")]
    report = index_status(store, str(checkout)).worktree
    assert report.skip_reasons.get("generated") == 1
    assert report.skip_reasons.get("lfs_pointer") == 1


def many_functions(count: int) -> str:
    """An untracked file of ``count`` small functions (a generated table, a fixture)."""
    return "".join(f'def scale_reading_{i}(value):\n    """Scale sensor reading {i}."""\n'
                   f"    return value * {i}\n\n" for i in range(count)) + KELVIN


def test_a_file_past_the_budget_is_pending_and_each_search_goes_on(work):
    """One file of 1,500 functions: a search with a small budget answers (the index's hits)
    and names the file as not searched yet; later searches go on from where the last
    stopped, embedding no text twice, until the file's code is found from the working tree."""
    checkout, store = work
    (checkout / "readings.py").write_text(many_functions(1500))
    found = searcher(work)
    found.overlay.budget = 0.05  # one batch a search, after reading
    answer = found.answer("add an item to the cart")
    assert answer.hits and answer.hits[0].source == "index"
    assert any("not searched yet" in w and "readings.py" in w for w in answer.warnings)
    report = index_status(store, str(checkout)).worktree
    assert (report.state, report.pending) == ("partial", 1)
    embedded, rounds = found.overlay.embedded, 1
    while found.overlay.pending:
        found.search(QUERY)
        embedded += found.overlay.embedded
        rounds += 1
        assert rounds < 40, "the overlay makes no progress"
    assert embedded == 1501  # each function's text once (the kelvin one too)
    hit = found.search(QUERY)[0]
    assert (hit.symbol, hit.source) == ("convert_kelvin_to_celsius", "worktree")
    assert index_status(store, str(checkout)).worktree.state == "current"


@pytest.mark.parametrize("value", ["soon", "-1", "1e9"])
def test_a_budget_that_is_not_seconds_names_the_variable(work, monkeypatch, capsys, value):
    checkout, store = work
    monkeypatch.setenv("SEMCODE_OVERLAY_SECONDS", value)
    assert cli.main(["search", "cart", "--repo", str(checkout), "--store", store]) == 1
    assert "SEMCODE_OVERLAY_SECONDS" in capsys.readouterr().err


def test_an_edited_file_past_the_budget_keeps_its_index_chunks_until_done(work):
    checkout, _ = work
    append(checkout / "src/shop/cart.py", many_functions(300))
    found = searcher(work)
    found.overlay.budget = 0.0
    hits = found.search("add an item to the cart")
    assert (hits[0].path, hits[0].source) == ("src/shop/cart.py", "index")


def test_a_damaged_overlay_is_rebuilt_not_trusted(work):
    file = searched(work).overlay.file
    data = bytearray(file.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
    file.write_bytes(bytes(data))
    assert overlay_file.read_overlay(file) is None
    again = searcher(work)
    assert again.search(QUERY)[0].source == "worktree"
    assert overlay_file.read_overlay(file) is not None


def test_the_overlay_rule_refuses_a_chunk_without_its_vector(work):
    saved = overlay_file.read_overlay(searched(work).overlay.file)
    assert saved is not None and overlay_file.consistent(saved)
    rows = saved.rows
    vectors = rows.column("vector").combine_chunks()
    values = vectors.flatten().to_numpy().copy()
    values[0] = float("nan")
    unreadable = pa.FixedSizeListArray.from_arrays(pa.array(values), vectors.type.list_size)
    for broken in (rows.take([0, *range(rows.num_rows)]),  # an id twice
                   rows.set_column(rows.schema.get_field_index("vector"),
                                   rows.schema.field("vector"), unreadable),  # not a vector
                   rows.slice(0, 0)):  # an indexed file without its chunks
        assert not overlay_file.consistent(replace(saved, rows=broken))


def test_past_the_limit_the_overlay_stops_and_says_what_to_run(work, monkeypatch):
    checkout, _ = work
    monkeypatch.setattr(worktree, "MAX_CHANGED_FILES", 2)
    for n in range(3):
        (checkout / f"src/kelvin{n}.py").write_text(KELVIN)
    answer = searcher(work).answer("kelvin", mode="keyword")
    assert answer.hits == []  # the index answers alone, and says why
    assert "3 files differ" in answer.warnings[0] and "semcode index" in answer.warnings[0]


def test_a_branch_without_shared_history_stops_the_overlay(work):
    checkout, _ = work
    git(checkout, "checkout", "-q", "--orphan", "elsewhere")
    git(checkout, "commit", "-q", "-m", "another history")
    answer = searcher(work).answer("add an item to the cart")
    assert answer.hits and all(h.source == "index" for h in answer.hits)
    assert "shares no history" in answer.warnings[0]


def test_a_failed_refresh_degrades_to_the_index_with_a_warning(work, monkeypatch):
    checkout, _ = work
    append(checkout / "src/shop/cart.py")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(overlay.Overlay, "_read", broken)
    answer = searcher(work).answer("add an item to the cart")
    assert answer.hits and all(h.source == "index" for h in answer.hits)
    assert "not searched" in answer.warnings[0] and "No space left" in answer.warnings[0]


def test_a_linked_worktree_searches_the_shared_index_with_its_own_overlay(work, capsys):
    checkout, store = work
    shutil.copytree(store, default_store_uri(checkout))  # the main checkout's own index
    linked = checkout.parent / "linked"
    git(checkout, "worktree", "add", "-q", "-b", "feature", str(linked))
    (linked / "src/temperature.py").write_text(KELVIN)
    append(checkout / "src/shop/cart.py", KELVIN.replace("convert_kelvin", "main_kelvin"))

    def search(where):
        assert cli.main(["search", "kelvin", "--mode", "keyword", "--repo", str(where),
                         "--json"]) == 0
        return [(h["symbol"], h["path"], h["source"])
                for h in json.loads(capsys.readouterr().out)["hits"]]

    assert search(linked) == [("convert_kelvin_to_celsius", "src/temperature.py", "worktree")]
    assert search(checkout) == [("main_kelvin_to_celsius", "src/shop/cart.py", "worktree")]
    assert not (linked / ".semcode").exists()  # the linked checkout wrote no store


def test_a_folder_outside_git_has_no_overlay(base, tmp_path):
    _, store = base
    (tmp_path / "plain").mkdir()
    assert Searcher(store, checkout=tmp_path / "plain").overlay is None


def test_the_index_answer_says_what_the_working_tree_adds(work, capsys):
    checkout, store = work
    assert cli.main(["index", str(checkout), "--store", store, "--json"]) == 0
    clean = json.loads(capsys.readouterr().out)
    assert clean["up_to_date"] and clean["worktree"]["state"] == "clean"
    append(checkout / "src/shop/cart.py")
    assert cli.main(["index", str(checkout), "--store", store]) == 0
    said = capsys.readouterr().out
    assert "up to date" not in said and "+ overlay of 1 changed file(s) (stale" in said


@pytest.mark.parametrize("make,status,reason", [
    (lambda p: None, "deleted", "deleted in the working tree"),
    (lambda p: p.symlink_to("elsewhere.py"), "skipped", "symlink: not followed"),
    (lambda p: p.mkdir(), "skipped", "submodule: nested repository not indexed"),
    (lambda p: p.write_bytes(b"x = 1\n" * 10), "indexed", ""),
    (lambda p: p.write_bytes(b"\xff\xfe = 1\n"), "skipped", "invalid_utf8"),
    (lambda p: p.write_bytes(b"x" * 2048), "skipped", "too_large"),
])
def test_a_changed_path_is_read_by_the_index_rules(tmp_path, make, status, reason):
    make(tmp_path / "a.py")
    state, text = worktree.inspect(tmp_path, "a.py", None, limit=1024)
    assert state.status == status and state.reason.startswith(reason)
    assert (text is not None) == (status == "indexed")


def test_a_file_that_vanishes_while_it_is_read_is_deleted(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("x = 1\n")

    def vanished(*args, **kwargs):
        raise FileNotFoundError(args[1])

    monkeypatch.setattr(worktree.beneath, "read_bytes", vanished)
    state, text = worktree.inspect(tmp_path, "a.py", None, limit=1024)
    assert (state.status, text) == ("deleted", None) and state.reason.startswith("vanished")
