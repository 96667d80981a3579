import dagster as dg

from assets.index import code_chunks, code_vectors, repo_snapshot
from assets.partitions import INDEX_RUN_TAG

index_job = dg.define_asset_job(
    "index_job",
    selection=dg.AssetSelection.assets(repo_snapshot, code_chunks, code_vectors),
    description="Snapshot, the shards, then vectors and their checks. Run it over a "
                "partition range to index everything in one run.",
    tags={INDEX_RUN_TAG: "true"},
)
