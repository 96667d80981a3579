"""How a checkout differs from the commit its index holds: the paths an overlay must answer
for (``semcode/search/overlay.py``).

Two git calls tell it, neither reading a file that did not change: ``git status`` (HEAD, and
what the working tree and the staging area change from it, from git's own stat data), and,
only when HEAD is not the indexed commit, ``git diff --name-only`` between the two (the
commits the index has not seen — a feature branch, a pull not yet indexed). The second is
remembered per pair of commits by the caller.
"""

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pathspec import PathSpec

from semcode.config import default_store_uri
from semcode.ingest import beneath, gitrepo
from semcode.ingest.discovery import (
    WALK_SKIP_DIRS,
    content_reason,
    marked_reason,
    path_reason,
    printable_path,
)

# Past this many differing files the overlay would cost what an index run costs: it stops
# and says to index instead (the base keeps answering).
MAX_CHANGED_FILES = 3_000
# Folders of a checkout that are never code: semcode's own store, other tools' caches.
NEVER_SEARCHED = tuple(sorted(WALK_SKIP_DIRS - {".git"}))
# What a changed path is now: indexed (its chunks replace the index's), skipped (by the
# index's rules, with a reason), deleted, the same as the index holds it, or pending (not
# read, or not all embedded, within a search's budget: the index's chunks answer for it until
# a later search finishes it).
INDEXED, SKIPPED, DELETED, SAME, PENDING = "indexed", "skipped", "deleted", "same", "pending"
HIDES = (INDEXED, SKIPPED, DELETED)  # a path in one of these replaces the index's chunks
Signature = tuple[int, ...] | None  # lstat: size, mtime, ctime, inode, mode; None: absent


@dataclass(frozen=True)
class Checkout:
    """A working tree of a git repository: its top folder and its own git directory (a
    linked ``git worktree`` has one of its own, beside the repository's common one)."""

    top: Path
    git_dir: Path
    common_dir: Path

    @property
    def is_linked(self) -> bool:
        return self.git_dir != self.common_dir

    @property
    def main_top(self) -> Path:
        """The main working tree of the repository (the folder around the common git dir)."""
        return self.common_dir.parent if self.is_linked else self.top


def checkout_of(path: str | Path) -> Checkout | None:
    """The checkout ``path`` is in; None outside git and for a bare repository (no working
    tree: its index is its branch already)."""
    if not Path(path).is_dir():
        return None
    dirs = gitrepo.worktree_dirs(path)
    if dirs is None:
        return None
    return Checkout(gitrepo.toplevel(path), *dirs)


def shared_store(repo: str | Path) -> str | None:
    """A linked ``git worktree`` without an index of its own searches the main working
    tree's, with its own overlay on top (``semcode index`` there makes it one of its own);
    None for any other checkout."""
    if Path(default_store_uri(repo)).is_dir():
        return None
    checkout = checkout_of(repo)
    if checkout is None or not checkout.is_linked:
        return None
    main = default_store_uri(checkout.main_top)
    return main if Path(main).is_dir() else None


@dataclass(frozen=True)
class Difference:
    """What differs between a checkout and the indexed commit ``base``."""

    base: str
    head: str | None
    uncommitted: frozenset[str]  # differ from HEAD: edited, staged, untracked, deleted
    committed: frozenset[str] = frozenset()  # differ between base and HEAD
    nested: frozenset[str] = frozenset()  # untracked folders that are repositories
    problem: str = ""  # why no overlay can be built (the base keeps answering)
    left_out: int = 0  # changed paths not searched: skipped by name, and not in the index
    ahead: int = 0  # commits on HEAD the index has not seen
    behind: int = 0  # commits the index has that HEAD lacks
    notes: list[str] = field(default_factory=list)

    @property
    def paths(self) -> frozenset[str]:
        return self.uncommitted | self.committed


def uncommitted(checkout: Checkout) -> gitrepo.WorktreeStatus:
    return gitrepo.worktree_status(checkout.top, exclude=NEVER_SEARCHED)


