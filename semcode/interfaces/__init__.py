"""The doors: the ``semcode`` CLI, its console output, the MCP server and its client configs,
the Dagster UI's instance, the index's status and plan, and the registry of repositories.

Owns how people and agents meet the engine: arguments, exit codes and messages, what is
printed (escaped, one line per hit when piped) and the JSON shapes. Holds no engine logic of
its own: each command calls search, index or store.

May import: every stage below (search, index, ingest, store, embed) and the root modules.
Nothing in the engine imports it; the Dagster wiring (semcode_dagster) may.
The layers contract in pyproject.toml keeps this true (`make lint`).
"""
