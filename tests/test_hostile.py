"""Hostile input, table-driven: every case is a skip with its reason or a correct index —
never a crash, a hang or a gap (a non-blank line of an indexed file in no chunk)."""

import os
import subprocess
import sys

import pytest

from semcode.config import Settings
from semcode.store.tables import Store
from semcode_dagster.assets.local_run import run_index_job
from tests.conftest import ALL_PASSED, commit_all, git
from tests.dagster_helpers import FakeEmbedderResource

pytestmark = pytest.mark.slow

# path (bytes: any name git allows) → (content, expected: "indexed" or a skip reason)
FILES: dict[bytes, tuple[bytes, str]] = {
    b"random.py": (bytes(range(256)) * 40, "binary"),
    b"latin1.py": (b"caf\xe9 = 1\n", "invalid_utf8"),
    b"bom.py": ("\ufeffdef with_bom():\n    return 1\n".encode(), "indexed"),
    b"crlf.py": (b"def with_crlf():\r\n    return 1\r\n\r\nX = 2\r\n", "indexed"),
    b"huge.py": (b"x = 1\n" * 9_000_000, "too_large"),  # 54 MB
    b"bundle.js": (b"var a=1;" * 650_000, "too_large"),  # a 5 MB line
    b"minified.js": (b"var a=1;" * 60_000, "minified"),  # under the size limit, one line
    b"nested.py": (b"x = " + b"[\n" * 3000 + b"]\n" * 3000 + b"\n\ndef after():\n    pass\n",
                   "indexed"),  # 3,000 levels deep
    b"broken.py": (b"def broken(:\n    return )(\nclass\n\ndef fine():\n    return 2\n",
                   "indexed"),
    b"empty.py": (b"", "empty"),
    b"blank.py": (b"\n  \n\t\n", "empty"),
    "ünïcödé.py".encode(): (b"def unicode_name():\n    return 1\n", "indexed"),
    b"new\nline.py": (b"def newline_name():\n    return 1\n", "indexed"),
    b"-dash.py": (b"def dash_name():\n    return 1\n", "indexed"),
    b"caf\xe9.py": (b"def latin1_name():\n    return 1\n", "invalid_path"),
    b"deep/" * 40 + b"f.py": (b"def deep_file():\n    return 1\n", "indexed"),
}
LINKS = {b"link_file.py": b"bom.py", b"link_dir": b"deep", b"loop": b"loop",
         b"outside": b"/etc/passwd", b"up.py": b"../../../../etc/passwd"}


def make_hostile_repo(root) -> bytes:
    repo = os.fsencode(root)
    for name, (content, _) in FILES.items():
        path = os.path.join(repo, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)
    for name, target in LINKS.items():
        os.symlink(target, os.path.join(repo, name))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    commit_all(root, "hostile")
    # a submodule: a gitlink entry pointing at another repository's commit
    sub = root.parent / "sub"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    git(sub, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q",
        "--allow-empty", "-m", "sub")
    subprocess.run(["git", "-C", str(root), "-c", "protocol.file.allow=always", "submodule",
                    "add", "-q", str(sub), "vendored_sub"], check=True, capture_output=True)
    commit_all(root, "submodule")
    return repo


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "repo"
    root.mkdir()
    make_hostile_repo(root)
    store = str(root.parent / "store")
    report = run_index_job(Settings(repo=str(root), store=store),
                           embedder=FakeEmbedderResource())
    return root, store, report


def test_the_hostile_repository_indexes_with_every_check_green(hostile):
    _, _, report = hostile
    assert report.ok and report.checks == ALL_PASSED, report.text()


def _manifest(store: str) -> dict[str, dict]:
    return {r["path"]: r for r in Store(store).scan("files", ["path", "status", "reason"])
            .to_pylist()}


@pytest.mark.parametrize("name", sorted(FILES), ids=[repr(n)[2:-1][:30] for n in sorted(FILES)])
def test_each_hostile_file_is_indexed_whole_or_skipped_with_its_reason(hostile, name):
    root, store, _ = hostile
    printable = name.decode("utf-8", "backslashreplace")
    row = _manifest(store)[printable]
    content, expected = FILES[name]
    if expected != "indexed":
        assert row["status"] == "skipped" and row["reason"].startswith(expected), row
        return
    assert row["status"] == "indexed", row
    chunks = Store(store).scan("chunks", ["start_line", "end_line"],
                               f"path = '{printable}'").to_pylist()
    covered = {n for c in chunks for n in range(c["start_line"], c["end_line"] + 1)}
    lines = content.decode("utf-8").split("\n")
    assert {n for n, line in enumerate(lines, 1) if line.strip()} <= covered


@pytest.mark.parametrize("name", sorted(LINKS))
def test_symlinks_are_skipped_never_followed(hostile, name):
    _, store, _ = hostile
    assert _manifest(store)[name.decode()]["reason"].startswith("symlink")


def test_a_submodule_is_a_skip(hostile):
    _, store, _ = hostile
    assert _manifest(store)["vendored_sub"]["reason"].startswith("submodule")


def _index(repo, tmp_path):
    return run_index_job(Settings(repo=str(repo), store=str(tmp_path / "store")),
                         embedder=FakeEmbedderResource())


def test_an_empty_repository_is_a_clear_error_not_a_traceback(tmp_path):
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q")
    report = _index(repo, tmp_path)
    assert not report.ok and "no commit" in (report.error or "")
    for command in (["index", str(repo)], ["status", "--repo", str(repo)]):
        proc = subprocess.run([sys.executable, "-m", "semcode", *command],
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr


def test_a_detached_head_indexes_that_commit(sample_repo, tmp_path):
    first = git(sample_repo, "rev-parse", "HEAD")
    (sample_repo / "later.py").write_text("def later():\n    return 1\n")
    commit_all(sample_repo, "later")
    git(sample_repo, "checkout", "-q", first)
    report = _index(sample_repo, tmp_path)
    assert report.ok and report.commit == first


def test_a_directory_outside_git_indexes_its_files(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "tool.py").write_text("def tool():\n    return 1\n")
    report = _index(tmp_path / "plain", tmp_path)
    assert report.ok and report.chunks.total == report.vectors.total == 1


def test_a_repository_whose_files_are_all_skipped_indexes_empty(tmp_path):
    """Probe regression: `Table 'chunks' was not found`."""
    repo = tmp_path / "skipped"
    repo.mkdir()
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    commit_all(repo, "only a picture")
    report = _index(repo, tmp_path)
    assert report.ok and report.chunks.total == 0, report.text()
