"""What a run's chunks step starts for its vectors step, when both run in one process (an
``EmbedAhead``, a spool of parsed vectors): one run's at a time per process, so a run that
never reached its vectors step holds nothing once the next begins."""

import threading
from typing import Generic, Protocol, TypeVar


class Discardable(Protocol):
    def discard(self) -> None: ...


T = TypeVar("T", bound=Discardable)


class Handover(Generic[T]):
    def __init__(self) -> None:
        self._started: dict[str, T] = {}
        self._lock = threading.Lock()

    def put(self, run: str, item: T) -> T:
        """``item`` is ``run``'s; any other run's is discarded."""
        with self._lock:
            for other in self._started.values():
                other.discard()
            self._started.clear()
            self._started[run] = item
        return item

    def take(self, run: str) -> T | None:
        """``run``'s item, handed over once; None when this process has none for it."""
        with self._lock:
            return self._started.pop(run, None)

    def drop(self, run: str) -> None:
        """Let go of ``run``'s item (its chunks step failed)."""
        item = self.take(run)
        if item is not None:
            item.discard()
