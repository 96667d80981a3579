"""Typed results of a run, shared by every interface (a look at the index: status_reports.py).

The engine returns these; the Dagster assets turn them into metadata (``metadata()``), the
CLI into JSON (``to_dict()``) or a table, the MCP server into structured content, and the
run's summary is read back from metadata with ``from_metadata()``. Fields are validated both
ways and unknown keys are refused, so a renamed field fails loudly instead of reading as 0.
"""

from collections import Counter
from collections.abc import Iterable
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from semcode.sharding import parse_shard_ranges, shard_ranges

# A file's status in the manifest (the ``files`` table): its lines are in the index, or it is
# skipped with a reason.
INDEXED, SKIPPED = "indexed", "skipped"
# The roles of a ``symbols`` row: the one row of each parsed file version (written even when
# it holds no symbol), a definition, a reference.
FILE_ROW, DEFINITION, REFERENCE = "file", "definition", "reference"


def untitled(schema: dict[str, Any], *_: object) -> None:
    """A model's JSON schema without a title per field (the field's name already says it):
    an MCP client pays for every word of a published schema on each tool list."""
    for field in schema.get("properties", {}).values():
        field.pop("title", None)


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=untitled)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: the ``--json`` output and what the store's meta keeps."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)

    def metadata(self) -> dict[str, Any]:
        """Values for Dagster metadata: numbers, strings, and dicts or lists (as JSON)."""
        return self.to_dict()

    @classmethod
    def from_metadata(cls, values: dict[str, Any]) -> Self:
        """The report back from the raw values of its metadata."""
        return cls.model_validate(values)


def count_skips(reasons: Iterable[str]) -> dict[str, int]:
    """Skip reasons counted by their kind (``too_large: 3 MB …`` → ``too_large``)."""
    return dict(Counter(r.split(":")[0] for r in reasons))


class SnapshotReport(Report):
    """What ``repo_snapshot`` pinned and how the manifest came out."""

    commit: str
    branch: str = ""
    is_git: bool = True
    shards: int
    rules: int
    chunker: int = 1  # the chunker's version (1: before it was recorded)
    max_file_bytes: int = 0  # 0: not recorded (an older store)
    at: str
    files: int = 0
    indexed: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = {}
    changed: int = 0  # indexed files new or changed since the last manifest
    repaired: dict[str, int] = {}
    seconds: float = 0.0

    def text(self) -> str:
        return (f"snapshot {self.commit[:12]}: {self.files} files, {self.indexed} indexed, "
                f"{self.skipped} skipped")


class ShardCounts(Report):
    """Files and chunk rows of one or more shards of ``code_chunks``."""

    files_seen: int = 0
    parsed: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    new_skips: dict[str, int] = {}
    # files indexed by line windows, by why their grammar was not used (parse_timeout, …)
    line_windows: dict[str, int] = {}
    repaired: dict[str, int] = {}  # what was found broken and set right
    seconds: float = 0.0


class ShardReport(ShardCounts):
    """One shard: what was re-parsed and what its rows became."""

    shard: int

    @property
    def changed(self) -> bool:
        """Whether this run did anything to the shard (parsed, removed, skipped, repaired)."""
        return bool(self.parsed or self.removed or self.chunks_added or self.chunks_removed
                    or self.new_skips or self.repaired or self.line_windows)


class ChunksReport(ShardCounts):
    """The shards one ``code_chunks`` step indexed: totals (``seconds``: the slowest shard,
    as they run in parallel), and each shard on its own."""

    commit: str = ""
    shards: list[int]
    per_shard: list[ShardReport] = []

    @classmethod
    def from_shards(cls, commit: str, reports: list[ShardReport]) -> "ChunksReport":
        skips: Counter[str] = Counter()
        windows: Counter[str] = Counter()
        repaired: Counter[str] = Counter()
        for r in reports:
            skips.update(r.new_skips)
            windows.update(r.line_windows)
            repaired.update(r.repaired)
        summed = [name for name, field in ShardCounts.model_fields.items()
                  if field.annotation is int]
        return cls(commit=commit, shards=[r.shard for r in reports],
                   **{k: sum(getattr(r, k) for r in reports) for k in summed},
                   new_skips=dict(skips), line_windows=dict(windows), repaired=dict(repaired),
                   seconds=max((r.seconds for r in reports), default=0.0), per_shard=reports)

    def metadata(self) -> dict[str, Any]:
        """As Dagster metadata: the shards as ranges (``0-1023``) and only the shards this run
        changed. Dagster copies a range step's metadata onto every partition's event, so a
        list of every shard made a run's events grow with the square of the shard count
        (1,024 shards: minutes of a three-file run)."""
        values = self.to_dict()
        values["shards"] = shard_ranges(self.shards)
        values["per_shard"] = [r.to_dict() for r in self.per_shard if r.changed]
        return values

    @classmethod
    def from_metadata(cls, values: dict[str, Any]) -> Self:
        shards = values.get("shards")
        if isinstance(shards, str):
            values = {**values, "shards": parse_shard_ranges(shards)}
        return cls.model_validate(values)

    def text(self) -> str:
        return (f"shards {shard_ranges(self.shards)}: {self.parsed} parsed, "
                f"{self.unchanged} unchanged, {self.skipped} skipped, {self.removed} removed; "
                f"chunks {self.chunks_total} (+{self.chunks_added} −{self.chunks_removed})")


