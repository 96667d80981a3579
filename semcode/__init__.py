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

__version__ = "0.1.0"
