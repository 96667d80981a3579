"""What the overlay says about itself (``semcode/search/overlay.py``): how the checkout stands
against its index (the report ``semcode status`` shows), the warning while files wait to be
searched, and why no overlay is built for a difference."""

from semcode.ingest import worktree
from semcode.ingest.worktree import DELETED, HIDES, INDEXED, PENDING, SKIPPED, PathState
from semcode.reports import OverlayReport, count_skips
from semcode.search.overlay_file import Base


def pending_warning(files: dict[str, PathState]) -> list[str]:
    """What a search says while files of the working tree are not searched yet."""
    pending = sorted(((p, s) for p, s in files.items() if s.status == PENDING),
                     key=lambda item: item[0])
    if not pending:
        return []
    named = "; ".join(f"{path} ({state.reason.removeprefix('pending: ')})"
                      for path, state in pending[:3])
    more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
    return [f"{len(pending)} changed file(s) of the working tree are not searched yet: {named}"
            f"{more} — until then the index answers for their paths (a new file is not found "
            "yet); each search goes on from where the last stopped (`semcode mcp` finishes them "
            "in the background; SEMCODE_OVERLAY_SECONDS gives a search more time), or commit "
            "them and run `semcode index`"]


def out_of_reach(diff: worktree.Difference) -> str:
    """Why no overlay is built for this difference (the index keeps answering), or ``""``."""
    if diff.problem:
        return diff.problem
    return worktree.too_many(len(diff.paths)) \
        if len(diff.paths) > worktree.MAX_CHANGED_FILES else ""


def report_of(checkout: worktree.Checkout, base: Base, diff: worktree.Difference,
            states: dict[str, PathState], chunks: int, state: str, problem: str = "",
            stale_paths: int = 0) -> OverlayReport:
    """How the checkout stands against its index, in the words of ``OverlayReport``."""
    hiding = [s for s in states.values() if s.status in HIDES]
    pending = sum(s.status == PENDING for s in states.values())
    changed = len(hiding) + stale_paths + pending
    return OverlayReport(
        checkout=str(checkout.top), head=diff.head, indexed_commit=base.commit,
        commits_ahead=diff.ahead, commits_behind=diff.behind, changed_files=changed,
        indexed=sum(s.status == INDEXED for s in hiding),
        skipped=sum(s.status == SKIPPED for s in hiding),
        deleted=sum(s.status == DELETED for s in hiding),
        skip_reasons=count_skips(s.reason for s in hiding if s.status == SKIPPED),
        chunks=chunks, problem=problem, left_out=diff.left_out,
        pending=pending,
        state="clean" if state != "off" and not changed and not diff.left_out
        and diff.head == base.commit else "partial" if state == "current" and pending
        else state)
