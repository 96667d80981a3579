"""Dagster resources: typed adapters over the semcode engine."""

from resources.embedder import EmbedderResource
from resources.repo import RepoResource
from resources.store import StoreResource
from semcode.config import Settings


def resources_for(settings: Settings,
                  embedder: EmbedderResource | None = None) -> dict[str, object]:
    """The resources of one index, from its settings (``embedder`` replaces the model, e.g.
    with a fake in ordering tests)."""
    return {
        "repo": RepoResource(path=settings.repo_path, branch=settings.branch,
                             remote=settings.remote, max_file_bytes=settings.max_file_bytes),
        "store": StoreResource(uri=settings.store_uri),
        "embedder": embedder or EmbedderResource(model=settings.model, device=settings.device,
                                                 backend=settings.backend,
                                                 batch_size=settings.batch_size),
    }


__all__ = ["EmbedderResource", "RepoResource", "StoreResource", "resources_for"]
