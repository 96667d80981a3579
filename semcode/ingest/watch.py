"""A long-lived server learns of a checkout's changes by watching it, and asks git only when
something changed (``semcode/search/overlay.py``).

``git status`` answers from git's stat data, but it still lstat()s every tracked file: ~90 ms a
call on the Linux ``drivers/`` tree, more than the search itself. A watch on the working tree
and the git directories (inotify, through ``watchfiles``) counts the changes it sees; a status
taken while the count was N is still true while it is N. Before a query trusts the count, it
syncs with the watcher as Watchman does: it writes a cookie file into a watched folder and
waits until the watcher reports it. inotify reports in order, so by then every change made
before the query has been counted — an agent that writes a file and searches at once finds it.

Anything doubtful sends the query to git instead, which is always right: no inotify here (the
watch fails to start — e.g. the per-user watch limit — or would poll), a cookie not reported
within ``SYNC_TIMEOUT_S``, a git directory that cannot be written. What inotify cannot report
(its queue overflowing, the user's global git excludes changing) is out of date for at most
``MAX_AGE_S``: an older status is asked again (``CheckoutStatus``).
"""

import itertools
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from semcode.ingest import gitrepo, worktree
from semcode.ingest.worktree import NEVER_SEARCHED, Checkout

COOKIE_DIR = "semcode"  # in the checkout's own git directory, beside its overlay
COOKIE_PREFIX = "watch-cookie-"
STEP_MS = 2  # how often the watcher hands over what it saw (a sync costs about two steps)
DEBOUNCE_MS = 50  # the longest it groups a burst of changes before handing them over
TIMEOUT_MS = 1_000  # how often it looks up from watching (to stop, to slow down)
# With no search for this long the watcher slows down (a server idles for hours beside an
# editor): it still counts every change, but hands them over every IDLE_STEP_MS, and the first
# search after the pause asks git while it speeds up again.
ACTIVE_S = 300.0
IDLE_STEP_MS = 100
SYNC_TIMEOUT_S = 0.5  # a cookie not reported by then: the watch is not trusted this time
# A status older than this is asked again whatever the watch says: what inotify cannot
# report (an overflowed queue, the user's global excludes) is out of date for at most this.
MAX_AGE_S = 60.0


class CheckoutWatch:
    """Counts the changes of one checkout, from a thread. ``count()``: how many it has seen
    up to this moment, or None when git must be asked (not started, failed, out of sync,
    slowed down); ``seen``: how many it has seen so far, maybe not yet those of the last few
    milliseconds — read before git is asked, it is what that answer stays true for, since a
    change it misses is counted later."""

    def __init__(self, checkout: Checkout):
        self.checkout = checkout
        self.cookies = checkout.git_dir / COOKIE_DIR
        self.failure = ""  # why the watch stopped, when it did
        self._changes = 0
        self._awaited: set[str] = set()  # cookies a search waits for
        self._seen: set[str] = set()  # of those, the ones reported
        self._names = itertools.count()
        self._ready = False
        self._fast = True  # handing changes over every STEP_MS (else every IDLE_STEP_MS)
        self._asked = time.monotonic()  # when a search last asked
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="semcode-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()

    @property
    def watching(self) -> bool:
        return self._ready and not self.failure and not self._stop.is_set()

    @property
    def seen(self) -> int | None:
        return self._changes if self.watching else None

    def count(self) -> int | None:
        """The changes seen so far, once every change made before this call is among them
        (a cookie's round trip through the watcher); None: ask git."""
        self._asked = time.monotonic()
        if not self.watching or not self._fast:
            return None
        name = f"{COOKIE_PREFIX}{os.getpid()}-{threading.get_ident()}-{next(self._names)}"
        cookie = self.cookies / name
        with self._changed:
            self._awaited.add(name)
        try:
            cookie.touch()
            with self._changed:
                if not self._changed.wait_for(lambda: name in self._seen or not self.watching,
                                              SYNC_TIMEOUT_S) or not self.watching:
                    return None
                return self._changes
        except OSError:
            return None
        finally:
            with self._changed:
                self._awaited.discard(name)
                self._seen.discard(name)
            cookie.unlink(missing_ok=True)

    # -- the watcher's thread ----------------------------------------------------------------
    def _watch(self) -> None:
        try:
            from watchfiles._rust_notify import RustNotify

            self.cookies.mkdir(parents=True, exist_ok=True)
            # inotify only (never polling a large tree); the watches are in place on return
            notify = RustNotify([str(p) for p in watched_roots(self.checkout)], False, False,
                                300, True, False)
        except (ImportError, OSError, RuntimeError) as exc:
            self._fail(f"the checkout cannot be watched ({type(exc).__name__}: {exc})")
            return
        with self._changed:
            self._ready = True
        try:
            with notify:
                while not self._stop.is_set():
                    self._fast = time.monotonic() - self._asked < ACTIVE_S
                    step, timeout = (STEP_MS, TIMEOUT_MS) if self._fast else \
                        (IDLE_STEP_MS, IDLE_STEP_MS)
                    raw = notify.watch(DEBOUNCE_MS, step, timeout, None)
                    if isinstance(raw, set):
                        self._note(path for _, path in raw)
        except RuntimeError as exc:  # the watcher's own failure: git answers from now on
            self._fail(f"the checkout's watch failed ({exc})")

    def _note(self, paths: Iterable[str]) -> None:
        cookies, changed = set(), False
        for path in paths:
            name = os.path.basename(path)
            if name.startswith(COOKIE_PREFIX) and Path(path).parent == self.cookies:
                cookies.add(name)
            elif counts(self.checkout, path, self.cookies):
                changed = True
        with self._changed:
            self._changes += changed
            self._seen |= cookies & self._awaited  # one come too late is forgotten
            self._changed.notify_all()

    def _fail(self, why: str) -> None:
        with self._changed:
            self.failure = why
            self._changed.notify_all()


