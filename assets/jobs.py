import dagster as dg

from assets.partitions import INDEX_RUN_TAG

# Selected by key, so one job serves definitions of any shard count.
index_job = dg.define_asset_job(
    "index_job",
    selection=dg.AssetSelection.assets("repo_snapshot", "code_chunks", "code_vectors"),
    description="Snapshot, the shards, then vectors and their checks. Run it over a "
                "partition range to index everything in one run.",
    tags={INDEX_RUN_TAG: "true"},
)