class VectorReport(Report):
    """What ``code_vectors`` did, and which commit and model the vectors now index."""

    model: str
    dim: int = 0
    backend: str = ""  # what encoded this run's texts: ``openvino (bf16)``; empty if none
    commit: str | None = None
    branch: str | None = None
    at: str = ""
    total: int = 0
    embedded: int = 0
    embedded_ahead: int = 0  # of ``embedded``: encoded while the shards parsed (index/ahead.py)
    embedded_in_parse: int = 0  # of ``embedded_ahead``: the static tier's, made by the parse
    reused: int = 0
    deleted: int = 0
    repaired: dict[str, int] = {}
    encode_seconds: float = 0.0  # the encoder's time, ahead's included: the rate's divisor
    embed_seconds: float = 0.0  # the step's own time encoding or waiting for what was ahead
    seconds: float = 0.0

    def text(self) -> str:
        return (f"vectors {self.total}: {self.embedded} embedded, {self.reused} reused, "
                f"{self.deleted} deleted ({self.model}"
                f"{f', {self.backend}' if self.backend else ''})")


class CheckReport(Report):
    """One property of the index, with the evidence that decided it."""

    name: str
    passed: bool
    description: str
    evidence: dict[str, int | str] = {}


class FileCounts(Report):
    seen: int = 0
    parsed: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0
    # parsed files cut by line windows, by why (a grammar past its deadline: parse_timeout)
    line_windows: dict[str, int] = {}

    def windows_text(self) -> str:
        """``, 2 by line windows (parse_timeout 2)``, or nothing."""
        if not self.line_windows:
            return ""
        why = ", ".join(f"{k} {n}" for k, n in sorted(self.line_windows.items()))
        return f", {sum(self.line_windows.values())} by line windows ({why})"


class ChunkCounts(Report):
    total: int = 0
    added: int = 0
    removed: int = 0


class VectorCounts(Report):
    total: int = 0
    embedded: int = 0
    embedded_ahead: int = 0  # of ``embedded``: encoded while the shards parsed
    reused: int = 0
    deleted: int = 0
    backend: str = ""  # what encoded them: ``openvino (bf16)``; empty when nothing was


class OverlayReport(Report):
    """How a checkout differs from the indexed commit, and what the overlay makes of it:
    part of ``semcode status``, MCP ``index_status`` and ``semcode index``'s answer."""

    checkout: str = ""
    head: str | None = None  # the checkout's HEAD
    indexed_commit: str | None = None
    commits_ahead: int = 0  # commits on HEAD the index has not seen
    commits_behind: int = 0  # commits the index has that HEAD lacks
    changed_files: int = 0  # files whose content differs from the index's (or that it lacks)
    indexed: int = 0  # of them, searched through the overlay
    skipped: int = 0  # of them, skipped (binary, too large …), by the index's rules
    deleted: int = 0  # of them, gone from the checkout (their index chunks are hidden)
    left_out: int = 0  # changed paths not searched: skipped by name (.semcodeignore, vendored
    #                    …) and not in the index either
    pending: int = 0  # of them, not read or not all embedded within a search's budget yet
    skip_reasons: dict[str, int] = {}
    chunks: int = 0
    # clean: nothing differs; current: the overlay covers every change; partial: it covers
    # all but ``pending`` files, which the next searches go on with; stale: the next search
    # brings it up to date; off: no overlay (why in ``problem``)
    state: str = "clean"
    problem: str = ""

    def text(self) -> str:
        if self.state == "clean":
            return ""
        if self.state == "off":
            return f"working tree not searched: {self.problem}"
        commits = f", HEAD {self.commits_ahead} commit(s) ahead" if self.commits_ahead else ""
        behind = f", {self.commits_behind} behind" if self.commits_behind else ""
        left = f", {self.left_out} more left out by name" if self.left_out else ""
        how = {"stale": ": the next search refreshes it",
               "partial": f": {self.pending} not searched yet, the next searches go on"}
        return (f"+ overlay of {self.changed_files} changed file(s){left}{commits}{behind} "
                f"({self.state}{how.get(self.state, '')})")

    def summary(self) -> str:
        """One line for ``semcode status``: the checkout's HEAD, then how it differs."""
        head = f"HEAD {(self.head or 'none')[:12]}: "
        if self.state == "clean":
            return f"{head}clean, nothing differs from the indexed commit"
        if self.state == "off":
            return f"{head}not searched: {self.problem}"
        parts = [f"{self.indexed} searched from the working tree"] + \
            [f"{n} {what}" for n, what in ((self.skipped, "skipped"),
                                           (self.deleted, "deleted")) if n]
        said = self.text().removeprefix("+ ")
        return head + (f"{said}: " + ", ".join(parts) if self.state in ("current", "partial")
                       else said)


