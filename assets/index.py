"""repo_snapshot → code_chunks[shard-NN] (+ code_symbols, the same pass) → code_vectors, for
one repository (its Scope).

The shard count is part of the graph (it fixes the partitions), so the assets are built by
``build_index_assets`` from the settings' partitions; ``code_vectors`` is the one-repository
deployment's vectors asset, for tests and checks that name it.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from semcode import progress
from semcode.embed.static_model import is_static
from semcode.errors import ConfigError
from semcode.index import ahead as embed_ahead
from semcode.index import parsed_vectors
from semcode.index.parse import index_shards, pool_size, start_pool, workers_for
from semcode.index.pipeline import record_snapshot, record_vectors
from semcode.index.vectors import embedded_hashes
from semcode.ingest.discovery import INDEXED, require_repo
from semcode.reports import DEFINITION, FILE_ROW, REFERENCE, ChunksReport, count_skips
from semcode.sharding import shard_key, shard_number
from semcode.store.tables import Store
from semcode_dagster.assets.metadata import STORE_BYTES, TEXTS_PER_S, shard_metadata, to_metadata
from semcode_dagster.assets.partitions import COMMIT_TAG, PARTITION_TAG, RANGE_END, RANGE_START
from semcode_dagster.assets.scope import ONLY, Scope
from semcode_dagster.resources import EmbedderResource

# single_run() is what the UI's "Materialize all" needs; Dagster marks the parameter beta
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
# One run for every shard, whoever launches it ("Materialize all" in the UI included): a
# range run parses the shards in one process pool, and the run queue sees one run.
ONE_RUN = dg.BackfillPolicy.single_run()


@contextmanager
def run_log(context: dg.AssetExecutionContext) -> Iterator[None]:
    """What the engine says for a person (a wait, a repair) and how far it got (done of
    total, rate, ETA; every 10 s per stage) go to the run's log."""
    with progress.listen(context.log.info), progress.watch(progress.Meter(context.log.info)):
        yield


