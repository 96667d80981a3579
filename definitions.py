"""The one composition root: every asset, check, job, sensor and resource of semcode.

``build_defs(settings)`` builds the whole graph from one ``Settings`` value (Dagster's
factory pattern), so definitions of different shard counts can live in one process;
``defs`` is what ``dagster dev`` and ``dagster job execute -m semcode_dagster.definitions``
load (installed, this module is ``semcode_dagster.definitions``; semcode_dagster/). With
SEMCODE_REPOS, each repository gets its own copy of the graph (assets/scope.py).
"""

import dagster as dg

from semcode.config import Settings
from semcode_dagster.assets.checks import build_checks
from semcode_dagster.assets.index import build_index_assets
from semcode_dagster.assets.jobs import build_index_job
from semcode_dagster.assets.partitions import shard_partitions
from semcode_dagster.assets.scope import ONLY, Scope
from semcode_dagster.resources import EmbedderResource, embedder_for, repo_resources
from semcode_dagster.sensors.freshness import build_freshness_sensor
from semcode_dagster.sensors.git_push import WATCH_S, build_git_push_sensor


def build_defs(settings: Settings, *, embedder: EmbedderResource | None = None,
               executor: dg.ExecutorDefinition | None = None) -> dg.Definitions:
    """The graph for ``settings``; ``executor`` runs its steps elsewhere (Kubernetes:
    deploy/k8s/definitions.py). Otherwise every step of a run runs in the run's own process
    — ``dagster job execute``, a sensor's or the UI's run, as ``semcode index`` does: the
    shards already fan out over a process pool inside their step, and Dagster's multiprocess
    default started a fresh Python (Dagster, LanceDB and semcode imported again) for each of
    the seven steps, 35 of the 42 s a one-file commit took (BENCHMARKS.md)."""
    names = list(settings.repositories)
    scopes = [(Scope(name), settings.for_repo(name)) for name in names] or [(ONLY, settings)]
    # the push sensors' watches share the daemon's loop (they may run one after another)
    watch_s = WATCH_S / len(scopes)
    graphs = [repository_defs(scope, each, watch_s) for scope, each in scopes]
    return dg.Definitions.merge(*graphs, dg.Definitions(
        resources={"embedder": embedder or embedder_for(settings)},
        executor=executor or dg.in_process_executor))


def repository_defs(scope: Scope, settings: Settings, watch_s: float = WATCH_S,
                    ) -> dg.Definitions:
    """One repository's assets, checks, job, sensors and resources (its push sensor
    watching for a commit ``watch_s`` seconds a tick)."""
    job = build_index_job(scope)
    repo, store = repo_resources(settings)
    return dg.Definitions(
        assets=build_index_assets(shard_partitions(settings.shards), settings.shard_runs,
                                  scope),
        asset_checks=build_checks(scope),
        jobs=[job],
        sensors=[build_git_push_sensor(settings.shards, scope, job, watch_s),
                 build_freshness_sensor(scope)],
        resources={scope.repo_key: repo, scope.store_key: store},
    )


defs = build_defs(Settings.from_env())
