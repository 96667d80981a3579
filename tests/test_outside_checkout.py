"""Nothing outside the checkout is ever opened (invariant 11): a symlink in a file's path —
the file itself or any folder above it — is a skip with a reason, in the working tree's
overlay, in an index run of a folder outside git, and in the reader a run's shards use.
Real git checkouts and the real model where search is asserted."""

import hashlib
import json
import os
import shutil
import threading
import time

import pytest

from semcode.index.parse import FileReader
from semcode.ingest import beneath, worktree
from semcode.interfaces import cli
from semcode.interfaces.status import index_status
from tests.conftest import commit_all

SECRET = ('def exfiltrated_cloud_credentials():\n'
          '    """Return the cloud access key for the production account."""\n'
          '    return "AKIA-OUTSIDE-THE-CHECKOUT"\n')
QUERY = "return the cloud access key for the production account"


@pytest.fixture(params=["openat2", "walk"])
def resolution(request, monkeypatch):
    """Each test runs with the kernel's openat2 and with the portable walk."""
    if request.param == "walk":
        monkeypatch.setattr(beneath, "_has_openat2", False)
    return request.param


@pytest.fixture
def outside(tmp_path):
    """A folder outside every checkout holding a 'credentials' file named like a tracked one."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "cart.py").write_text(SECRET)
    return folder


# -- the primitive ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["link/cart.py", "deeper/link/cart.py", "file_link.py",
                                  "../outside/cart.py", "/etc/passwd", "a/../../x"])
def test_a_path_through_a_symlink_or_above_the_top_is_refused(tmp_path, outside, resolution,
                                                              path):
    top = tmp_path / "top"
    (top / "deeper").mkdir(parents=True)
    (top / "link").symlink_to(outside)
    (top / "deeper" / "link").symlink_to(outside)
    (top / "file_link.py").symlink_to(outside / "cart.py")
    with pytest.raises(beneath.OutsideCheckout):
        beneath.read_bytes(top, path)
    if path != "file_link.py":  # a symlink itself may be stat'ed (it is then skipped)
        with pytest.raises(beneath.OutsideCheckout):
            beneath.lstat(top, path)


def test_a_file_inside_is_read_and_a_fifo_never_blocks(tmp_path, resolution):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.py").write_bytes(b"x = 1\n")
    os.mkfifo(tmp_path / "pipe")
    assert beneath.read_bytes(tmp_path, "a/b/c.py") == b"x = 1\n"
    assert beneath.read_bytes(tmp_path, "a/b/c.py", limit=2) == b"x ="  # limit + 1 at most
    with pytest.raises(beneath.NotRegular):
        beneath.read_bytes(tmp_path, "pipe")  # would wait forever for a writer if opened
    with pytest.raises(beneath.NotRegular):
        beneath.read_bytes(tmp_path, "a")


def test_a_folder_swapped_for_a_symlink_while_files_are_read_never_leaks(tmp_path, outside,
                                                                        resolution):
    """A race: one thread swaps a folder and a symlink to the outside back and forth while
    another reads the file through it; every read is the inside file or a refusal."""
    top = tmp_path / "top"
    (top / "conf").mkdir(parents=True)
    (top / "conf" / "cart.py").write_text("inside = True\n")
    (top / "conf").rename(top / "real")
    stop = threading.Event()

    def swap():
        while not stop.is_set():
            os.symlink(outside, top / "conf.tmp")
            os.replace(top / "conf.tmp", top / "conf")  # conf → the outside
            os.unlink(top / "conf")
            os.rename(top / "real", top / "conf")  # conf → the real folder
            os.rename(top / "conf", top / "real")

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen, deadline = set(), time.monotonic() + 1.5
    try:
        while time.monotonic() < deadline:
            try:
                seen.add(beneath.read_bytes(top, "conf/cart.py"))
            except OSError:
                seen.add(b"refused")
    finally:
        stop.set()
        swapper.join()
    assert b"AKIA" not in b"".join(seen)
    assert b"refused" in seen


@pytest.mark.parametrize("link", ["folder", "file"])
def test_the_overlay_reads_nothing_through_a_symlink(tmp_path, outside, resolution, link):
    top = tmp_path / "top"
    (top / "conf").mkdir(parents=True)
    if link == "folder":  # the folder above the file
        (top / "conf").rmdir()
        (top / "conf").symlink_to(outside)
    else:
        (top / "conf" / "cart.py").symlink_to(outside / "cart.py")
    state, text = worktree.inspect(top, "conf/cart.py", None, limit=1 << 20)
    assert text is None and state.status == "skipped"
    assert state.reason.startswith("symlink:")


def test_a_shard_reader_outside_git_refuses_a_folder_swapped_since_the_snapshot(tmp_path,
                                                                               outside,
                                                                               resolution):
    (tmp_path / "conf").mkdir()
    data = SECRET.encode()
    (tmp_path / "conf" / "cart.py").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    reader = FileReader(str(tmp_path), is_git=False)
    assert reader.read({"path": "conf/cart.py", "content_hash": digest}) == (data, "")
    shutil.rmtree(tmp_path / "conf")
    (tmp_path / "conf").symlink_to(outside)  # same bytes there: only the path tells
    got, reason = reader.read({"path": "conf/cart.py", "content_hash": digest})
    assert got is None and reason.startswith("symlink:")


# -- search over a real index, the real model ---------------------------------------------------

def _search(checkout, store, capsys, mode="hybrid"):
    assert cli.main(["search", QUERY, "--repo", str(checkout), "--store", store, "--mode",
                     mode, "--json", "-k", "20"]) == 0
    return json.loads(capsys.readouterr().out)["hits"]


@pytest.mark.model
@pytest.mark.parametrize("committed", [False, True], ids=["swapped", "pulled"])
def test_a_folder_replaced_by_a_symlink_out_of_the_checkout_is_never_served(
        work, outside, capsys, committed):
    """``src/shop`` becomes a symlink to a folder outside, in the working tree or by a
    commit (a pull): git reports ``src/shop/cart.py`` deleted; its text must not be read."""
    checkout, store = work
    shutil.rmtree(checkout / "src" / "shop")
    (checkout / "src" / "shop").symlink_to(outside)
    if committed:
        commit_all(checkout, "shop is a link now")
    for mode in ("hybrid", "keyword"):
        hits = _search(checkout, store, capsys, mode)
        assert not [h for h in hits if "AKIA" in h["text"]], mode
        assert not [h for h in hits if h["path"] == "src/shop/cart.py"], mode  # hidden
    overlays = list((checkout / ".git" / "semcode").glob("overlay-*.arrow"))
    assert overlays and all(b"AKIA" not in f.read_bytes() for f in overlays)
    report = index_status(store, str(checkout)).worktree
    assert report is not None and report.skip_reasons.get("symlink", 0) >= 1
