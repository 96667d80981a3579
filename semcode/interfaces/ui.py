"""``semcode ui``: the Dagster UI on semcode's graph, from a checkout or an installed tool,
with the instance settings semcode ships (``dagster.yaml``: the run queue and the pool that
keep index runs of one repository from overlapping)."""

import hashlib
import os
import signal
import sys
from importlib import resources
from pathlib import Path
from typing import NoReturn

from platformdirs import user_data_dir

from semcode.config import STORE_DIRNAME, Settings


def instance_home(settings: Settings) -> Path:
    """The Dagster instance every door of this index records into — ``semcode index``,
    ``semcode ui``, the push sensor, ``dagster job execute`` with ``DAGSTER_HOME`` set to it —
    so the UI shows every run, whichever door started it: ``DAGSTER_HOME`` when a deployment
    sets one; else beside the store (``<repo>/.semcode/dagster`` for the default store,
    ``<store>.dagster`` for another folder); for a store on object storage, or a deployment
    of several repositories (one UI for all), under the user's data folder, by the store's
    name. It holds the shipped ``dagster.yaml`` (a file already there is the user's)."""
    if os.environ.get("DAGSTER_HOME"):
        home = Path(os.environ["DAGSTER_HOME"])
    elif settings.repositories or "://" in settings.store_uri:
        key = hashlib.blake2b((settings.store or settings.store_uri).encode(),
                              digest_size=6).hexdigest()
        home = Path(user_data_dir("semcode")) / "instances" / key
    else:
        store = Path(settings.store_uri).resolve()
        home = store.parent / "dagster" if store.parent.name == STORE_DIRNAME and \
            store.name == "lancedb" else store.with_name(f"{store.name}.dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text((resources.files("semcode_dagster") / "dagster.yaml").read_text())
    return home


def run_ui(settings: Settings, port: int) -> NoReturn:
    """This process becomes ``dagster dev`` on ``semcode_dagster.definitions`` for the
    repository of ``settings`` (``os.execve``): a signal sent to ``semcode ui`` — a
    supervisor's SIGTERM, an IDE's stop button — reaches ``dagster dev`` itself, which stops
    its webserver, daemon and code server. (As a child, it outlived its parent with its four
    children.)"""
    home = instance_home(settings)
    env = {**os.environ, "DAGSTER_HOME": str(home), "SEMCODE_REPO": settings.repo_path,
           **({"SEMCODE_STORE": settings.store} if settings.store else {})}
    print(f"semcode: the Dagster UI for {settings.repo_path} on http://127.0.0.1:{port} "
          f"(instance: {home})", file=sys.stderr, flush=True)
    # Signals ignored here stay ignored across exec — a shell's background job ignores
    # SIGINT — and dagster dev stops its webserver and daemon with SIGINT: ignored, they never
    # stop, and neither does it. Both back to their defaults.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)
    os.execve(sys.executable, [sys.executable, "-m", "dagster", "dev", "-m",
                               "semcode_dagster.definitions", "-h", "127.0.0.1", "-p",
                               str(port)], env)
