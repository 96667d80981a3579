"""What the index holds and how fresh it is, for ``semcode status`` and MCP."""

from collections import Counter
from pathlib import Path

from semcode import gitrepo
from semcode.discovery import INDEXED
from semcode.store import Store, StoreNotFound


def index_status(store_uri: str, repo: str, branch: str = "") -> dict:
    try:
        store = Store(store_uri, create=False)
    except StoreNotFound:
        return {"store": store_uri, "exists": False,
                "hint": "no index yet — run `semcode index` first"}
    files = store.scan("files", ["status", "reason", "language"]).to_pylist()
    snapshot = store.get_meta("snapshot", {}) or {}
    vectors = store.get_meta("vectors", {}) or {}
    status = {
        "store": store_uri, "exists": True,
        "files": {"total": len(files),
                  "indexed": sum(f["status"] == INDEXED for f in files),
                  "skipped": sum(f["status"] != INDEXED for f in files),
                  "skip_reasons": dict(Counter(f["reason"].split(":")[0] for f in files
                                               if f["status"] != INDEXED))},
        "languages": dict(Counter(f["language"] for f in files if f["status"] == INDEXED)
                          .most_common()),
        "chunks": store.count("chunks"), "vectors": store.count("vectors"),
        "model": vectors.get("model"), "snapshot_commit": snapshot.get("commit"),
        "indexed_commit": vectors.get("commit"), "indexed_at": vectors.get("at"),
        "checks": store.check_results(),
    }
    status["freshness"] = freshness(repo, branch or snapshot.get("branch") or "",
                                    vectors.get("commit"))
    return status


def freshness(repo: str, branch: str, indexed: str | None) -> dict:
    """The branch head against the indexed commit: how many commits behind, or unknown."""
    if not Path(repo).is_dir() or not gitrepo.is_git_repo(repo):
        return {"branch": None, "head": None, "behind": None, "fresh": None}
    branch = branch or gitrepo.current_branch(repo)
    head = gitrepo.resolve(repo, branch)
    behind = None
    if indexed and head and gitrepo.resolve(repo, indexed):
        behind = int(gitrepo.git(repo, "rev-list", "--count", f"{indexed}..{head}").decode())
    return {"branch": branch, "head": head, "behind": behind,
            "fresh": bool(head and indexed == head)}
