"""semcode: a git repository turned into a semantic code-search index.

This package is the engine. It never imports dagster: the search CLI and the MCP server
load it without paying for the orchestrator. The Dagster wiring lives in assets/,
resources/, sensors/ and definitions.py at the repository root.
"""

import os

# LanceDB's Rust side reads LANCEDB_LOG once, at its first import, which any module of the
# engine may trigger: set here, before all of them. Its warnings ("No existing dataset …
# will be created") are routine for semcode; errors still print.
os.environ.setdefault("LANCEDB_LOG", "error")

from semcode.imports import defer_rest_client, plain_overrides  # noqa: E402 — before LanceDB

defer_rest_client()
plain_overrides()


def __getattr__(name: str) -> str:
    """``__version__``: the installed distribution's, one source of truth (pyproject.toml),
    looked up when asked (reading the installed packages' metadata costs a process ~30 ms)."""
    if name != "__version__":
        raise AttributeError(f"module 'semcode' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("semcode")
    except PackageNotFoundError:  # a checkout never installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found
