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

from semcode.imports import defer_rest_client  # noqa: E402 — before anything imports LanceDB

defer_rest_client()

try:  # the installed distribution's version, one source of truth: pyproject.toml
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _installed

    __version__ = _installed("semcode")
except PackageNotFoundError:  # a checkout never installed
    __version__ = "0+unknown"
