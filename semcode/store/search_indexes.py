"""The store's search indexes: kept current after each vectors step (the full-text index,
the chunk id, path and shard lookups, the ANN index past 100K vectors), and checked — which exist
but do not answer because their files are damaged or gone."""

from lancedb.index import FTS, Bitmap, BTree
from lancedb.query import MatchQuery

from semcode import progress
from semcode.errors import first_line
from semcode.store.index_policy import ann_config, behind
from semcode.store.tables import Store, sql_str


def refresh(store: Store, ann_min_rows: int = 100_000) -> dict:
    """Full-text index on the code-aware ``keywords`` column (no stemming, no stop words:
    they mangle identifiers), and an ANN index once brute force gets slow; an index that
    exists but does not answer (its files lost) is rebuilt. Rows written since an index
    was last brought up to date are still found (LanceDB scans them beside the index);
    ``optimize()`` — a compaction that rewrites small fragments, then the indexes taking
    the new rows in — runs only once they are a few percent of the table, so a one-file
    push does not rewrite a million-row table. Reported as the ``index`` stage."""
    done: dict[str, str] = {}
    progress.report("index", 0, 4)
    if store.has("chunks"):
        chunks = store.table("chunks")
        names = {i.name for i in chunks.list_indices()}
        if "keywords_idx" not in names or keyword_index_problem(store):
            progress.say(f"building the full-text index over {chunks.count_rows():,} chunks")
            store.commit(lambda: chunks.create_index(
                "keywords", config=FTS(base_tokenizer="whitespace", lower_case=True,
                                       stem=False, remove_stop_words=False,
                                       ascii_folding=False, with_position=False),
                replace=True))
            done["fts"] = "rebuilt" if "keywords_idx" in names else "created"
        if "chunk_id_idx" not in names or id_index_problem(store):  # hits are fetched by id
            store.commit(lambda: chunks.create_index("chunk_id", config=BTree(),
                                                        replace=True))
            done["ids"] = "rebuilt" if "chunk_id_idx" in names else "created"
        # a search reads the spans of a hit's file (one hit per definition), the overlay the
        # chunks of the paths it replaces, `similar` a file's chunks: without it, a scan of
        # every row's path (~100 ms of a 120 ms search at the Linux drivers/ size)
        if "path_idx" not in names or path_index_problem(store):
            store.commit(lambda: chunks.create_index("path", config=BTree(), replace=True))
            done["paths"] = "rebuilt" if "path_idx" in names else "created"
        if "shard_idx" not in names or shard_index_problem(store):  # a shard reads its rows
            store.commit(lambda: chunks.create_index("shard", config=Bitmap(),
                                                        replace=True))
            done["shards"] = "rebuilt" if "shard_idx" in names else "created"
        progress.report("index", 1, 4)
        if behind(chunks, "keywords_idx"):
            store.commit(lambda: chunks.optimize())
            done["chunks"] = "optimized"
    if store.has("symbols"):  # navigation looks a name up, and the working tree a path;
        symbols = store.table("symbols")  # a shard's parse and the check read the file rows
        names = {i.name for i in symbols.list_indices()}
        for column, kind in (("name", BTree), ("path", BTree), ("role", Bitmap)):
            if f"{column}_idx" not in names:
                store.commit(lambda c=column, k=kind: symbols.create_index(  # type: ignore[misc]
                    c, config=k(), replace=True))
                done[f"symbols_{column}"] = "created"
        if behind(symbols, "name_idx"):
            store.commit(lambda: symbols.optimize())
            done["symbols"] = "optimized"
    progress.report("index", 2, 4)
    if store.has("vectors"):
        vectors = store.table("vectors")
        names = {i.name for i in vectors.list_indices()}
        rows = vectors.count_rows()
        if ("vector_idx" not in names and rows >= ann_min_rows) or \
                ("vector_idx" in names and vector_index_problem(store)):
            if behind(vectors, None):  # compact first: an index is remapped by it
                store.commit(lambda: vectors.optimize())
            progress.say(f"building the vector index over {rows:,} vectors")
            store.commit(lambda: vectors.create_index("vector", config=ann_config(rows),
                                                         replace=True))
            done["ann"] = "rebuilt" if "vector_idx" in names else "created"
            names.add("vector_idx")
        progress.report("index", 3, 4)
        if behind(vectors, "vector_idx" if "vector_idx" in names else None):
            store.commit(lambda: vectors.optimize())
            done["vectors"] = "optimized"
    progress.report("index", 4, 4)
    return done


