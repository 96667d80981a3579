"""The few git operations semcode needs, through the git command line.

Paths are read with ``-z`` so that any file name survives; blobs are streamed through one
``git cat-file --batch`` process instead of one process per file.
"""

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from semcode.errors import GitError


def git(repo: str | Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", "-C", str(repo), *args], input=input,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git {' '.join(args)} failed in {repo}: {message}")
    return proc.stdout


def is_git_repo(path: str | Path) -> bool:
    """Inside a git working copy, or a bare repository (whose branch is then indexed)."""
    proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--is-inside-work-tree",
                           "--is-bare-repository"], capture_output=True, check=False)
    return proc.returncode == 0 and b"true" in proc.stdout.split()


def toplevel(path: str | Path) -> Path:
    """The working copy's top directory, or a bare repository's own directory."""
    if git(path, "rev-parse", "--is-bare-repository").strip() == b"true":
        return git_dir(path)
    return Path(git(path, "rev-parse", "--show-toplevel").decode().strip())


def ignored_paths(root: str | Path, paths: list[str]) -> set[str]:
    """Which of ``paths`` (relative to ``root``) git would ignore there: every ``.gitignore``
    (nested ones too) and the user's excludes, applied by git itself. ``root`` need not be a
    repository: a throw-away git directory looks at it."""
    if not paths:
        return set()
    with _scratch(root) as prefix:
        proc = subprocess.run([*prefix, "check-ignore", "--stdin", "-z", "--no-index"],
                              input=_nul_joined(paths), capture_output=True, check=False)
    if proc.returncode not in (0, 1):  # 1: nothing is ignored
        raise GitError(f"git check-ignore failed in {root}: "
                       f"{proc.stderr.decode('utf-8', 'replace').strip()}")
    return {p.decode("utf-8", "surrogateescape") for p in proc.stdout.split(b"\0") if p}


@contextlib.contextmanager
def _scratch(root: str | Path) -> Iterator[list[str]]:
    """A git command line that looks at ``root`` as a working tree, through a throw-away
    git directory (``root`` need not be a repository)."""
    with tempfile.TemporaryDirectory(prefix="semcode-git-") as scratch:
        subprocess.run(["git", "init", "-q", "--bare", "--template=", scratch], check=True,
                       capture_output=True)
        yield ["git", f"--git-dir={scratch}", f"--work-tree={root}", "-C", str(root)]


def _nul_joined(paths: list[str]) -> bytes:
    return b"\0".join(p.encode("utf-8", "surrogateescape") for p in paths)


# The attributes that say a file is not code to search: GitHub's linguist conventions, which
# most tooling follows, and git's own ``binary`` (``-diff -merge -text``).
MARKS = ("linguist-generated", "linguist-vendored", "binary")


def marked_paths(repo: str | Path, paths: list[str], *, commit: str = "",
                 git_dir: bool = True) -> dict[str, str]:
    """Which of ``paths`` the repository's attributes (its ``.gitattributes`` files and
    ``info/attributes``) mark with one of ``MARKS``: path → the first mark set. Not the
    system's nor the user's attribute files: what is indexed follows from the repository,
    the same on every machine. ``commit``: the attribute files of that commit (read into a
    throw-away index: one ``read-tree``, one ``check-attr``), else the working tree's;
    ``git_dir=False``: ``repo`` is a folder outside git."""
    if not paths:
        return {}
    command = ["-c", f"core.attributesFile={os.devnull}", "check-attr", "--stdin", "-z",
               *MARKS]
    env = {**os.environ, "GIT_ATTR_NOSYSTEM": "1"}
    with contextlib.ExitStack() as stack:
        prefix = ["git", "-C", str(repo)] if git_dir else stack.enter_context(_scratch(repo))
        if commit:
            index = stack.enter_context(tempfile.TemporaryDirectory(prefix="semcode-attr-"))
            env["GIT_INDEX_FILE"] = os.path.join(index, "index")
            subprocess.run([*prefix, "read-tree", commit], env=env, check=True,
                           capture_output=True)
            command.insert(3, "--cached")
        proc = subprocess.run([*prefix, *command], input=_nul_joined(paths), env=env,
                              capture_output=True, check=False)
    if proc.returncode != 0:
        raise GitError(f"git check-attr failed in {repo}: "
                       f"{proc.stderr.decode('utf-8', 'replace').strip()}")
    fields = proc.stdout.split(b"\0")
    found: dict[str, str] = {}
    for at in range(0, len(fields) - 2, 3):
        path, mark, value = fields[at:at + 3]
        if value in (b"set", b"true"):
            found.setdefault(path.decode("utf-8", "surrogateescape"), mark.decode())
    return found


def current_branch(repo: str | Path) -> str:
    """The checked-out branch (also in a repository with no commit yet), or ``HEAD`` when
    detached."""
    proc = subprocess.run(["git", "-C", str(repo), "symbolic-ref", "--quiet", "--short",
                           "HEAD"], capture_output=True, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else "HEAD"


def resolve(repo: str | Path, rev: str) -> str | None:
    """The commit a revision names, or None when there is none (empty repository, no branch)."""
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                           f"{rev}^{{commit}}"], capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def is_ancestor(repo: str | Path, older: str, newer: str) -> bool:
    proc = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", older, newer],
                          capture_output=True, check=False)
    return proc.returncode == 0


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    kind: str  # blob | commit (a submodule)
    oid: str
    size: int  # -1 for submodules


def ls_tree(repo: str | Path, commit: str) -> list[TreeEntry]:
    out = git(repo, "ls-tree", "-r", "-z", "-l", "--full-tree", commit)
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, oid, size = meta.decode().split(maxsplit=3)
        entries.append(TreeEntry(path.decode("utf-8", "surrogateescape"), mode, kind, oid,
                                 int(size) if size.strip() != "-" else -1))
    return entries


