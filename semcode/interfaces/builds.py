"""An index build in the background: ``semcode index`` as a child process, watched.

The MCP server starts one on a repository's first use (no index yet) and when an agent asks
(``update_index``). It is the command a person runs — the same Dagster job and history, the
same writer lease — so there are never two writers at once: a server runs one build at a time,
and a build that finds another writer (a CLI run, CI, the push sensor) waits for its lease and
says so in its progress. The child's plain progress lines (what ``semcode index`` prints when
piped) are how far it is; its ``--json`` summary is how it ended.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from semcode.config import Settings
from semcode.interfaces.ui import instance_home
from semcode.status_reports import BuildReport

PREFIX = "semcode: "
STOP_SECONDS = 10  # a SIGTERM ends an index run within a second; past this, SIGKILL


class Build:
    """The one build of a server, over its repository (or its deployment's repositories)."""

    def __init__(self, settings: Settings, deployment: bool = False):
        self.settings, self.deployment = settings, deployment
        self._proc: subprocess.Popen[str] | None = None
        self._started = 0.0
        self._started_at = ""
        self._ended = 0.0
        self._progress = ""
        self._tail: deque[str] = deque(maxlen=20)
        self._out = ""
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._proc is not None and (self._proc.poll() is None or not self._ended)

    def start(self) -> bool:
        """Start a build unless one runs; False when one was already running."""
        with self._lock:
            if self.running:
                return False
            args = [sys.executable, "-m", "semcode", "index", "--json"]
            if not self.deployment:
                args.insert(4, self.settings.repo_path)
            if self.settings.store:
                args += ["--store", self.settings.store]
            self._progress, self._out, self._ended = "starting", "", 0.0
            self._tail.clear()
            self._started, self._started_at = time.monotonic(), _now()
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, errors="replace", env={**os.environ, "HF_HUB_OFFLINE": "1"},
                start_new_session=True)  # the client's Ctrl-C is the server's, not the build's
            threading.Thread(target=self._follow, args=(self._proc,), daemon=True).start()
            return True

    def report(self) -> BuildReport | None:
        """Where the last build stands; None when this server started none."""
        proc = self._proc
        if proc is None:
            return None
        code = proc.poll()
        if code is None or not self._ended:  # ended, and its summary read
            return BuildReport(state="running", started=self._started_at, progress=self._progress,
                               seconds=round(time.monotonic() - self._started, 1))
        seconds = round(self._ended - self._started, 1)
        summary = _last_json(self._out)
        failed = code != 0 or bool(summary.get("error"))
        error = summary.get("error") or (" / ".join(self._tail) if self._tail else
                                         f"semcode index exited with {code}")
        return BuildReport(state="failed" if failed else "done", started=self._started_at,
                           seconds=seconds, progress=self._progress,
                           commit=summary.get("commit"), error=error if failed else None)

    def stop(self) -> None:
        """End a running build (the server is closing): the store keeps its last commit and
        the next run goes on from it."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _follow(self, proc: subprocess.Popen[str]) -> None:
        """Read the child's progress as it comes, and its summary at the end."""
        out = threading.Thread(target=lambda: setattr(self, "_out", proc.stdout.read()
                                                      if proc.stdout else ""), daemon=True)
        out.start()
        try:
            for line in proc.stderr or ():
                line = line.strip()
                if line:
                    said = line.removeprefix(PREFIX)
                    self._tail.append(said)
                    self._progress = said
            out.join()
        finally:  # whatever happened to the reading, the build is over when the child is
            proc.wait()
            self._ended = time.monotonic()


def write_problem(settings: Settings) -> str | None:
    """Why an index build could not write here, or None: a store (or the index's Dagster
    history) in a folder this user may only read — a team's index to search, not to build.
    A store on object storage is not probed: a build there that may not write fails at its
    first write, seconds in, and says so."""
    places = []
    if "://" not in settings.store_uri or settings.store_uri.startswith("file://"):
        places.append(Path(settings.store_uri.removeprefix("file://")))
    try:
        places.append(instance_home(settings))  # made when missing
    except OSError as exc:
        return _read_only(settings, exc.filename)
    for place in places:
        existing = next((p for p in (place, *place.parents) if p.exists()), None)
        if existing is not None and not os.access(existing, os.W_OK):
            return _read_only(settings, existing)
    return None


def _read_only(settings: Settings, where: object) -> str:
    return (f"the index at {settings.store_uri} is read-only here ({where} cannot be written "
            "by this user): search it, and let whoever owns it rebuild it (`semcode index` "
            "there, CI, or the push sensor)")


def _last_json(text: str) -> dict:
    """The last JSON object the child printed (one per repository of a deployment)."""
    for line in reversed(text.strip().splitlines()):
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return {}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
