"""Human output for the CLI, with rich: progress while indexing, highlighted hits, status.

Every value that comes from the repository — a path, a symbol, a chunk's text, a branch, a
skip reason — is shown through ``shown`` (control characters escaped, so a string literal
cannot retitle, clear or rewrite the terminal) and as rich ``Text`` (never read as markup, so
``lib[/util]s.py`` is a name, not a tag that crashes the print or hides a link).
"""

import re
import sys
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
from semcode.reports import IndexReport
from semcode.search.hits import Hit
from semcode.search.navigation import Answer, Callee, Caller
from semcode.status_reports import IndexStatus

if TYPE_CHECKING:
    from semcode.interfaces.plan import IndexPlan

out = Console()
err = Console(stderr=True)

# C0 but TAB and LF, DEL, C1, and the bidirectional overrides that reorder what a line shows
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100
                                else f"\\u{ord(char):04x}")


def shown(value: object, *, one_line: bool = False) -> str:
    """``value`` with its control characters written out (``\\e``, ``\\x07``): C0 but TAB
    and LF (``one_line``: those too), DEL, C1 and the bidirectional overrides. A CRLF line
    end is shown as the LF it ends."""
    text = str(value)
    if one_line:
        return _ONE_LINE.sub(_escaped, text)
    return _CONTROL.sub(_escaped, text.replace("\r\n", "\n"))


def plain(value: object, style: str = "", *, one_line: bool = True) -> Text:
    """A repository value as rich text: escaped, and never read as markup."""
    return Text(shown(value, one_line=one_line), style=style)

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
    """Shows the engine's progress reports on stderr (stdout stays for --json): on a terminal
    (``enabled``) as bars — done of total, rate and time left per stage; a counter (total 0)
    shows its count and rate — and otherwise (``lines``: a CI log) as plain lines, one as
    each stage begins and one every ~10 s while it runs, with no control characters."""

    def __init__(self, enabled: bool, lines: bool = False):
        self.enabled, self.lines = enabled, lines and not enabled
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
        elif self.lines:
            self._stack.enter_context(progress.watch(progress.Meter(_plain_line,
                                                                   announce=True)))
        self._stack.enter_context(
            progress.listen(lambda message: err.print(plain(message, "yellow", one_line=False))))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        if self.enabled:
            self.bars.stop()


def _plain_line(line: str) -> None:
    print(f"semcode: {shown(line, one_line=True)}", file=sys.stderr, flush=True)


def print_summary(report: IndexReport, store: str) -> None:
    if report.up_to_date:
        said = Text.assemble(("up to date", "green"), plain(f": {report.commit} is indexed")) \
            if report.clean else Text.assemble(
                plain(f"index at {(report.commit or '?')[:12]}", "green"), " ",
                plain(report.worktree_text()))
        out.print(Text.assemble(said, f" — {report.chunks.total} chunks, "
                                f"{report.vectors.total} vectors; checks passed against the "
                                "store now (`--full` runs the job anyway)"))
        out.print(Text.assemble("store: ", plain(store)))
        return
    table = Table(title=plain(f"indexed {report.commit or '?'}"), show_header=True)
    for column in ("", "total", "changes"):
        table.add_column(column)
    f, c, v = report.files, report.chunks, report.vectors
    table.add_row("files", str(f.seen), plain(
        f"{f.parsed} parsed{f.windows_text()}, {f.unchanged} unchanged, {f.skipped} skipped, "
        f"{f.removed} removed"))
    table.add_row("chunks", str(c.total), f"+{c.added} −{c.removed}")
    table.add_row("vectors", str(v.total), plain(
        f"{v.embedded} embedded, {v.reused} reused, {v.deleted} deleted"
        + (f" — {v.backend}" if v.backend else "")))
    out.print(table)
    for name, passed in report.checks.items():
        out.print(Text.assemble("  ", ("✓", "green") if passed else ("✗", "red"), " ",
                                plain(name, "green" if passed else "red")))
        if name in report.check_failures:
            out.print(Text.assemble("    ", plain(report.check_failures[name], one_line=False)))
    if report.repairs:
        out.print(Text.assemble(("repaired:", "yellow"), " ", plain(", ".join(
            f"{n} {k.replace('_', ' ')}" for k, n in report.repairs.items()))))
    if report.error:
        out.print(Text.assemble(("failed:", "red"), " ", plain(report.error, one_line=False)))
    if report.worktree is not None and not report.clean:
        out.print(Text.assemble("working tree: ", plain(report.worktree.summary())))
    out.print(Text.assemble("store: ", plain(store)))


