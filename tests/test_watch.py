"""A server's searches ask git what changed only when its watch of the checkout saw a change
(``semcode/ingest/watch.py``), and are as right as when they ask it every time: a file written
just before a search is found, a watch that cannot be trusted leaves git answering. Real git
checkouts, real inotify, the real model."""

import time

import pytest

from semcode.ingest import watch, worktree
from semcode.search.searcher import Searcher
from tests.conftest import git, make_repo
from tests.test_overlay import KELVIN, QUERY, append


def settling(found: watch.CheckoutWatch) -> watch.CheckoutWatch:
    """``found`` once its watches are in place, or it has failed (10 s at most)."""
    deadline = time.monotonic() + 10
    while not found.watching and not found.failure and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def watched(checkout) -> watch.CheckoutWatch:
    found = settling(watch.CheckoutWatch(worktree.checkout_of(checkout)))
    assert found.watching, found.failure
    return found


@pytest.fixture
def git_repo(tmp_path):
    return make_repo(tmp_path / "repo")


def settled(searcher: Searcher, statuses: list) -> int:
    """Search until git stops being asked: how many times it was asked. git rewrites its
    index on every status while a file is as new as the index to the second (git's "racily
    clean" entries), and the watch sees each rewrite as a change — for about a second after
    a checkout is made or a file written."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        before = len(statuses)
        searcher.search(QUERY, k=3)
        if len(statuses) == before:
            return before
        time.sleep(0.2)
    raise AssertionError(f"git status ran on every search ({len(statuses)} times)")


def started(searcher: Searcher) -> watch.CheckoutWatch:
    searcher.watch_worktree()
    return settling(searcher.overlay.watch)


@pytest.fixture
def statuses(monkeypatch):
    """How many times git status ran."""
    calls = []
    real = worktree.uncommitted

    def counted(checkout):
        calls.append(checkout)
        return real(checkout)

    monkeypatch.setattr(worktree, "uncommitted", counted)
    return calls


def test_the_count_moves_with_the_checkout_and_not_with_semcode_or_git_status(git_repo):
    checkout = worktree.checkout_of(git_repo)
    seen = watched(git_repo)
    try:
        start = seen.count()
        assert start is not None
        time.sleep(1.1)  # past git's racily clean second: its status then leaves its index
        worktree.uncommitted(checkout)
        settled = seen.count()
        worktree.uncommitted(checkout)
        assert seen.count() == settled
        (checkout.git_dir / "semcode" / "overlay-x.arrow").write_bytes(b"ours")
        (checkout.top / ".semcode").mkdir(exist_ok=True)
        (checkout.top / ".semcode" / "store").write_bytes(b"the index")
        assert seen.count() == settled
        (checkout.top / "new.py").write_text("x = 1\n")  # counted the moment it is written
        assert seen.count() == settled + 1
        git(git_repo, "add", "new.py")
        assert seen.count() > settled + 1
    finally:
        seen.close()


def test_git_is_asked_only_after_a_change_and_a_new_file_is_found_at_once(work, statuses):
    checkout, store = work
    searcher = Searcher(store, checkout=checkout)
    found = started(searcher)
    assert found.watching, found.failure
    asked = settled(searcher, statuses)
    for _ in range(3):
        assert searcher.search(QUERY, k=3)[0].symbol != "convert_kelvin_to_celsius"
    assert len(statuses) == asked
    append(checkout / "src/shop/cart.py", KELVIN)  # and searched with no pause at all
    hits = searcher.search(QUERY, k=3)
    assert hits[0].symbol == "convert_kelvin_to_celsius" and hits[0].source == "worktree"
    assert len(statuses) == asked + 1
    git(checkout, "checkout", "--", "src/shop/cart.py")
    assert searcher.search(QUERY, k=3)[0].symbol != "convert_kelvin_to_celsius"
    found.close()


def test_an_old_status_is_asked_again_whatever_the_watch_says(work, statuses, monkeypatch):
    checkout, store = work
    searcher = Searcher(store, checkout=checkout)
    found = started(searcher)
    assert found.watching, found.failure
    asked = settled(searcher, statuses)
    monkeypatch.setattr(watch, "MAX_AGE_S", 0.0)
    searcher.search(QUERY, k=3)
    assert len(statuses) == asked + 1
    found.close()


def test_a_watch_that_cannot_start_leaves_git_answering_every_search(work, statuses,
                                                                      monkeypatch):
    checkout, store = work

    class NoInotify:
        def __init__(self, *args):
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr("watchfiles._rust_notify.RustNotify", NoInotify)
    searcher = Searcher(store, checkout=checkout)
    started(searcher)
    assert "inotify watch limit" in searcher.overlay.watch.failure
    assert searcher.overlay.watch.count() is None
    for _ in range(3):
        searcher.search(QUERY, k=3)
    assert len(statuses) == 3
    append(checkout / "src/shop/cart.py", KELVIN)
    assert searcher.search(QUERY, k=3)[0].symbol == "convert_kelvin_to_celsius"


def test_a_linked_worktree_watches_its_own_and_the_common_git_directory(git_repo, tmp_path):
    git(git_repo, "worktree", "add", "-q", str(tmp_path / "linked"))
    checkout = worktree.checkout_of(tmp_path / "linked")
    roots = watch.watched_roots(checkout)
    assert checkout.top in roots and checkout.common_dir in roots
    assert checkout.git_dir not in roots  # inside the common one, watched with it
    seen = watched(tmp_path / "linked")
    try:
        before = seen.count()
        git(tmp_path / "linked", "commit", "-q", "--allow-empty", "-m", "moves HEAD")
        assert seen.count() > before
    finally:
        seen.close()


def test_an_idle_watch_slows_down_and_the_first_search_after_costs_one_git_status(
        work, statuses, monkeypatch):
    checkout, store = work
    monkeypatch.setattr(watch, "ACTIVE_S", 0.3)
    searcher = Searcher(store, checkout=checkout)
    found = started(searcher)
    assert found.watching, found.failure
    asked = settled(searcher, statuses)
    time.sleep(1.5)  # past ACTIVE_S and the watcher's last fast step
    assert not found._fast
    searcher.search(QUERY, k=3)  # asks git, and wakes the watcher
    assert len(statuses) == asked + 1
    deadline = time.monotonic() + 5
    while not found._fast and time.monotonic() < deadline:
        time.sleep(0.01)
    searcher.search(QUERY, k=3)  # the status taken while slow is still the answer
    assert len(statuses) == asked + 1
    append(checkout / "src/shop/cart.py", KELVIN)
    assert searcher.search(QUERY, k=3)[0].symbol == "convert_kelvin_to_celsius"
    found.close()


@pytest.mark.parametrize("value", ["1", "0"])
def test_the_mcp_server_watches_its_checkout_unless_told_not_to(work, value):
    from semcode.config import Settings
    from semcode.interfaces.mcp_server import build_server

    checkout, store = work
    settings = Settings.from_env({"SEMCODE_WATCH": value}, repo=str(checkout), store=store)
    opened = build_server(settings).index._open()
    assert (opened.overlay.watch is not None) == (value == "1")
    if opened.overlay.watch is not None:
        opened.overlay.watch.close()


def test_a_watch_setting_that_is_not_0_or_1_is_refused_by_name():
    from semcode.config import Settings
    from semcode.errors import ConfigError

    with pytest.raises(ConfigError, match="SEMCODE_WATCH"):
        Settings.from_env({"SEMCODE_WATCH": "2"})
