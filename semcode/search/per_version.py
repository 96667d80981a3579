"""What a long-lived searcher reads of a large table once per version of it, in a thread of
its own (the row map, the vectors as their index last saw them): searches go without it
until it is read, and when the read gives up for a version it is not tried again for it."""

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Moved(Exception):
    """The table was written while it was read: the next search starts the read again."""


class PerVersion(Generic[T]):
    def __init__(self, name: str, read: Callable[[int], T | None]):
        """``read(version)``: the thing for that version of the table, or None when there
        is none to have (too large, damaged, not needed); raises ``Moved`` to be asked
        again."""
        self.name = name
        self.read = read
        self._held: tuple[int, T | None] | None = None
        self._reading: threading.Thread | None = None

    def current(self, version: int, start: bool) -> T | None:
        """The thing read for ``version``; when it is not read yet (and ``start``), its
        read begins in a thread unless one is under way."""
        held = self._held
        if held is not None and held[0] == version:
            return held[1]
        if start and (self._reading is None or not self._reading.is_alive()):
            self._reading = threading.Thread(target=self._read, args=(version,),
                                             name=self.name, daemon=True)
            self._reading.start()
        return None

    def _read(self, version: int) -> None:
        try:
            value = self.read(version)
        except Moved:
            return
        except (RuntimeError, OSError, ValueError):  # damage: the store's reads answer
            value = None
        self._held = (version, value)

    def wait(self, timeout: float | None = None) -> None:
        """Until the read under way (if any) is done (for tests and benchmarks)."""
        if self._reading is not None:
            self._reading.join(timeout)
