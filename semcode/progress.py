"""A place for the engine to say how far it got, for whoever is watching.

The CLI installs a rich progress bar here; inside Dagster runs nobody listens and reports
cost nothing.
"""

from collections.abc import Callable

Reporter = Callable[[str, int, int], None]
_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def report(stage: str, done: int, total: int) -> None:
    if _reporter is not None:
        _reporter(stage, done, total)
