"""What the index holds and how fresh it is, for ``semcode status`` and MCP."""

from collections import Counter
from pathlib import Path

from semcode.errors import GitError, StoreNotFound, as_damage, first_line
from semcode.ingest import gitrepo, worktree
from semcode.ingest.discovery import INDEXED
from semcode.reports import OverlayReport
from semcode.search.overlay import Overlay
from semcode.status_reports import FileStatus, Freshness, IndexStatus
from semcode.store.checks import live_check_reports
from semcode.store.search_indexes import index_problems
from semcode.store.tables import Store


def index_status(store_uri: str, repo: str, branch: str = "") -> IndexStatus:
    try:
        store = Store(store_uri, create=False)
    except StoreNotFound:
        return IndexStatus(store=store_uri, exists=False,
                           hint="no index yet — run `semcode index` first")
    try:
        problems = store.damaged_tables()
        if not problems:
            return _with_index_problems(_status(store, store_uri, repo, branch),
                                        index_problems(store))
    except (RuntimeError, OSError, ValueError) as exc:
        if as_damage(exc) is None:
            raise
        problems = {"the store": first_line(exc)}
    return _damaged(store_uri, repo, branch, problems)


def _unreadable(problems: dict[str, str]) -> str:
    """``cannot read chunks: …; vectors.vector_idx: …``"""
    return "cannot read " + "; ".join(f"{name}: {why}" for name, why in problems.items())


def _with_index_problems(status: IndexStatus, problems: dict[str, str]) -> IndexStatus:
    """The checks, and a failed ``lookup_indexes_answer`` when an index of chunk ids, shards
    or vectors has unreadable files (search reads past it, slowly; a run rebuilds it)."""
    if not problems:
        return status
    return status.model_copy(update={
        "checks": {**status.checks, "lookup_indexes_answer": False},
        "check_failures": {**status.check_failures, "lookup_indexes_answer":
                           f"{_unreadable(problems)} — run `semcode index` to rebuild it"}})


def _damaged(store_uri: str, repo: str, branch: str, problems: dict[str, str]) -> IndexStatus:
    """A store some file of which cannot be read: what, and what to run. Nothing else is
    read from it (a count or a check would fail on the same file)."""
    return IndexStatus(
        store=store_uri, exists=True,
        hint="the store is damaged — run `semcode index` to repair it (it rebuilds what "
             "cannot be read)",
        checks={"store_readable": False},
        check_failures={"store_readable": _unreadable(problems)},
        freshness=freshness(repo, branch, None))


def _status(store: Store, store_uri: str, repo: str, branch: str) -> IndexStatus:
    files = store.scan("files", ["status", "reason", "language"])
    statuses = files.column("status").to_pylist()
    snapshot, vectors = store.last_snapshot(), store.last_vectors()
    indexed_commit = vectors.commit if vectors else None
    verdicts = live_check_reports(store, vectors)
    languages = Counter(lang for lang, status in zip(files.column("language").to_pylist(),
                                                     statuses, strict=True) if status == INDEXED)
    fresh = freshness(repo, branch or (snapshot.branch if snapshot else ""), indexed_commit)
    differs = worktree_report(store, repo)
    return IndexStatus(
        store=store_uri, exists=True,
        hint=None if vectors else "no index run has completed here — run `semcode index`",
        files=FileStatus.from_manifest(statuses, files.column("reason").to_pylist()),
        languages=dict(languages.most_common()),
        chunks=store.count("chunks"), vectors=store.count("vectors"),
        model=vectors.model if vectors else None,
        snapshot_commit=snapshot.commit if snapshot else None,
        indexed_commit=indexed_commit, indexed_at=vectors.at if vectors else None,
        checks={r.name: r.passed for r in verdicts},
        check_failures={r.name: r.description for r in verdicts if not r.passed},
        freshness=fresh, worktree=differs,
        up_to_date=bool(fresh.fresh) and (differs is None or differs.state == "clean"))


def worktree_report(store: Store, repo: str) -> OverlayReport | None:
    """How the checkout at ``repo`` differs from the indexed commit and whether its overlay
    covers that; None outside git (a folder's index is its working tree already)."""
    checkout = worktree.checkout_of(repo)
    if checkout is None:
        return None
    try:
        return Overlay(checkout, store).survey()
    except GitError as exc:
        return OverlayReport(checkout=str(checkout.top), state="off", problem=str(exc))


def freshness(repo: str, branch: str, indexed: str | None) -> Freshness:
    """The branch head against the indexed commit: how many commits behind, or unknown."""
    if not Path(repo).is_dir() or not gitrepo.is_git_repo(repo):
        return Freshness()
    branch = branch or gitrepo.current_branch(repo)
    head = gitrepo.resolve(repo, branch)
    behind = None
    if indexed and head and gitrepo.resolve(repo, indexed):
        behind = int(gitrepo.git(repo, "rev-list", "--count", f"{indexed}..{head}").decode())
    return Freshness(branch=branch, head=head, behind=behind, fresh=bool(head and indexed == head))