class CheckoutStatus:
    """``git status`` of one checkout, asked again only when its watch (once started) has
    seen a change since the last answer: a server's searches skip git's ~90 ms at the Linux
    ``drivers/`` size."""

    def __init__(self, checkout: Checkout):
        self.checkout = checkout
        self.watch: CheckoutWatch | None = None
        # the last answer, with the watch's count and the clock when it was taken
        self._last: tuple[int, float, gitrepo.WorktreeStatus] | None = None
        self._lock = threading.Lock()

    def start_watching(self) -> None:
        with self._lock:
            if self.watch is None:
                self.watch = CheckoutWatch(self.checkout)

    def uncommitted(self) -> gitrepo.WorktreeStatus:
        watch = self.watch
        synced = watch.count() if watch is not None else None
        now = time.monotonic()
        if synced is not None and self._last is not None:
            count, taken, status = self._last
            if count == synced and now - taken < MAX_AGE_S:
                return status
        seen = watch.seen if watch is not None else None  # read before git is asked
        status = worktree.uncommitted(self.checkout)
        self._last = None if seen is None else (seen, now, status)
        return status


def watched_roots(checkout: Checkout) -> list[Path]:
    """The working tree and the git directories (a linked worktree's are outside it), none
    inside another (a folder is watched with all below it)."""
    roots: list[Path] = []
    for folder in sorted({checkout.top, checkout.git_dir, checkout.common_dir},
                         key=lambda p: len(p.parts)):
        if not any(folder.is_relative_to(root) for root in roots):
            roots.append(folder)
    return roots


def counts(checkout: Checkout, path: str, own: Path) -> bool:
    """Whether a change at ``path`` may change what ``git status`` says: not semcode's own
    files (the overlay, its lock, cookies), not a lock git takes and drops (``index.lock``:
    a status refreshing git's stat data), not a top folder status never looks in."""
    where = Path(path)
    if where.is_relative_to(own):
        return False
    if where.name.endswith(".lock") and any(where.is_relative_to(d) for d in
                                             (checkout.git_dir, checkout.common_dir)):
        return False
    if where.is_relative_to(checkout.top):
        parts = where.relative_to(checkout.top).parts
        return not parts or parts[0] not in NEVER_SEARCHED
    return True
