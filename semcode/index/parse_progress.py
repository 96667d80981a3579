"""How far the parse is, across its processes: files and chunks counted where they are made
and added up where they are shown (the ``parse`` stage and the ``chunks`` counter)."""

import threading
import time
from collections.abc import Callable
from queue import Empty
from typing import Any

from semcode import progress


class ParseProgress:
    """Files and chunks done across every worker, reported as the ``parse`` stage and the
    ``chunks`` counter."""

    def __init__(self, total_files: int):
        self.files = self.chunks = 0
        self.total = total_files
        progress.report("parse", 0, total_files)

    def add(self, files: int, chunks: int) -> None:
        self.files += files
        self.chunks += chunks
        progress.report("chunks", self.chunks, 0)
        progress.report("parse", min(self.files, self.total), self.total)

    def draining(self, queue: Any) -> "_Drain":
        return _Drain(self, queue)


class _Drain:
    """A thread that adds what the workers put on ``queue`` until the pool is done."""

    def __init__(self, shown: ParseProgress, queue: Any):
        self.shown, self.queue = shown, queue
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="semcode-parse-progress",
                                       daemon=True)

    def run(self) -> None:
        while not self.stop.is_set() or not self.queue.empty():
            try:
                self.shown.add(*self.queue.get(timeout=0.2))
            except Empty:
                continue

    def __enter__(self) -> "_Drain":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


class Sink:
    """Where a process sends its parse progress: added up and passed on at most twice a
    second (a worker's goes through a queue to the parent)."""

    def __init__(self, send: Callable[[int, int], None] | None = None, every: float = 0.5):
        self.send, self.every = send, every
        self.files = self.chunks = 0
        self.sent = time.monotonic()

    def add(self, files: int, chunks: int) -> None:
        self.files += files
        self.chunks += chunks
        if time.monotonic() - self.sent >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.send is not None and (self.files or self.chunks):
            self.send(self.files, self.chunks)
        self.files = self.chunks = 0
        self.sent = time.monotonic()
