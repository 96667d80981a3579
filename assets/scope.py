"""Which repository one copy of the index graph serves.

A deployment of one repository has one graph under the names it always had (``repo_snapshot``,
``index_job``, resources ``repo`` and ``store``). With SEMCODE_REPOS, every repository gets a
graph of its own from the same factories: asset keys under its name (``api/code_vectors``),
its own job, sensors, resources (``api_repo``, ``api_store``), concurrency pool and run-tag
value — so its checks, runs and freshness are its own, and runs of two repositories never
wait on each other. The repository is then a dimension of the asset keys, not of partitions:
a Dagster job holds one partitions definition, and an index run is one job run over the shard
range (repo_snapshot → code_chunks[shards] → code_vectors → checks).
"""

from dataclasses import dataclass
from typing import Any

import dagster as dg

from semcode_dagster.resources import RepoResource, StoreResource

# Every asset that writes a repository's index is in its concurrency pool (``semcode_index``,
# or ``semcode_index_api``); dagster.yaml applies pools per run, so the queue holds any run
# that writes the index — a UI backfill, a sensor's run, a launched job, tagged or not —
# while another is in progress.
INDEX_POOL = "semcode_index"
# One index run at a time per repository: the dagster.yaml run queue limits each value.
INDEX_RUN_TAG = "semcode/index"


@dataclass(frozen=True)
class Scope:
    name: str = ""  # empty: the deployment's only repository

    def key(self, asset: str) -> dg.AssetKey:
        return dg.AssetKey([self.name, asset] if self.name else [asset])

    def named(self, thing: str) -> str:
        """A job's, sensor's or resource's name: ``index_job``, or ``api_index_job``."""
        return f"{self.name}_{thing}" if self.name else thing

    @property
    def prefix(self) -> list[str]:
        return [self.name] if self.name else []

    @property
    def group(self) -> str:
        """The asset group in the UI: ``index``, or ``api_index``."""
        return self.named("index")

    @property
    def repo_key(self) -> str:
        return self.named("repo")

    @property
    def store_key(self) -> str:
        return self.named("store")

    @property
    def resource_keys(self) -> set[str]:
        return {self.repo_key, self.store_key}

    @property
    def pool(self) -> str:
        return f"{INDEX_POOL}_{self.name}" if self.name else INDEX_POOL

    @property
    def run_tag(self) -> dict[str, str]:
        return {INDEX_RUN_TAG: self.name or "true"}

    def repo(self, resources: Any) -> RepoResource:
        """This repository's resource, from a run's, check's or sensor's resources. (A
        sensor called directly, as tests do, also passes them as keywords: the sensors take
        ``**_called_with`` and read them here.)"""
        return getattr(resources, self.repo_key)

    def store(self, resources: Any) -> StoreResource:
        return getattr(resources, self.store_key)


ONLY = Scope()
