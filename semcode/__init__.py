"""semcode: a git repository turned into a semantic code-search index.

This package is the engine. It never imports dagster: the search CLI and the MCP server
load it without paying for the orchestrator. The Dagster wiring lives in assets/,
resources/, sensors/ and definitions.py at the repository root.
"""

__version__ = "0.1.0"
