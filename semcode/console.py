"""Human output for the CLI, with rich: progress while indexing, highlighted hits, status."""

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from semcode import progress
from semcode.hits import Hit
from semcode.reports import IndexReport, IndexStatus

if TYPE_CHECKING:
    from semcode.plan import IndexPlan

out = Console()
err = Console(stderr=True)

STAGES = {"snapshot": "snapshot", "parse": "parse files", "chunks": "  chunks",
          "embed": "embed chunks", "index": "search indexes"}
LEXERS = {"csharp": "csharp", "cpp": "cpp", "tsx": "tsx", "text": "text"}


class RateColumn(ProgressColumn):
    """``410 files/s``: the stage's average rate so far."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed < 1 or not task.completed:
            return Text("")
        unit = progress.UNITS.get(task.fields.get("stage", ""), "")
        if unit == "steps":  # a handful of uneven steps: a rate would mislead
            return Text("")
        return Text(f"{task.completed / elapsed:,.0f} {unit}/s", style="cyan")


class IndexProgress:
    """Shows the engine's progress reports as bars on stderr (stdout stays for --json): done
    of total, rate and time left per stage; a counter (total 0) shows its count and rate."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars = Progress(TextColumn("{task.description:<14}"), BarColumn(),
                             MofNCompleteColumn(), RateColumn(), TimeElapsedColumn(),
                             TimeRemainingColumn(), console=err)
        self.tasks: dict[str, TaskID] = {}
        self._stack = ExitStack()

    def report(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bars.add_task(STAGES.get(stage, stage), stage=stage,
                                                   total=total or None)
        self.bars.update(self.tasks[stage], completed=done, total=total or None)

    def __enter__(self) -> "IndexProgress":
        if self.enabled:
            self.bars.start()
            self._stack.enter_context(progress.watch(self.report))
        self._stack.enter_context(
            progress.listen(lambda message: err.print(f"[yellow]{message}[/]")))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        if self.enabled:
            self.bars.stop()


def print_summary(report: IndexReport, store: str) -> None:
    if report.up_to_date:
        said = f"[green]up to date[/]: {report.commit} is indexed" if report.clean else \
            f"[green]index at {(report.commit or '?')[:12]}[/] {report.worktree_text()}"
        out.print(f"{said} — {report.chunks.total} chunks, {report.vectors.total} vectors; "
                  "checks passed against the store now (`--full` runs the job anyway)")
        out.print(f"store: {store}")
        return
    table = Table(title=f"indexed {report.commit or '?'}", show_header=True)
    for column in ("", "total", "changes"):
        table.add_column(column)
    f, c, v = report.files, report.chunks, report.vectors
    table.add_row("files", str(f.seen), f"{f.parsed} parsed{f.windows_text()}, {f.unchanged} "
                  f"unchanged, {f.skipped} skipped, {f.removed} removed")
    table.add_row("chunks", str(c.total), f"+{c.added} −{c.removed}")
    table.add_row("vectors", str(v.total), f"{v.embedded} embedded, {v.reused} reused, "
                  f"{v.deleted} deleted" + (f" — {v.backend}" if v.backend else ""))
    out.print(table)
    for name, passed in report.checks.items():
        out.print(f"  {'[green]✓' if passed else '[red]✗'} {name}[/]")
        if name in report.check_failures:
            out.print(f"    {report.check_failures[name]}", markup=False)
    if report.repairs:
        out.print("[yellow]repaired:[/] " + ", ".join(
            f"{n} {k.replace('_', ' ')}" for k, n in report.repairs.items()))
    if report.error:
        out.print(f"[red]failed:[/] {report.error}")
    if report.worktree is not None and not report.clean:
        out.print(f"working tree: {report.worktree.summary()}")
    out.print(f"store: {store}")


def print_plan(plan: "IndexPlan") -> None:
    """What a full index would take: files, skips (the largest first), languages, chunks and
    the time on this machine."""
    out.print(f"[bold]plan[/] for {plan.repo} at {plan.commit[:12] or 'the working tree'} "
              "(nothing indexed or embedded)")
    languages = Table(title="to index", show_header=True)
    for column in ("language", "files", "MB", "chunks (est.)"):
        languages.add_column(column, justify="left" if column == "language" else "right")
    for name, lang in plan.languages.items():
        languages.add_row(name, str(lang.files), f"{lang.bytes / 1e6:.2f}", str(lang.chunks))
    languages.add_row("[bold]all", f"[bold]{plan.indexed}", f"[bold]{plan.indexed_bytes / 1e6:.2f}",
                      f"[bold]{plan.chunks}")
    out.print(languages)
    if plan.skipped:
        out.print(f"skipped {plan.skipped}: " + ", ".join(
            f"{reason} {n}" for reason, n in plan.skip_reasons.items()))
        largest = Table(title="largest skipped", show_header=True)
        for column in ("path", "KB", "reason"):
            largest.add_column(column)
        for f in plan.largest_skipped:
            largest.add_row(f.path, f"{f.size / 1e3:.0f}", f.reason)
        out.print(largest)
    how = "counted exactly" if plan.exact else f"estimated from {plan.sampled_files} files"
    out.print(f"chunks: ~{plan.chunks} ({how}), {plan.texts} distinct texts to embed")
    out.print(f"time here: ~{plan.seconds:.0f} s — parse {plan.parse_seconds:.0f} s, embed "
              f"{plan.embed_seconds:.0f} s at {plan.texts_per_s:.0f} texts/s "
              f"({plan.model}, {plan.backend})")
    out.print("exclude paths with a [bold].semcodeignore[/] line (gitignore syntax), then run "
              "`semcode index`")


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        err.print(f"[yellow]warning:[/] {warning}")


def print_hits(hits: list[Hit], roots: Mapping[str, str]) -> None:
    """Each hit at its place on disk (``roots``: each repository's checkout, by name)."""
    if not out.is_terminal:  # piped: one hit per line, whole, as grep prints (no colour)
        if not hits:
            err.print("no results")
        for hit in hits:
            where = Path(roots[hit.repository]).resolve() / hit.path
            source = ", working tree" if hit.source == "worktree" else ""
            print(f"{where}:{hit.start_line}: {hit.symbol or '-'} ({hit.kind}, {hit.language},"
                  f" score {hit.score:.3f}{source})")
        return
    if not hits:
        out.print("[yellow]no results[/]")
        return
    for hit in hits:
        where = Path(roots[hit.repository]).resolve() / hit.path
        label = f"{hit.symbol} ({hit.kind})" if hit.symbol else hit.kind
        source = " · [magenta]working tree[/]" if hit.source == "worktree" else ""
        out.print(f"[bold cyan]{where}:{hit.start_line}[/]  {label}  "
                  f"[dim]{hit.language} · score {hit.score:.3f}[/]{source}")
        out.print(Syntax(hit.text.rstrip(), LEXERS.get(hit.language, hit.language),
                         line_numbers=True, start_line=hit.start_line, word_wrap=True,
                         background_color="default"))


def print_status(status: IndexStatus, repository: str = "") -> None:
    """One index's status; under a heading with its name when the deployment has several."""
    if repository:
        verdict = "[green]healthy[/]" if status.healthy else "[red]NOT healthy[/]"
        out.print(f"[bold]{repository}[/]: {verdict}")
    if not status.exists:
        out.print(f"[yellow]{status.hint}[/] (store: {status.store})")
        return
    fresh, files = status.freshness, status.files
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(files.skip_reasons.items()))
    rows = [
        ("store", status.store),
        ("indexed commit", str(status.indexed_commit)),
        ("branch head", f"{fresh.branch} @ {fresh.head}"),
        ("freshness", status.freshness_text()),
        *([("working tree", status.worktree.summary())] if status.worktree else []),
        ("files", f"{files.total} ({files.indexed} indexed"
                  + "".join(f", {n} by line windows: {k}" for k, n in
                            sorted(files.line_windows.items()))
                  + f", {files.skipped} skipped" + (f": {reasons}" if reasons else "") + ")"),
        ("chunks / vectors", f"{status.chunks} / {status.vectors}"),
        ("model", str(status.model)),
        ("checks", ", ".join(f"{k} {'passed' if v else 'FAILED'}"
                             for k, v in status.checks.items()) or "not run"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)
    for name, why in status.check_failures.items():
        out.print(f"[red]✗ {name}:[/] ", end="")
        out.print(why, markup=False)
    if status.hint:
        out.print(f"[yellow]{status.hint}[/]")
