"""A place for the engine to say how far it got, for whoever is watching.

The CLI shows the reports as rich progress bars and the Dagster assets as lines in the run's
log (``Meter``: done of total, the rate, an ETA); with nobody listening, reports cost nothing.
A stage whose total is 0 is a counter with no known end (chunks written while files parse).
"""

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
Reporter = Callable[[str, int, int], None]
Messenger = Callable[[str], None]
_reporters: list[Reporter] = []
_messengers: list[Messenger] = []

UNITS = {"parse": "files", "chunks": "chunks", "embed": "chunks", "index": "steps",
         "snapshot": "steps"}


def watch(reporter: Reporter) -> AbstractContextManager[None]:
    """Receive every ``report`` while the body runs."""
    return _registered(_reporters, reporter)


def listen(messenger: Messenger) -> AbstractContextManager[None]:
    """Hear what the engine says (``say``) while the body runs."""
    return _registered(_messengers, messenger)


@contextmanager
def _registered(registry: list[T], item: T) -> Iterator[None]:
    registry.append(item)
    try:
        yield
    finally:
        registry.remove(item)


def report(stage: str, done: int, total: int) -> None:
    for reporter in list(_reporters):
        reporter(stage, done, total)


def say(message: str) -> None:
    """Something a person watching should read (a wait, a repair)."""
    for messenger in list(_messengers):
        messenger(message)


@dataclass
class _Stage:
    started: float
    done: int = 0
    total: int = 0
    finished: bool = False


@dataclass
class Meter:
    """Progress as lines for a log: ``parse: 12,345/31,096 files, 410 files/s, 96,210 chunks
    (3,204/s), ETA 43s`` — at most every ``every`` seconds per stage, and once at its end.
    Rates are averages since the stage began, so the ETA does not jump with each batch."""

    write: Callable[[str], None]
    every: float = 10.0
    clock: Callable[[], float] = time.monotonic
    announce: bool = False  # a line as each stage begins, too (a CI log then shows each one)
    stages: dict[str, _Stage] = field(default_factory=dict)
    last_line: dict[str, float] = field(default_factory=dict)

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        begun = stage not in self.stages
        s = self.stages.setdefault(stage, _Stage(started=now))
        if s.finished and done < s.total:  # the stage runs again (a second vectors pass)
            s = self.stages[stage] = _Stage(started=now)
            begun = True
        s.done, s.total = done, total
        if total == 0:
            return  # a counter: shown inside its stage's line
        end = done >= total
        if begun and self.announce and not end:
            self.last_line[stage] = now
            self.write(self.line(stage, now))
            return
        if end and s.finished:
            return
        if end or now - self.last_line.get(stage, s.started) >= self.every:
            s.finished = end
            self.last_line[stage] = now
            self.write(self.line(stage, now))

    def line(self, stage: str, now: float) -> str:
        s = self.stages[stage]
        elapsed = max(now - s.started, 1e-9)
        unit = UNITS.get(stage, "")
        text = f"{stage}: {s.done:,}/{s.total:,} {unit}".rstrip()
        if s.done:
            text += f", {s.done / elapsed:,.0f} {unit}/s" if elapsed >= 1 else ""
        counter = self.stages.get("chunks") if stage == "parse" else None
        if counter is not None and counter.done:
            text += f", {counter.done:,} chunks ({counter.done / elapsed:,.0f}/s)"
        if s.done >= s.total:
            return f"{text}, done in {duration(elapsed)}"
        if s.done:
            text += f", ETA {duration((s.total - s.done) * elapsed / s.done)}"
        return text


def duration(seconds: float) -> str:
    """``43s``, ``2m 05s``, ``1h 02m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
