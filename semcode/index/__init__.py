"""Building the index: the three steps of a run, as plain functions over a store.

``pipeline`` records the snapshot and runs the vectors step, ``parse`` turns one shard's files
into chunk rows and commits them (under the writer lease, parsing in the sandbox), ``vectors``
embeds the chunks that have none and keeps the search indexes current. The Dagster assets call
these; so can anything else.

May import: ingest, store, embed and the root modules — never search or the interfaces.
The layers contract in pyproject.toml keeps this true (`make lint`).
"""
