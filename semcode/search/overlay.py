"""The overlay: what a checkout holds that its verified index does not.

The index is the committed state of the tracked branch, built by the asset graph and proven
by its checks: the shared artifact. A checkout differs from it — edits, staged or not, files
not yet added, deletions, commits the index has not seen — and people search the checkout.
So each search first asks git what differs (``semcode/ingest/worktree.py``), brings this checkout's
overlay up to date for the files whose stat changed since it last looked — chunked by the same
chunker (with its deadline), embedded by the same model, each text at most once (a vector the
index or the overlay already holds is reused by text hash) — and answers from both: the
index's chunks of every path the overlay holds are replaced by the overlay's.

The overlay is one file in the checkout's own git directory (a linked ``git worktree`` has its
own), written whole and renamed into place, never a row of the base store: only read access
to the base is needed, and the base's versions do not move. Its consistency rule — every
chunk has one finite vector of the base's width, ids are unique, and each file the overlay
indexed has its chunks — is checked on every load; a file that fails it is rebuilt, not
trusted. It is not an asset: the graph builds what a team shares and proves; the overlay is
one checkout's private difference from it, valid for one moment, cheap to rebuild.
"""

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pathspec import PathSpec

from semcode.config import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MODEL,
    DEFAULT_PARSE_TIMEOUT,
    DEFAULT_SHARDS,
)
from semcode.embed.embedding import TextEncoder
from semcode.errors import ConfigError
from semcode.ingest import beneath, gitrepo, worktree
from semcode.ingest.discovery import IGNORE_FILE, load_ignore, path_reason, printable_path
from semcode.ingest.discovery import INDEXED as FILE_INDEXED
from semcode.ingest.languages import language_of
from semcode.ingest.sandbox import sandboxed_chunker
from semcode.ingest.watch import CheckoutStatus, CheckoutWatch
from semcode.ingest.worktree import (
    DELETED,
    HIDES,
    INDEXED,
    PENDING,
    SAME,
    SKIPPED,
    PathState,
    inspect,
)
from semcode.reports import OverlayReport
from semcode.search.overlay_file import Base, Saved, read_overlay, row_schema, write_overlay
from semcode.search.overlay_report import out_of_reach, pending_warning, report_of
from semcode.search.overlay_vectors import fill_vectors, waiting_by_path
from semcode.search.overlay_view import ROW_COLUMNS, OverlayView
from semcode.sharding import shard_of
from semcode.store.tables import Store, sql_in

ID_BATCH = 2000
# Seconds a search spends bringing the overlay up to date before it answers with what is
# ready (SEMCODE_OVERLAY_SECONDS): a 1 MB untracked file of small functions is ~10,000
# texts, minutes of a CPU encoder, and no search should wait for it.
DEFAULT_BUDGET_S = 2.0
BUDGET_VARIABLE = "SEMCODE_OVERLAY_SECONDS"


def budget_from_env() -> float:
    """``SEMCODE_OVERLAY_SECONDS``, or the default; a value that is not a number of seconds
    is a ``ConfigError`` naming the variable."""
    raw = os.environ.get(BUDGET_VARIABLE, "").strip()
    try:
        budget = float(raw) if raw else DEFAULT_BUDGET_S
    except ValueError:
        budget = -1.0
    if not 0 <= budget <= 3600:
        raise ConfigError(f"{BUDGET_VARIABLE}={raw!r}: give the seconds a search may spend on "
                          f"the working tree (0 to 3600; {DEFAULT_BUDGET_S:g} by default)")
    return budget


def base_of(store: Store) -> Base | None:
    """The index an overlay lies over: None before a run completed, and for an index of a
    folder outside git (its index is its working tree already)."""
    vectors, snapshot = store.last_vectors(), store.last_snapshot()
    if vectors is None or not vectors.commit or not vectors.dim or \
            (snapshot is not None and not snapshot.is_git):
        return None
    return Base(uri=store.uri, commit=vectors.commit, model=vectors.model, dim=vectors.dim,
                shards=snapshot.shards if snapshot else DEFAULT_SHARDS,
                max_file_bytes=(snapshot.max_file_bytes if snapshot else 0)
                or DEFAULT_MAX_FILE_BYTES)