def keyword_index_problem(store: Store) -> str:
    """Why keyword search over ``chunks`` cannot answer, or ``""`` when it can."""
    if not store.has("chunks"):
        return "no chunks table"
    chunks = store.table("chunks")
    if "keywords_idx" not in {i.name for i in chunks.list_indices()}:
        return "the full-text index does not exist"
    try:
        chunks.search(MatchQuery("semcode", "keywords"),  # type: ignore[call-arg]
                      query_type="fts").limit(1).to_arrow()
    except (RuntimeError, OSError, ValueError) as exc:
        return f"the full-text index does not answer: {first_line(exc)}"
    return ""


def id_index_problem(store: Store) -> str:
    """Why a lookup of chunks by id fails, or ``""``."""
    return _stored_value_problem(store, "chunk_id", "the chunk id index")


def path_index_problem(store: Store) -> str:
    """Why a lookup of chunks by path fails, or ``""``."""
    return _stored_value_problem(store, "path", "the path index")


def _stored_value_problem(store: Store, column: str, index: str) -> str:
    """Why a lookup of chunks by a stored value of ``column`` fails, or ``""`` (a stored
    value: a lookup of one that is not there may never read the index's pages)."""
    try:
        first = store.table("chunks").search().select([column]).limit(1).to_arrow()
    except (RuntimeError, OSError, ValueError) as exc:
        return f"the chunks cannot be read: {first_line(exc)}"
    known = first.column(column)[0].as_py() if first.num_rows else ""
    return _lookup_problem(store, f"{column} = {sql_str(known)}", index)


def shard_index_problem(store: Store) -> str:
    """Why a lookup of chunks by shard fails, or ``""``."""
    return _lookup_problem(store, "shard = -1", "the shard index")


def drop_broken_lookup_indexes(store: Store) -> list[str]:
    """Drop an id or shard index of ``chunks`` that fails a lookup (its files lost): the
    shards read through them before the vectors step would rebuild them. Returns what
    was dropped; the vectors step builds them again."""
    dropped = []
    for key, why in index_problems(store, ("chunks",)).items():
        progress.say(f"{why}; rebuilding it")
        store.guard()
        name = key.split(".", 1)[1]
        store.table("chunks").drop_index(name)
        dropped.append(name)
    return dropped


def _lookup_problem(store: Store, where: str, index: str) -> str:
    try:
        store.table("chunks").search().where(where).limit(1).to_arrow()
    except (RuntimeError, OSError, ValueError) as exc:
        return f"{index} does not answer: {first_line(exc)}"
    return ""


def vector_index_problem(store: Store) -> str:
    """Why the ANN index of ``vectors`` cannot answer, or ``""``."""
    vectors = store.table("vectors")
    dim = vectors.schema.field("vector").type.list_size
    try:
        vectors.search([0.0] * dim, vector_column_name="vector").limit(1).to_arrow()
    except (RuntimeError, OSError, ValueError) as exc:
        return f"the vector index does not answer: {first_line(exc)}"
    return ""


# The lookup and vector indexes that can be checked cheaply, by table: name → its check.
_LOOKUPS = {"chunks": (("chunk_id_idx", id_index_problem), ("path_idx", path_index_problem),
                      ("shard_idx", shard_index_problem)),
            "vectors": (("vector_idx", vector_index_problem),)}


def index_problems(store: Store, tables: tuple[str, ...] = ("chunks", "vectors"),
                   ) -> dict[str, str]:
    """The lookup and vector indexes of ``tables`` that exist but do not answer (their files
    damaged or gone), by ``table.index``: a few lookups, cheap at any size."""
    found: dict[str, str] = {}
    for table in tables:
        if not store.has(table):
            continue
        names = {i.name for i in store.table(table).list_indices()}
        for name, problem in _LOOKUPS[table]:
            if name in names and (why := problem(store)):
                found[f"{table}.{name}"] = why
    return found
