"""Which shards a new commit touches: the engine side of the git-push sensor."""

from dataclasses import dataclass

from semcode.ingest import gitrepo
from semcode.ingest.discovery import IGNORE_FILE
from semcode.sharding import shard_of


@dataclass(frozen=True)
class Plan:
    shards: list[int]  # shards to re-run, sorted
    reason: str  # why these shards


def shards_to_reindex(repo: str, base: str | None, head: str, shard_count: int) -> Plan:
    """The shards whose files changed between the last indexed commit and ``head``.

    No base (first run), a base git no longer has, or a base that is not an ancestor of
    ``head`` (a force-push) means every shard: each then re-parses only files whose
    content changed, so "all" stays cheap.
    """
    every = list(range(shard_count))
    if not base:
        return Plan(every, "no indexed commit yet")
    if gitrepo.resolve(repo, base) is None:
        return Plan(every, f"indexed commit {base[:12]} is unknown to git")
    if not gitrepo.is_ancestor(repo, base, head):
        return Plan(every, f"{head[:12]} does not descend from {base[:12]} (force-push)")
    changed = gitrepo.changed_paths(repo, base, head)
    if IGNORE_FILE in changed:
        return Plan(every, f"{IGNORE_FILE} changed")
    shards = sorted({shard_of(p, shard_count) for p in changed})
    return Plan(shards, f"{len(changed)} changed file(s) since {base[:12]}")
