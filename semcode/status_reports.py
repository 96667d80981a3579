"""What a look at an index says, shared by `semcode status`, MCP ``index_status`` and the
checks: what it holds, how fresh it is, how the checkout differs, and a build in progress."""

from semcode.reports import INDEXED, OverlayReport, Report, count_skips


class FileStatus(Report):
    total: int = 0
    indexed: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = {}
    line_windows: dict[str, int] = {}  # indexed files cut by line windows, by why

    @classmethod
    def from_manifest(cls, statuses: list[str], reasons: list[str]) -> "FileStatus":
        skipped = [r for s, r in zip(statuses, reasons, strict=True) if s != INDEXED]
        noted = [r for s, r in zip(statuses, reasons, strict=True) if s == INDEXED and r]
        return cls(total=len(statuses), indexed=len(statuses) - len(skipped),
                   skipped=len(skipped), skip_reasons=count_skips(skipped),
                   line_windows=count_skips(noted))


class Freshness(Report):
    branch: str | None = None
    head: str | None = None
    behind: int | None = None
    fresh: bool | None = None

    def text(self) -> str:
        if self.fresh:
            return "up to date"
        return f"{self.behind} commit(s) behind" if self.behind is not None else "unknown"


class BuildReport(Report):
    """An index build a long-lived server started in the background (MCP ``update_index``,
    or a repository's first use): ``running``, ``done`` or ``failed``."""

    state: str
    started: str  # when, ISO 8601
    seconds: float  # since it started (running), or how long it took
    progress: str = ""  # its last progress line: "embed: 1,200/2,000 chunks, 38 chunks/s …"
    commit: str | None = None  # the commit it indexed, once done
    error: str | None = None  # why it failed, with what to do

    def text(self) -> str:
        if self.state == "running":
            return f"index build running for {self.seconds:.0f} s" + \
                (f": {self.progress}" if self.progress else "")
        if self.state == "done":
            return f"index build done in {self.seconds:.0f} s (commit {(self.commit or '?')[:12]})"
        return f"index build failed after {self.seconds:.0f} s: {self.error}"


class IndexStatus(Report):
    """What the index holds and how fresh it is: ``semcode status`` and MCP ``index_status``."""

    store: str
    exists: bool
    hint: str | None = None
    files: FileStatus = FileStatus()
    languages: dict[str, int] = {}
    chunks: int = 0
    vectors: int = 0
    model: str | None = None
    snapshot_commit: str | None = None
    indexed_commit: str | None = None
    indexed_at: str | None = None
    checks: dict[str, bool] = {}  # run now, against the store as it is
    check_failures: dict[str, str] = {}  # a failed check → what it found, how to repair
    freshness: Freshness = Freshness()
    # The checkout searched with this index: how it differs from the indexed commit, and
    # whether its overlay covers that (None: no checkout, or a folder outside git)
    worktree: OverlayReport | None = None
    # The branch head is indexed and nothing in the checkout differs from it
    up_to_date: bool = False
    # The index build this server started, if any (MCP)
    build: BuildReport | None = None

    def freshness_text(self) -> str:
        """``up to date``; ``2 commit(s) behind``; ``index at a1b2c3d4e5f6 + overlay of 3
        changed file(s) (current)``."""
        f = self.freshness
        if self.worktree is None or self.worktree.state == "clean":
            return f.text()
        said = f"index at {(self.indexed_commit or '?')[:12]} {self.worktree.text()}"
        return said if f.fresh else f"{said}; the branch is {f.text()}"

    @property
    def healthy(self) -> bool:
        """A run completed, and the store passes every check now."""
        return self.exists and self.indexed_commit is not None and all(self.checks.values())

    def text(self) -> str:
        build = f"\n{self.build.text()}" if self.build is not None else ""
        if not self.exists:
            return f"{self.hint} (store: {self.store}){build}"
        f = self.freshness
        checks = ", ".join(f"{k} {'passed' if v else 'FAILED'}" for k, v in self.checks.items())
        return (f"indexed {self.indexed_commit} ({self.freshness_text()}; branch {f.branch} at "
                f"{f.head})\n"
                f"{self.files.indexed} files indexed, {self.files.skipped} skipped, "
                f"{self.chunks} chunks, {self.vectors} vectors, model {self.model}\n"
                f"checks: {checks or 'not run'}"
                + "".join(f"\ncheck {k} failed: {why}" for k, why in self.check_failures.items())
                + build)