def changed_paths(repo: str | Path, base: str, head: str) -> set[str]:
    """Paths added, modified, deleted or renamed (both sides) between two commits."""
    out = git(repo, "diff", "--name-only", "-z", "--no-renames", base, head)
    return {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}


def merge_base(repo: str | Path, a: str, b: str) -> str | None:
    """Their best common ancestor, or None when the histories do not meet."""
    proc = subprocess.run(["git", "-C", str(repo), "merge-base", a, b], capture_output=True,
                          check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def count_commits(repo: str | Path, since: str, until: str) -> int:
    """Commits reachable from ``until`` and not from ``since``."""
    return int(git(repo, "rev-list", "--count", f"{since}..{until}").decode())


@dataclass(frozen=True)
class WorktreeStatus:
    head: str | None  # the checked-out commit; None before the first commit
    paths: frozenset[str]  # tracked files that differ from HEAD (staged or not), untracked ones
    nested: frozenset[str]  # untracked directories that are repositories of their own
    untracked: frozenset[str] = frozenset()  # of ``paths``, those git does not track


def worktree_status(top: str | Path, exclude: tuple[str, ...] = ()) -> WorktreeStatus:
    """One ``git status``: HEAD, and every path the working tree and the index change from it.
    git answers from its index's stat data, reading only files whose stat changed; untracked
    files follow every ignore rule git has. ``exclude``: top-level folders left out."""
    out = git(top, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all",
              "--no-renames", "--ignore-submodules=none", "--", ".",
              *(f":(exclude,top){folder}" for folder in exclude))
    head: str | None = None
    paths: set[str] = set()
    nested: set[str] = set()
    untracked: set[str] = set()
    for record in out.split(b"\0"):
        text = record.decode("utf-8", "surrogateescape")
        if text.startswith("# branch.oid "):
            oid = text.removeprefix("# branch.oid ")
            head = None if oid == "(initial)" else oid
        elif text.startswith("1 "):
            paths.add(text.split(" ", 8)[8])
        elif text.startswith("u "):
            paths.add(text.split(" ", 10)[10])
        elif text.startswith("? "):
            path = text[2:]
            (nested if path.endswith("/") else paths).add(path.rstrip("/"))
            untracked.add(path.rstrip("/"))
    return WorktreeStatus(head, frozenset(paths), frozenset(nested), frozenset(untracked))


def blob_id(data: bytes) -> str:
    """The id git gives these bytes as a file (what the manifest records as content_hash)."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def worktree_dirs(path: str | Path) -> tuple[Path, Path] | None:
    """This checkout's own git directory and the repository's common one (they differ in a
    linked ``git worktree``), or None for a bare repository or outside git."""
    proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--is-inside-work-tree",
                           "--absolute-git-dir", "--git-common-dir"],
                          capture_output=True, check=False)
    lines = proc.stdout.decode().split("\n")
    if proc.returncode != 0 or lines[0] != "true":
        return None
    own = Path(lines[1])
    common = Path(lines[2])
    return own, (common if common.is_absolute() else (Path(path) / common).resolve())


NUDGE_FILE, FETCHED_FILE = "semcode-push", "semcode-fetched"


def git_dir(repo: str | Path) -> Path:
    return Path(git(repo, "rev-parse", "--absolute-git-dir").decode().strip())


def fetch_due(repo: str | Path, every_s: int) -> bool:
    """A push hook touched ``<git-dir>/semcode-push`` since the last fetch, or the last
    fetch is older than ``every_s`` seconds."""
    root = git_dir(repo)
    fetched = root / FETCHED_FILE
    if not fetched.exists():
        return True
    last = fetched.stat().st_mtime
    nudge = root / NUDGE_FILE
    return (nudge.exists() and nudge.stat().st_mtime >= last) or time.time() - last > every_s


def mark_fetched(repo: str | Path) -> None:
    (git_dir(repo) / FETCHED_FILE).touch()


def ref_files(repo: str | Path, ref: str) -> list[Path]:
    """The files that change on disk when ``ref`` (e.g. ``refs/heads/main``) moves, HEAD
    switches branch, or a push hook nudges: its loose file, ``packed-refs``, the reftable
    list, ``HEAD`` and the nudge file (those that do not exist yet count by appearing)."""
    own, common = git(repo, "rev-parse", "--path-format=absolute", "--git-dir",
                      "--git-common-dir").decode().split("\n")[:2]
    return [Path(common) / ref, Path(common) / "packed-refs",
            Path(common) / "reftable" / "tables.list", Path(own) / "HEAD",
            Path(own) / NUDGE_FILE]


def wait_for_change(paths: list[Path], seconds: float, every: float = 0.2) -> bool:
    """Whether any of ``paths`` was written, made or removed within ``seconds`` (polled every
    ``every`` by their inode, size and mtime: no git process, nothing read)."""
    def marks() -> list[tuple[int, int, int] | None]:
        found: list[tuple[int, int, int] | None] = []
        for path in paths:
            try:
                stat = path.stat()
            except OSError:
                found.append(None)
                continue
            found.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        return found

    before, deadline = marks(), time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(every, left))
        if marks() != before:
            return True
    return False


class BlobReader:
    """Reads blob contents by id through one long-lived ``git cat-file --batch``."""

    def __init__(self, repo: str | Path):
        self._proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, oid: str) -> bytes | None:
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(oid.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            return None
        data = self._proc.stdout.read(int(header[2]))
        self._proc.stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)

    def __enter__(self) -> "BlobReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
