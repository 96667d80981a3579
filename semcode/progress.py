"""A place for the engine to say how far it got, for whoever is watching.

The CLI installs a rich progress bar here and the Dagster assets their run log; with nobody
listening, reports cost nothing.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Reporter = Callable[[str, int, int], None]
Messenger = Callable[[str], None]
_reporter: Reporter | None = None
_messengers: list[Messenger] = []


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


@contextmanager
def listen(messenger: Messenger) -> Iterator[None]:
    """Hear what the engine says (``say``) while the body runs."""
    _messengers.append(messenger)
    try:
        yield
    finally:
        _messengers.remove(messenger)


def report(stage: str, done: int, total: int) -> None:
    if _reporter is not None:
        _reporter(stage, done, total)


def say(message: str) -> None:
    """Something a person watching should read (a wait, a repair)."""
    for messenger in list(_messengers):
        messenger(message)