class IndexReport(Report):
    """One whole index run: the ``semcode index --json`` contract (docs/cli.md)."""

    commit: str | None = None
    files: FileCounts = FileCounts()
    chunks: ChunkCounts = ChunkCounts()
    vectors: VectorCounts = VectorCounts()
    checks: dict[str, bool] = {}
    check_failures: dict[str, str] = {}  # a failed check → what it found, how to repair
    repairs: dict[str, int] = {}  # damage this run found and set right
    seconds: dict[str, float] = {}  # where the run's time went: snapshot, parse, embed, …
    up_to_date: bool = False  # nothing to do: the store already indexed this commit
    # How the checkout differs from the indexed commit and what its overlay covers
    worktree: OverlayReport | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(self.checks.values())

    @property
    def clean(self) -> bool:
        """Nothing in the checkout differs from the indexed commit."""
        return self.worktree is None or self.worktree.state == "clean"

    def worktree_text(self) -> str:
        return self.worktree.text() if self.worktree is not None else ""

    @classmethod
    def assemble(cls, snapshot: SnapshotReport | None, chunks: ChunksReport | None,
                 vectors: VectorReport | None, checks: dict[str, bool],
                 error: str | None = None,
                 check_failures: dict[str, str] | None = None) -> "IndexReport":
        c = chunks or ChunksReport(shards=[])
        v = vectors or VectorReport(model="")
        skipped = (snapshot.skipped if snapshot else 0) + sum(c.new_skips.values())
        return cls(
            commit=snapshot.commit if snapshot else None,
            files=FileCounts(seen=snapshot.files if snapshot else 0, parsed=c.parsed,
                             unchanged=c.unchanged, skipped=skipped, removed=c.removed,
                             line_windows=c.line_windows),
            chunks=ChunkCounts(total=c.chunks_total, added=c.chunks_added,
                               removed=c.chunks_removed),
            vectors=VectorCounts(total=v.total, embedded=v.embedded,
                                 embedded_ahead=v.embedded_ahead, reused=v.reused,
                                 deleted=v.deleted, backend=v.backend),
            checks=checks, error=error, check_failures=check_failures or {},
            repairs={**(snapshot.repaired if snapshot else {}), **c.repaired, **v.repaired},
            seconds={"snapshot": snapshot.seconds if snapshot else 0.0, "parse": c.seconds,
                     "embed": v.embed_seconds or v.encode_seconds,  # an older report: one
                     "vectors_other": round(max(v.seconds - (v.embed_seconds or
                                                             v.encode_seconds), 0.0), 3)})

    def text(self) -> str:
        f, c, v = self.files, self.chunks, self.vectors
        checks = ", ".join(f"{k} {'passed' if ok else 'FAILED'}" for k, ok in self.checks.items())
        if self.up_to_date:
            said = f"up to date: {self.commit or '?'} is indexed" if self.clean else \
                f"index at {(self.commit or '?')[:12]} {self.worktree_text()}"
            return f"{said} — {c.total} chunks, {v.total} vectors, checks {checks}"
        lines = [f"indexed {self.commit or '?'}",
                 f"files {f.seen}: {f.parsed} parsed{f.windows_text()}, {f.unchanged} "
                 f"unchanged, {f.skipped} skipped, {f.removed} removed",
                 f"chunks {c.total}: +{c.added} −{c.removed}",
                 f"vectors {v.total}: {v.embedded} embedded, {v.reused} reused, "
                 f"{v.deleted} deleted",
                 f"checks: {checks or 'not run'}"]
        if self.repairs:
            lines.append("repaired: " + ", ".join(f"{n} {k.replace('_', ' ')}"
                                                  for k, n in self.repairs.items()))
        lines += [f"check {name} failed: {why}" for name, why in self.check_failures.items()]
        if self.error:
            lines.append(f"failed: {self.error}")
        return "\n".join(lines)
