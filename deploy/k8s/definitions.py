"""semcode's definitions under Kubernetes: every step of a run in a pod of its own
(dagster-k8s' ``k8s_job_executor``), the vectors step on a GPU node.

Load it in a user-code deployment (values.yaml: ``-m deploy.k8s.definitions``). The graph is
the one every other entry point builds (``definitions.build_defs``); only where the steps run
changes. With ``SEMCODE_SHARD_RUNS=each`` a backfill of every shard is one run per shard, so
each shard is parsed in its own pod; the store's writer lease (a row in the store, safe on
``s3://``) keeps their commits apart.
"""

from dagster_k8s import k8s_job_executor

from semcode.config import Settings
from semcode_dagster.assets.scope import ONLY, Scope
from semcode_dagster.definitions import build_defs

# The vectors step: one GPU, on a GPU node, encoding in fp16 (SEMCODE_BACKEND=auto on cuda).
GPU_STEP = {
    "container_config": {
        "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"cpu": "4",
                                                                      "memory": "16Gi"}},
        "env": [{"name": "SEMCODE_DEVICE", "value": "cuda"}],
    },
    "pod_spec_config": {
        "node_selector": {"semcode.dev/pool": "gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                         "effect": "NoSchedule"}],
    },
}
# A shard's parse: CPU only; the chunker is ~1.4 MB/s per core.
SHARD_STEP = {"container_config": {"resources": {"requests": {"cpu": "2", "memory": "4Gi"}}}}



def step_configs(settings: Settings) -> dict[str, dict]:
    """Each repository's vectors step on a GPU, its shard steps on CPU (a step is named by
    its asset key: ``code_vectors``, or ``api__code_vectors`` with SEMCODE_REPOS)."""
    scopes = [Scope(name) for name in settings.repositories] or [ONLY]
    return {scope.key(asset).to_python_identifier(): config for scope in scopes
            for asset, config in (("code_vectors", GPU_STEP), ("code_chunks", SHARD_STEP))}


settings = Settings.from_env()
executor = k8s_job_executor.configured(
    {"per_step_k8s_config": step_configs(settings), "max_concurrent": 16},
    name="semcode_k8s_executor",
)

defs = build_defs(settings, executor=executor)
