"""The store: LanceDB's tables (files, chunks, vectors, meta), the writer lease, the search
indexes on the tables, and the checks that prove an index whole.

Owns how rows are written and read (one atomic write per shard, retries on commit conflicts),
who may write (one lease holder, fenced at every commit), when the full-text, vector and
lookup indexes are rebuilt, and each check's one property with its evidence. Knows nothing of
git, parsing or the model: it is handed rows and answers with tables.

May import: the root modules only (config, errors, reports, idsets…).
The layers contract in pyproject.toml keeps this true (`make lint`).
"""
