import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition as IndexJob,  # what define_asset_job returns; not exported
)

from semcode_dagster.assets.scope import ONLY, Scope


def build_index_job(scope: Scope = ONLY) -> IndexJob:
    """One repository's index job, selected by key, so it serves any shard count."""
    return dg.define_asset_job(
        scope.named("index_job"),
        selection=dg.AssetSelection.assets(*(scope.key(asset) for asset in
                                             ("repo_snapshot", "code_chunks", "code_symbols",
                                              "code_vectors"))),
        description="Snapshot, the shards, then vectors and their checks"
                    + (f" of {scope.name}" if scope.name else "")
                    + ". Run it over a partition range to index everything in one run.",
        tags=scope.run_tag,
    )


index_job = build_index_job()