def committed(checkout: Checkout, base: str, head: str | None) -> Difference:
    """The commits between the indexed commit and HEAD, as paths; a problem instead when
    they cannot be diffed (a commit this clone lacks, histories that never meet)."""
    empty = Difference(base=base, head=head, uncommitted=frozenset())
    if head is None or head == base:
        return empty
    top = checkout.top
    if gitrepo.resolve(top, base) is None:
        return _problem(empty, f"the index holds commit {base[:12]}, which this checkout "
                               "does not have — `git fetch` it, or run `semcode index` here")
    if gitrepo.merge_base(top, base, head) is None:
        return _problem(empty, f"HEAD {head[:12]} shares no history with the indexed commit "
                               f"{base[:12]} — run `semcode index` to index this branch")
    paths = gitrepo.changed_paths(top, base, head)
    return Difference(base=base, head=head, uncommitted=frozenset(),
                      committed=frozenset(p for p in paths if not _never_searched(p)),
                      ahead=gitrepo.count_commits(top, base, head),
                      behind=gitrepo.count_commits(top, head, base))


def _problem(difference: Difference, why: str) -> Difference:
    return Difference(base=difference.base, head=difference.head, uncommitted=frozenset(),
                      problem=why)


def _never_searched(path: str) -> bool:
    return path.split("/", 1)[0] in NEVER_SEARCHED


def too_many(count: int) -> str:
    return (f"{count:,} files differ from the indexed commit (the overlay stops at "
            f"{MAX_CHANGED_FILES:,}) — run `semcode index` to index this state of the branch")


@dataclass(frozen=True)
class PathState:
    """One differing path as the overlay last saw it."""

    signature: Signature
    content_hash: str
    status: str  # INDEXED, SKIPPED, DELETED, or SAME (its content is the index's)
    reason: str


def inspect(top: Path, path: str, ignore: PathSpec | None, limit: int,
            mark: str = "") -> tuple[PathState, str | None]:
    """A path of the checkout now, by the index's rules (``semcode/ingest/discovery.py``: binary,
    too large, not UTF-8 … are skipped with the same reasons), and its text when it is to be
    indexed. ``mark``: the attribute ``.gitattributes`` sets on it (``gitrepo.MARKS``).
    Opened beneath ``top`` only (``semcode/ingest/beneath.py``): a symlink in the path — the file
    or any folder above it — is a skip, never followed. A file that vanishes while it is
    read is deleted, never an error."""
    try:
        info = beneath.lstat(top, path)
    except beneath.OutsideCheckout as exc:
        return PathState(None, "", SKIPPED, f"symlink: {exc.strerror}"), None
    except (FileNotFoundError, NotADirectoryError):
        return PathState(None, "", DELETED, "deleted in the working tree"), None
    except OSError as exc:
        return PathState(None, "", SKIPPED, f"unreadable: {exc.strerror}"), None
    seen = from_stat(info)
    name, bad_name = printable_path(path)
    reason = path_reason(name, ignore) or bad_name or (marked_reason(mark) if mark else "")
    if not reason:
        reason = "symlink: not followed" if stat.S_ISLNK(info.st_mode) else \
            "submodule: nested repository not indexed" if stat.S_ISDIR(info.st_mode) else \
            "unreadable: not a regular file" if not stat.S_ISREG(info.st_mode) else \
            f"too_large: {info.st_size} bytes over the {limit}-byte limit" \
            if info.st_size > limit else ""
    if reason:
        return PathState(seen, "", SKIPPED, reason), None
    try:
        data = beneath.read_bytes(top, path, limit)
    except (FileNotFoundError, NotADirectoryError):
        return PathState(None, "", DELETED, "vanished: deleted while it was read"), None
    except beneath.OutsideCheckout as exc:  # swapped for a symlink since the stat
        return PathState(seen, "", SKIPPED, f"symlink: {exc.strerror}"), None
    except OSError as exc:
        return PathState(seen, "", SKIPPED, f"unreadable: {exc.strerror}"), None
    if len(data) > limit:  # grew since the stat
        return PathState(seen, "", SKIPPED, f"too_large: over the {limit}-byte limit"), None
    reason = content_reason(data)
    state = PathState(seen, gitrepo.blob_id(data), SKIPPED if reason else INDEXED, reason)
    return state, None if reason else data.decode("utf-8")


def signature(top: Path, path: str) -> Signature:
    """``path``'s stat as the overlay compares it, found beneath ``top`` (None: absent, or
    behind a symlink)."""
    try:
        return from_stat(beneath.lstat(top, path))
    except OSError:
        return None


def from_stat(info: os.stat_result) -> tuple[int, ...]:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_mode)
