"""The one composition root: every asset, check, job, sensor and resource of semcode."""

import os

import dagster as dg

from assets.checks import chunks_match_manifest, vectors_match_chunks
from assets.index import code_chunks, code_vectors, repo_snapshot
from assets.jobs import index_job
from resources import EmbedderResource, RepoResource, StoreResource
from semcode.config import Settings
from sensors.git_push import git_push_sensor


def build_defs(repo: RepoResource, store: StoreResource,
               embedder: EmbedderResource) -> dg.Definitions:
    return dg.Definitions(
        assets=[repo_snapshot, code_chunks, code_vectors],
        asset_checks=[vectors_match_chunks, chunks_match_manifest],
        jobs=[index_job],
        sensors=[git_push_sensor],
        resources={"repo": repo, "store": store, "embedder": embedder},
    )


def resources_from_env() -> tuple[RepoResource, StoreResource, EmbedderResource]:
    settings = Settings.from_env()
    repo_path = os.path.abspath(settings.repo)
    return (
        RepoResource(path=repo_path, branch=settings.branch, remote=settings.remote),
        StoreResource(uri=settings.store or Settings(repo=repo_path).store_uri),
        EmbedderResource(model=settings.model, device=settings.device,
                         batch_size=settings.batch_size),
    )


defs = build_defs(*resources_from_env())
