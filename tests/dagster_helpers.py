"""Running the real Dagster graph in-process against a test repository and store."""

import dagster as dg

from semcode.config import Settings
from semcode.sharding import shard_keys
from semcode_dagster.assets.index import code_vectors
from semcode_dagster.assets.partitions import range_tags
from semcode_dagster.definitions import build_defs
from semcode_dagster.resources import EmbedderResource
from tests.conftest import FakeEmbedder, make_repo

SHARDS = 8
RANGE = range_tags(shard_keys(SHARDS)[0], shard_keys(SHARDS)[-1])


class FakeEmbedderResource(EmbedderResource):
    """The fake embedder behind the real resource interface (ordering tests only)."""

    def get(self):
        return _FAKE


_FAKE = FakeEmbedder()


def defs_for(repo, store_uri: str, embedder: EmbedderResource | None = None,
             shards: int = SHARDS) -> dg.Definitions:
    defs = build_defs(Settings(repo=str(repo), store=store_uri, shards=shards),
                      embedder=embedder)
    checks_only = dg.define_asset_job(
        "checks_only", selection=dg.AssetSelection.checks_for_assets(code_vectors))
    return dg.Definitions.merge(defs, dg.Definitions(jobs=[checks_only]))


def run_job(defs: dg.Definitions, name: str = "index_job", tags: dict | None = None,
            partition_key: str | None = None):
    job = defs.resolve_job_def(name)
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
                                  tags=tags if tags is not None else
                                  (RANGE if name == "index_job" else {}),
                                  partition_key=partition_key)


def metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        m = event.step_materialization_data.materialization
        if m.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in m.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def checks(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def index_fixture_repo(root, embedder: EmbedderResource | None = None):
    """The fixture repository under ``root``, indexed by index_job: (repo, store, result)."""
    repo = make_repo(root / "repo")
    store = str(root / "store")
    return repo, store, run_job(defs_for(repo, store, embedder))


def index_with_fake(repo, store: str, embedder: EmbedderResource | None = None):
    """`semcode index`'s own path (run_index_job) with the fake embedder: an IndexReport."""
    from semcode.config import Settings
    from semcode_dagster.assets.local_run import run_index_job

    return run_index_job(Settings(repo=str(repo), store=store),
                         embedder=embedder or FakeEmbedderResource())


def copy_store(indexed: tuple, tmp_path) -> tuple:
    """(repo, a private copy of the indexed store) for a test that damages it."""
    import shutil

    repo, store = indexed
    shutil.copytree(store, tmp_path / "store")
    return repo, str(tmp_path / "store")


def indexed_with_fake(root) -> tuple:
    """The fixture repository under ``root``, indexed with the fake embedder: (repo, store)."""
    repo, store = make_repo(root / "repo"), str(root / "store")
    report = index_with_fake(repo, store)
    assert report.ok, report.text()
    return repo, store
