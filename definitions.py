"""The one composition root: every asset, check, job, sensor and resource of semcode."""

import os

import dagster as dg

from assets.checks import chunks_match_manifest, vectors_match_chunks
from assets.index import code_chunks, code_vectors, repo_snapshot
from assets.jobs import index_job
from resources import EmbedderResource, RepoResource, StoreResource
from semcode.config import Settings

settings = Settings.from_env()
repo_path = os.path.abspath(settings.repo)

defs = dg.Definitions(
    assets=[repo_snapshot, code_chunks, code_vectors],
    asset_checks=[vectors_match_chunks, chunks_match_manifest],
    jobs=[index_job],
    resources={
        "repo": RepoResource(path=repo_path, branch=settings.branch),
        "store": StoreResource(uri=settings.store or Settings(repo=repo_path).store_uri),
        "embedder": EmbedderResource(model=settings.model, device=settings.device,
                                     batch_size=settings.batch_size),
    },
)
