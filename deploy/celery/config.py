"""The Celery settings that the run's side (the executor) and every worker must agree on, from
the environment:

- ``SEMCODE_CELERY_BROKER``: the broker, default ``redis://localhost:6379/0``;
- ``SEMCODE_CELERY_BACKEND``: where task results go, default the broker's server, database 1;
- ``SEMCODE_CELERY_REDELIVER_S``: how long a task may go unacknowledged before the broker
  hands it to another worker (default 1800). A task is acknowledged when it ends, so this is
  what brings back the step of a worker that was lost (killed, its machine gone). Set it above
  the longest step you run — the vectors step of a full index — or a step still running is
  handed out a second time (harmless: the writer lease puts the two one after the other, and
  the second finds its work done, but it is work twice).

``python -m deploy.celery.config > dagster_celery_config.py`` writes them as the module that
dagster-celery's worker app reads (put its folder on the worker's ``PYTHONPATH``).
"""

import os
from collections.abc import Mapping
from typing import Any


def celery_config(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The ``celery_executor``'s config: broker, backend, and the workers' settings."""
    broker = env.get("SEMCODE_CELERY_BROKER", "redis://localhost:6379/0")
    redeliver = int(env.get("SEMCODE_CELERY_REDELIVER_S", "1800"))
    return {
        "broker": broker,
        "backend": env.get("SEMCODE_CELERY_BACKEND", broker.rsplit("/", 1)[0] + "/1"),
        # one task at a time per worker process, acknowledged when it ends: a task whose
        # worker dies is not lost with it
        "config_source": {"worker_prefetch_multiplier": 1, "task_acks_late": True,
                          "task_reject_on_worker_lost": True,
                          # a broker that is gone fails a run's submission within a second
                          # or so (dagster-celery's own retries), instead of waiting on it
                          "broker_transport_options": {
                              "visibility_timeout": redeliver, "max_retries": 3,
                              "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
                              # an idle worker looks for lost tasks every 10 s (kombu's
                              # default: every 100 s)
                              "unacked_restore_throttle": 1},
                          "result_backend_transport_options": {
                              "visibility_timeout": redeliver}},
    }


def worker_module(env: Mapping[str, str] = os.environ) -> str:
    """The same settings as ``dagster_celery_config.py``, the module a worker's app reads."""
    config = celery_config(env)
    lines = [f"broker_url = {config['broker']!r}", f"result_backend = {config['backend']!r}"]
    lines += [f"{key} = {value!r}" for key, value in config["config_source"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(worker_module(), end="")
