"""semcode's definitions on Celery: every step of a run is a task that any worker listening on
the broker may take (dagster-celery's ``celery_executor``), Redis as broker and result store.

Load it where runs are launched (``dagster asset materialize -m deploy.celery.definitions``,
or a code location of the webserver and daemon) and start workers with the same code and
settings (docs/deployment.md, "Past one machine: Celery"). The graph is the one every other
entry point builds (``definitions.build_defs``); only where the steps run changes. With
``SEMCODE_SHARD_RUNS=each`` a backfill of every shard is one run per shard, so the shards are
parsed on different workers at once; the store's writer lease (a row in the store, safe on
``s3://``) keeps their commits apart. Every worker must reach the store (``s3://``) and the
instance (Postgres), and have the repository (its own clone, ``SEMCODE_REPO``); nothing else
is shared. The broker's settings: deploy/celery/config.py.
"""

from dagster_celery import celery_executor

from deploy.celery.config import celery_config
from semcode.config import Settings
from semcode_dagster.definitions import build_defs

executor = celery_executor.configured(celery_config(), name="semcode_celery_executor")

defs = build_defs(Settings.from_env(), executor=executor)
