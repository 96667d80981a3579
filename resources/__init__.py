"""Dagster resources: typed adapters over the semcode engine."""

from resources.embedder import EmbedderResource
from resources.repo import RepoResource
from resources.store import StoreResource

__all__ = ["EmbedderResource", "RepoResource", "StoreResource"]