def print_plan(plan: "IndexPlan") -> None:
    """What a full index would take: files, skips (the largest first), languages, chunks and
    the time on this machine."""
    out.print(Text.assemble(("plan", "bold"), " for ", plain(plan.repo), " at ",
                            plain(plan.commit[:12] or "the working tree"),
                            " (nothing indexed or embedded)"))
    languages = Table(title="to index", show_header=True)
    for column in ("language", "files", "MB", "chunks (est.)"):
        languages.add_column(column, justify="left" if column == "language" else "right")
    for name, lang in plan.languages.items():
        languages.add_row(plain(name), str(lang.files), f"{lang.bytes / 1e6:.2f}",
                          str(lang.chunks))
    languages.add_row("[bold]all", f"[bold]{plan.indexed}", f"[bold]{plan.indexed_bytes / 1e6:.2f}",
                      f"[bold]{plan.chunks}")
    out.print(languages)
    if plan.skipped:
        out.print(plain(f"skipped {plan.skipped}: " + ", ".join(
            f"{reason} {n}" for reason, n in plan.skip_reasons.items())))
        largest = Table(title="largest skipped", show_header=True)
        for column in ("path", "KB", "reason"):
            largest.add_column(column)
        for f in plan.largest_skipped:
            largest.add_row(plain(f.path), f"{f.size / 1e3:.0f}", plain(f.reason))
        out.print(largest)
    how = "counted exactly" if plan.exact else f"estimated from {plan.sampled_files} files"
    out.print(f"chunks: ~{plan.chunks} ({how}), {plan.texts} distinct texts to embed")
    out.print(plain(f"time here: ~{plan.seconds:.0f} s — parse {plan.parse_seconds:.0f} s, "
                    f"embed {plan.embed_seconds:.0f} s at {plan.texts_per_s:.0f} texts/s "
                    f"({plan.model}, {plan.backend})"))
    out.print("exclude paths with a [bold].semcodeignore[/] line (gitignore syntax), then run "
              "`semcode index`")


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        err.print(Text.assemble(("warning:", "yellow"), " ", plain(warning, one_line=False)))


def print_hits(hits: list[Hit], roots: Mapping[str, str]) -> None:
    """Each hit at its place on disk (``roots``: each repository's checkout, by name)."""
    if not out.is_terminal:  # piped: one hit per line, whole, as grep prints (no colour)
        if not hits:
            err.print("no results")
        for hit in hits:
            where = Path(roots[hit.repository]).resolve() / hit.path
            source = ", working tree" if hit.source == "worktree" else ""
            print(shown(f"{where}:{hit.start_line}: {hit.symbol or '-'} ({hit.kind}, "
                        f"{hit.language}, score {hit.score:.3f}{source})", one_line=True))
        return
    if not hits:
        out.print("[yellow]no results[/]")
        return
    for hit in hits:
        where = Path(roots[hit.repository]).resolve() / hit.path
        label = f"{hit.symbol} ({hit.kind})" if hit.symbol else hit.kind
        out.print(Text.assemble(
            plain(f"{where}:{hit.start_line}", "bold cyan"), "  ", plain(label), "  ",
            plain(f"{hit.language} · score {hit.score:.3f}", "dim"),
            (" · ", "") if hit.source == "worktree" else "",
            ("working tree", "magenta") if hit.source == "worktree" else ""))
        out.print(Syntax(shown(hit.text.rstrip()), LEXERS.get(hit.language, hit.language),
                         line_numbers=True, start_line=hit.start_line, word_wrap=True,
                         background_color="default"))


def print_navigation(answer: Answer, root: str, total: int) -> None:
    """A navigation answer: each result at its place on disk, best scope first; what it
    resolved to and that it is name-based, on stderr."""
    top = Path(root).resolve()
    for warning in answer.warnings:
        err.print(plain(f"warning: {warning}", "yellow"))
    what = {"definition": "definition", "references": "reference", "callers": "caller",
            "callees": "call"}[answer.relation]
    err.print(plain(f"{total} {what}{'' if total == 1 else 's'} of {answer.name} "
                    f"({answer.note})", "dim"))
    for r in answer.results:
        if isinstance(r, Callee):
            there = r.defined_at[0] if r.defined_at else None
            where = f" → {top / there.path}:{there.line} ({there.kind})" if there else \
                " → not indexed"
            line = f"{r.line}: {r.receiver + '.' if r.receiver else ''}{r.name}(){where}"
        elif isinstance(r, Caller):
            line = (f"{top / r.path}:{r.line}: {r.caller} ({r.kind}) calls at line"
                    f"{'s' if len(r.calls) > 1 else ''} {', '.join(map(str, r.calls))}")
        else:
            label = r.qualified or (f"{r.detail}.{r.name}" if r.kind == "call" and r.detail
                                    else r.name)
            inside = f" in {r.enclosing}" if r.enclosing and not r.qualified else ""
            line = f"{top / r.path}:{r.line}: {label} ({r.kind}{inside})"
        scope = f"  [{r.scope}]" if getattr(r, "scope", "") else ""
        if out.is_terminal:
            out.print(Text.assemble(plain(line), (scope, "dim")))
        else:
            print(shown(line + scope, one_line=True))


def print_status(status: IndexStatus, repository: str = "") -> None:
    """One index's status; under a heading with its name when the deployment has several."""
    if repository:
        verdict = ("healthy", "green") if status.healthy else ("NOT healthy", "red")
        out.print(Text.assemble(plain(repository, "bold"), ": ", verdict))
    if not status.exists:
        out.print(Text.assemble(plain(status.hint, "yellow"), " (store: ", plain(status.store),
                                ")"))
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
        table.add_row(key, plain(value))
    out.print(table)
    for name, why in status.check_failures.items():
        out.print(Text.assemble(plain(f"✗ {name}:", "red"), " ", plain(why, one_line=False)))
    if status.hint:
        out.print(plain(status.hint, "yellow", one_line=False))