def build_index_assets(partitions: dg.StaticPartitionsDefinition, shard_runs: str = "one",
                       scope: Scope = ONLY) -> list[dg.AssetsDefinition]:
    """``repo_snapshot``, ``code_chunks`` and ``code_vectors`` of one repository for this many
    shards; ``shard_runs="each"`` backfills one shard per run (one pod per shard under
    Kubernetes), writers kept apart by the store's lease."""
    shard_count = len(partitions.get_partition_keys())
    per_shard = ONE_RUN if shard_runs == "one" else dg.BackfillPolicy.multi_run(1)

    @dg.asset(key_prefix=scope.prefix, group_name=scope.group, kinds={"git", "lancedb"},
              pool=scope.pool, backfill_policy=ONE_RUN,
              required_resource_keys={*scope.resource_keys, "embedder"})
    def repo_snapshot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Pins one commit — the run's ``semcode/commit`` tag, else the head of the tracked
        branch — and writes the file manifest: every path with its shard, language, size,
        content hash, and the reason when it is skipped."""
        repo, store = scope.repo(context.resources), scope.store(context.resources)
        require_repo(repo.path)  # not a store created where the repository should be
        handle = store.open()
        # what the later steps need starts now, while the lease settles and the snapshot is
        # taken: the model's load, and for a first index the parse processes
        if runs_here(context, scope, "code_vectors"):
            context.resources.embedder.warm_up()
        # (a store with no chunks table yet: whatever else it holds is not read before the
        # snapshot has repaired it)
        if runs_here(context, scope, "code_chunks") and not handle.has("chunks"):
            start_pool(context.resources.embedder.model, repo.parse_timeout_s)
        with run_log(context):
            report = record_snapshot(handle, repo=repo.path, shards=shard_count,
                                     max_file_bytes=repo.max_file_bytes,
                                     branch=repo.tracked_ref(),
                                     commit=context.run.tags.get(COMMIT_TAG, ""),
                                     owner=context.run_id)
        context.log.info(report.text())
        return dg.MaterializeResult(metadata=to_metadata(report))

    chunks_key, symbols_key = scope.key("code_chunks"), scope.key("code_symbols")

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(chunks_key, deps=[repo_snapshot], group_name=scope.group,
                         kinds={"tree-sitter", "lancedb"}, partitions_def=partitions,
                         description="The shard's files cut into syntax-aware chunks: what "
                                     "search reads and code_vectors embeds."),
            dg.AssetSpec(symbols_key, deps=[repo_snapshot], group_name=scope.group,
                         kinds={"tree-sitter", "lancedb"}, partitions_def=partitions,
                         description="The shard's definitions and references (calls, "
                                     "imports, type uses), from the same parse as its chunks: "
                                     "what `semcode def/refs/callers/callees` read."),
        ],
        name=chunks_key.to_python_identifier(), backfill_policy=per_shard, pool=scope.pool,
        partitions_def=partitions, required_resource_keys={*scope.resource_keys, "embedder"},
        # either may be selected alone (`--select code_chunks`, as before symbols): the one
        # pass writes both all the same, and reports the ones selected
        can_subset=True)
    def code_chunks(context: dg.AssetExecutionContext,
                    ) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
        """Parses the shard's changed files once into syntax-aware chunks and their symbols,
        and commits the shard's rows (symbols, then chunks). A range run gets every shard at
        once and parses them in parallel; each partition then records its own shard's
        figures."""
        repo, handle = scope.repo(context.resources), scope.store(context.resources).open()
        embedder: EmbedderResource = context.resources.embedder
        shards = requested_shards(context, partitions)
        snapshot = handle.last_snapshot()
        workers = workers_for(snapshot.changed) if snapshot else None
        ahead = parsed = None
        if (snapshot is None or snapshot.changed) and runs_here(context, scope, "code_vectors"):
            embedder.warm_up()  # new text to embed, most likely: the load overlaps the parse
            if is_static(embedder.model) and workers is None:  # vectors from the parse's
                parsed = parsed_vectors.start(context.run_id, embedder.model)  # own tokens
            # enough new text, and cores the parse leaves free: embed each shard's text
            # as soon as the shard is committed
            elif workers is None and embed_ahead.worth_it(pool_size(len(shards))):
                encoder = embedder.get()
                ahead = embed_ahead.start(context.run_id, handle, encoder, embedded_hashes(
                    handle, encoder.model_id, encoder.dim))
        try:
            with run_log(context):
                reports = index_shards(store_uri=handle.uri, repo=repo.path, shards=shards,
                                       model=embedder.model,
                                       is_git=snapshot.is_git if snapshot else True,
                                       workers=workers, owner=context.run_id,
                                       parse_timeout=repo.parse_timeout_s,
                                       committed=ahead.add_shard if ahead else None,
                                       vectors_to=parsed.folder if parsed else None)
        except BaseException:
            embed_ahead.drop(context.run_id)
            parsed_vectors.drop(context.run_id)
            raise
        report = ChunksReport.from_shards(snapshot.commit if snapshot else "", reports)
        context.log.info(report.text())
        selected = context.selected_asset_keys
        if chunks_key in selected:
            yield dg.MaterializeResult(asset_key=chunks_key, metadata=to_metadata(report))
        if symbols_key in selected:
            yield dg.MaterializeResult(asset_key=symbols_key, metadata=symbol_counts(handle))
        # Dagster gives every partition of a range the step's metadata (the run's totals);
        # a materialization per partition after it makes each shard's own figures the latest
        skips = skips_by_shard(handle)
        for shard in reports if chunks_key in selected else ():
            yield dg.AssetMaterialization(
                asset_key=chunks_key, partition=shard_key(shard.shard),
                metadata=shard_metadata(shard, skips.get(shard.shard, {})))

    return [repo_snapshot, code_chunks, build_vectors_asset(scope)]


def build_vectors_asset(scope: Scope = ONLY) -> dg.AssetsDefinition:
    """``code_vectors``: after every shard of ``code_chunks``, whatever the shard count."""

    @dg.asset(key_prefix=scope.prefix, group_name=scope.group,
              deps=[scope.key("code_chunks")], kinds={"pytorch", "lancedb"},
              pool=scope.pool, backfill_policy=ONE_RUN,
              required_resource_keys={scope.store_key, "embedder"})
    def code_vectors(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Embeds every chunk without a vector (reusing vectors of identical text), deletes
        vectors whose chunk is gone, and compacts the table."""
        handle = scope.store(context.resources).open()
        embedder: EmbedderResource = context.resources.embedder
        with run_log(context):
            report = record_vectors(handle, embedder.get(), owner=context.run_id,
                                    ahead=embed_ahead.claim(context.run_id),
                                    parsed=parsed_vectors.claim(context.run_id))
        context.log.info(report.text())
        encoded = report.embedded - report.embedded_in_parse  # the rest: made by the parse
        rate = encoded / report.encode_seconds if report.encode_seconds else 0.0
        extra = {TEXTS_PER_S: round(rate, 1)}
        if handle.local:  # the size on disk; an object store's is its bucket's business
            extra[STORE_BYTES] = sum(f.stat().st_size for f in Path(handle.uri).rglob("*")
                                     if f.is_file())
        return dg.MaterializeResult(metadata={**to_metadata(report), **extra})

    return code_vectors


