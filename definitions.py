"""The one composition root: every asset, check, job, sensor and resource of semcode.

``build_defs(settings)`` builds the whole graph from one ``Settings`` value (Dagster's
factory pattern), so definitions of different shard counts can live in one process;
``defs`` is what ``dagster dev`` and ``dagster job execute -m definitions`` load.
"""

import dagster as dg

from assets.checks import (
    chunks_match_manifest,
    index_matches_branch_head,
    keyword_index_answers,
    vectors_match_chunks,
)
from assets.index import build_index_assets, code_vectors
from assets.jobs import index_job
from assets.partitions import shard_partitions
from resources import EmbedderResource, resources_for
from semcode.config import Settings
from sensors.freshness import index_freshness_sensor
from sensors.git_push import build_git_push_sensor


def build_defs(settings: Settings, *, embedder: EmbedderResource | None = None,
               executor: dg.ExecutorDefinition | None = None) -> dg.Definitions:
    """The graph for ``settings``; ``executor`` runs its steps elsewhere (Kubernetes:
    deploy/k8s/definitions.py), in-process and multiprocess being Dagster's defaults."""
    return dg.Definitions(
        assets=[*build_index_assets(shard_partitions(settings.shards), settings.shard_runs),
                code_vectors],
        asset_checks=[vectors_match_chunks, chunks_match_manifest, keyword_index_answers,
                      index_matches_branch_head],
        jobs=[index_job],
        sensors=[build_git_push_sensor(settings.shards), index_freshness_sensor],
        resources=resources_for(settings, embedder),
        executor=executor,
    )


defs = build_defs(Settings.from_env())
