"""Dagster resources: typed adapters over the semcode engine."""

from semcode.config import Settings
from semcode_dagster.resources.embedder import EmbedderResource
from semcode_dagster.resources.repo import RepoResource
from semcode_dagster.resources.store import StoreResource


def repo_resources(settings: Settings) -> tuple[RepoResource, StoreResource]:
    """The repository and the store of one index, from its settings."""
    return (RepoResource(path=settings.repo_path, branch=settings.branch,
                         remote=settings.remote, max_file_bytes=settings.max_file_bytes,
                         parse_timeout_s=settings.parse_timeout),
            StoreResource(uri=settings.store_uri))


def embedder_for(settings: Settings) -> EmbedderResource:
    """The model every repository of a deployment shares."""
    return EmbedderResource(model=settings.model, device=settings.device,
                            backend=settings.backend, batch_size=settings.batch_size)


__all__ = ["EmbedderResource", "RepoResource", "StoreResource", "embedder_for",
           "repo_resources"]
