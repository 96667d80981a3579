"""Search: a query against the verified index, with the working tree's overlay on top.

Owns the searcher (``searcher``), a place in the code as a vector (``places``), filters, ranking
and the blend of the vector and keyword sides, one hit per definition (merging), the index
side's readers per table version (resident, row map, per version), and the overlay — a
checkout's uncommitted difference, chunked and embedded at query time, never written into the
base tables.

May import: ingest (to read and chunk the working tree), store, embed and the root modules —
never the index's writers or the interfaces.
The layers contract in pyproject.toml keeps this true (`make lint`).
"""