class Overlay:
    """One checkout's overlay over one store. ``view()`` brings it up to date and returns
    it; ``survey()`` says how it stands without building anything. Safe to share between
    threads; processes sharing a checkout take turns through a file lock."""

    def __init__(self, checkout: worktree.Checkout, store: Store, *,
                 model: str = DEFAULT_MODEL, encoder: Callable[[], TextEncoder] | None = None,
                 parse_timeout: float = DEFAULT_PARSE_TIMEOUT,
                 budget: float | None = None):
        self.checkout, self.store, self.model = checkout, store, model
        # seconds a refresh may take before it answers with what is ready
        self.budget = budget_from_env() if budget is None else budget
        self.encoder, self.parse_timeout = encoder, parse_timeout
        key = hashlib.blake2b(store.uri.encode(), digest_size=6).hexdigest()
        self.file = checkout.git_dir / "semcode" / f"overlay-{key}.arrow"
        self.embedded = 0  # texts the last refresh encoded (the rest were reused)
        self._saved: tuple[tuple[int, ...], Saved] | None = None  # by the file's stat
        self._view: tuple[Saved, OverlayView] | None = None
        self._base: tuple[int, Base | None] | None = None  # by the meta table's version
        self._lock = threading.Lock()
        self.git = CheckoutStatus(checkout)  # git status, watched in a server
        self._finisher: threading.Thread | None = None  # finish_pending's

    def base(self) -> Base | None:
        """The index under the overlay, read again only when the store's meta moved (a
        version check: a fraction of a millisecond, where reading it takes a few)."""
        if not self.store.has("meta"):
            return None
        version = self.store.table("meta").version
        if self._base is None or self._base[0] != version:
            self._base = (version, base_of(self.store))
        return self._base[1]

    # -- what differs ------------------------------------------------------------------------
    def _plan(self, saved: Saved | None, base: Base
              ) -> tuple[worktree.Difference, dict[str, PathState], list[str]]:
        """What differs now, which paths are as the saved overlay last saw them, and which
        must be read again."""
        status = self.git.uncommitted()
        if saved is not None and saved.base == base and saved.head == status.head:
            diff = worktree.Difference(base=base.commit, head=status.head,
                                       uncommitted=status.paths, committed=saved.committed,
                                       ahead=saved.ahead, behind=saved.behind)
        else:
            diff = replace(worktree.committed(self.checkout, base.commit, status.head),
                           uncommitted=status.paths)
        diff = self._searched(diff, status.untracked, self._ignore())
        known = saved.files if saved is not None else {}
        kept, stale = {}, []
        for path in sorted(diff.paths):
            old = known.get(path)
            if old is not None and old.signature == worktree.signature(self.checkout.top, path):
                kept[path] = old
            else:
                stale.append(path)
        return diff, kept, stale

    @property
    def watch(self) -> CheckoutWatch | None:
        return self.git.watch

    def watch_checkout(self) -> None:
        """For a long-lived server: watch the checkout, so that a search asks git only when
        something changed (a failed watch leaves every search asking git)."""
        self.git.start_watching()

    def finish_pending(self) -> None:
        """For a long-lived server: bring the pending files (past a search's budget) to the
        end in a thread, one budget's slice at a time, so that a search meanwhile waits at
        most one slice."""
        if not self.pending or (self._finisher is not None and self._finisher.is_alive()):
            return

        def finish() -> None:
            with contextlib.suppress(Exception):  # the next search says what went wrong
                while self.pending:
                    self.view()

        self._finisher = threading.Thread(target=finish, name="semcode-overlay", daemon=True)
        self._finisher.start()

    def _searched(self, diff: worktree.Difference, untracked: frozenset[str],
                  ignore: PathSpec | None) -> worktree.Difference:
        """Leave out what the index skips by name alone (vendored, generated, binary,
        ``.semcodeignore``) and does not hold: it has no chunks to replace and none to add (a
        folder of untracked dependencies is not thousands of changed files). A path the index
        does hold stays — its chunks are then hidden, skipped with the reason — so that a
        working tree that excludes a file never keeps its stale chunks."""
        named = {p for p in diff.paths if path_reason(printable_path(p)[0], ignore)}
        if not named:
            return diff
        held = self._indexed_among(sorted(named - (untracked - diff.committed)))
        dropped = frozenset(named - held)
        return replace(diff, uncommitted=diff.uncommitted - dropped,
                       committed=diff.committed - dropped, left_out=len(dropped))

    def _indexed_among(self, paths: list[str]) -> set[str]:
        """Which of ``paths`` the index holds as indexed files."""
        held: set[str] = set()
        for start in range(0, len(paths), ID_BATCH):
            found = self.store.scan("files", ["path"], f"status = '{FILE_INDEXED}' AND "
                                    + sql_in("path", paths[start:start + ID_BATCH]))
            held.update(found.column("path").to_pylist())
        return held

    def survey(self) -> OverlayReport:
        """How the checkout differs and whether the overlay on disk covers it (``current``)
        or the next search must refresh it (``stale``) — nothing is read but git's answer."""
        base = self.base()
        if base is None:
            return OverlayReport(checkout=str(self.checkout.top))
        saved = self._load(base)
        diff, kept, stale = self._plan(saved, base)
        if why := out_of_reach(diff):
            return report_of(self.checkout, base, diff, {}, 0, "off", problem=why)
        if not diff.paths:  # nothing to hide or add (what is left out by name is counted)
            return report_of(self.checkout, base, diff, {}, 0, "current")
        fresh = not stale and saved is not None and set(saved.files) == set(kept)
        states = saved.files if fresh and saved is not None else kept
        return report_of(self.checkout, base, diff, states,
                         saved.rows.num_rows if fresh and saved is not None else 0,
                         "current" if fresh else "stale", stale_paths=len(stale))

    def _ignore(self) -> PathSpec | None:
        """The checkout's own ``.semcodeignore`` (a change to it reaches the index's other
        files only when the index runs)."""
        return load_ignore(beneath.read_text(self.checkout.top, IGNORE_FILE))

    # -- bringing it up to date --------------------------------------------------------------
    def view(self, budget: float | None = None) -> OverlayView:
        """The overlay brought up to date within ``budget`` seconds (None: this overlay's
        own; ``math.inf``: whatever it takes): past it, what is not read or embedded yet is
        pending, and a later call goes on from where this one stopped."""
        deadline = time.monotonic() + (self.budget if budget is None else budget)
        with self._lock, self._turn():
            self.embedded = 0
            base = self.base()
            if base is None:
                return OverlayView()
            saved = self._load(base)
            diff, kept, stale = self._plan(saved, base)
            if why := out_of_reach(diff):
                return OverlayView(warnings=[f"the working tree is not searched: {why}"],
                                   report=report_of(self.checkout, base, diff, {}, 0, "off",
                                                    problem=why))
            if not diff.paths:  # nothing to hide or add: nothing is read or written
                return OverlayView(report=report_of(self.checkout, base, diff, {}, 0,
                                                    "current"))
            warnings: list[str] = []
            if saved is None or stale or set(saved.files) != set(kept) or \
                    saved.head != diff.head or any(s.status == PENDING for s in kept.values()):
                saved = self._build(base, diff, saved, kept, stale, deadline)
                warnings += self._save(saved)
            return self._as_view(saved, diff, warnings)

    @property
    def pending(self) -> bool:
        """Whether the overlay last seen holds files not searched yet (a server finishes
        them between searches)."""
        return self._saved is not None and self._saved[1] is not None and any(
            s.status == PENDING for s in self._saved[1].files.values())

    def _as_view(self, saved: Saved, diff: worktree.Difference,
                 warnings: list[str]) -> OverlayView:
        if self._view is not None and self._view[0] is saved and not warnings:
            return self._view[1]
        hidden = frozenset(p for p, s in saved.files.items() if s.status in HIDES)
        indexed = [p for p, s in saved.files.items() if s.status == INDEXED]
        rows = saved.rows.filter(pc.is_in(saved.rows.column("path"),
                                          value_set=pa.array(indexed, pa.string())))
        view = OverlayView(
            hidden=hidden, rows=rows, warnings=warnings + pending_warning(saved.files),
            files={p: (s.status, s.reason) for p, s in saved.files.items() if p in hidden},
            report=report_of(self.checkout, saved.base, diff, saved.files, rows.num_rows,
                             "current" if hidden or diff.head != saved.base.commit else "clean"))
        self._view = (saved, view)
        return view

    def _build(self, base: Base, diff: worktree.Difference, saved: Saved | None,
               kept: dict[str, PathState], stale: list[str], deadline: float) -> Saved:
        """The overlay with ``stale`` paths read again, the rest kept as they were, and the
        vectors still missing made until ``deadline``."""
        states, rows = self._read(base, stale, deadline)
        old = saved.rows if saved is not None else row_schema(base.dim).empty_table()
        keep = [p for p, s in kept.items() if s.status in (INDEXED, PENDING)]
        previous = old.filter(pc.is_in(old.column("path"),
                                       value_set=pa.array(keep, pa.string())))
        filled = fill_vectors(pa.concat_tables([previous, rows]).combine_chunks(), base.dim,
                              old, self.store, self.encoder, deadline)
        self.embedded = filled.embedded
        files = {**kept, **states}
        waiting = waiting_by_path(filled.rows)
        chunked = set(filled.rows.column("path").to_pylist())
        for path, state in files.items():
            if path in waiting:
                done, total = waiting[path]
                files[path] = replace(state, status=PENDING,
                                      reason=f"pending: {done:,} of {total:,} chunks embedded")
            elif state.status == PENDING and path in chunked:
                files[path] = replace(state, status=INDEXED, reason="")
        return Saved(base=base, head=diff.head, committed=diff.committed, ahead=diff.ahead,
                     behind=diff.behind, files=files, rows=filled.rows)

    def _read(self, base: Base, paths: list[str],
              deadline: float) -> tuple[dict[str, PathState], pa.Table]:
        """Each path's state now, and the chunk rows of those to index (ROW_COLUMNS, and a
        null vector). Past ``deadline`` (after the first file: every call moves on) a path is
        left pending, unread."""
        top, ignore = self.checkout.top, self._ignore()
        known = self.store.scan("files", ["path", "content_hash"], sql_in("path", paths))
        indexed_hash = dict(zip(known.column("path").to_pylist(),
                                known.column("content_hash").to_pylist(), strict=True))
        chunker = sandboxed_chunker(self.model, 0, self.parse_timeout)
        marks = gitrepo.marked_paths(top, paths)  # .gitattributes: generated, vendored, binary
        states: dict[str, PathState] = {}
        columns: dict[str, list] = {name: [] for name in ROW_COLUMNS}
        for n, path in enumerate(paths):
            if n and time.monotonic() >= deadline:
                states[path] = PathState(None, "", PENDING, "pending: not read yet")
                continue
            state, text = inspect(top, path, ignore, base.max_file_bytes, marks.get(path, ""))
            if (state.status == DELETED and path not in indexed_hash) or \
                    (state.content_hash and state.content_hash == indexed_hash.get(path)):
                state = replace(state, status=SAME)  # the index holds it as it is
            elif text is not None:
                file = {"path": path, "shard": shard_of(path, base.shards),
                        "language": language_of(path), "content_hash": state.content_hash}
                try:
                    varying, note = chunker.columns(file, text)
                except ValueError as exc:  # one bad file is a skip, as in an index run
                    state = replace(state, status=SKIPPED, reason=f"parse_error: {exc}"[:300])
                else:
                    state = replace(state, reason=note[:300])
                    count = len(varying["chunk_id"])
                    for name in ROW_COLUMNS:
                        columns[name] += varying[name] if name in varying else \
                            [file[name]] * count
            states[path] = state
        schema = row_schema(base.dim)
        count = len(columns["chunk_id"])
        return states, pa.Table.from_pydict(
            {**columns, "vector": pa.nulls(count, schema.field("vector").type)}, schema=schema)

    # -- the file ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """Processes refreshing one checkout's overlay take turns (none can, unlocked, where
        the git directory is read-only)."""
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.file.with_suffix(".lock"), "w")  # noqa: SIM115 — held below
        except OSError:
            yield
            return
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _save(self, saved: Saved) -> list[str]:
        """Write the overlay; a warning when it cannot be written (the next search then
        builds it again)."""
        try:
            write_overlay(self.file, saved)
            self._saved = (_stamp(self.file), saved)
        except OSError as exc:
            return [f"the working tree's overlay cannot be saved in {self.file.parent} "
                    f"({exc.strerror}), so each search rebuilds it"]
        return []

    def _load(self, base: Base) -> Saved | None:
        """The overlay on disk, if it is of this base and passes its consistency rule."""
        try:
            stamp = _stamp(self.file)
        except OSError:
            return None
        if self._saved is None or self._saved[0] != stamp:
            loaded = read_overlay(self.file)
            self._saved = (stamp, loaded) if loaded is not None else None
        saved = self._saved[1] if self._saved is not None else None
        return saved if saved is not None and saved.base == base else None


def _stamp(file: Path) -> tuple[int, ...]:
    return worktree.from_stat(os.stat(file))