code_vectors = build_vectors_asset()


# Dagster's executors that run every step in the run's own process
IN_PROCESS = {"in_process", "execute_in_process_executor"}


def runs_here(context: dg.AssetExecutionContext, scope: Scope, asset: str) -> bool:
    """Whether this run's step of ``asset`` runs after this one in this process: the
    in-process executor (``semcode index``, the shipped definitions), ``asset`` selected.
    Only then is work started ahead of it (the model's load, parse processes, embedding)."""
    selection = context.run.asset_selection
    return context.job_def.executor_def.name in IN_PROCESS and (
        not selection or scope.key(asset) in selection)  # none: the whole job


def requested_shards(context: dg.AssetExecutionContext,
                     partitions: dg.StaticPartitionsDefinition) -> list[int]:
    """The shards a run asks for: its partition or partition range — or every shard when it
    names none, as ``dagster job execute -j index_job`` typed plainly does (the whole index:
    each shard then re-parses only what changed). A shard the index does not have is a
    ``ConfigError`` naming the ones it has."""
    valid = partitions.get_partition_keys()
    tags = context.run.tags
    asked = [tags[k] for k in (PARTITION_TAG, RANGE_START, RANGE_END) if k in tags]
    if unknown := [key for key in asked if key not in valid]:
        raise ConfigError(f"{', '.join(unknown)} is not a shard of this index — it has "
                          f"{valid[0]} … {valid[-1]} (SEMCODE_SHARDS={len(valid)})")
    if not (context.has_partition_key or context.has_partition_key_range):
        return [shard_number(key) for key in valid]
    return [shard_number(key) for key in context.partition_keys]


def symbol_counts(store: Store) -> dict[str, int]:
    """The symbols table's rows by role: what the navigation commands can answer from."""
    roles = store.scan("symbols", ["role"]).column("role").value_counts().to_pylist()
    counts = {row["values"]: row["counts"] for row in roles}
    return {"definitions": counts.get(DEFINITION, 0), "references": counts.get(REFERENCE, 0),
            "files": counts.get(FILE_ROW, 0)}


def skips_by_shard(store: Store) -> dict[int, dict[str, int]]:
    """The manifest's skipped files, counted by shard and reason kind."""
    rows = store.scan("files", ["shard", "reason"], f"status != '{INDEXED}'").to_pylist()
    by_shard: dict[int, list[str]] = {}
    for row in rows:
        by_shard.setdefault(row["shard"], []).append(row["reason"])
    return {shard: count_skips(reasons) for shard, reasons in by_shard.items()}
