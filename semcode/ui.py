"""``semcode ui``: the Dagster UI on semcode's graph, from a checkout or an installed tool,
with the instance settings semcode ships (``dagster.yaml``: the run queue and the pool that
keep index runs of one repository from overlapping)."""

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from platformdirs import user_data_dir

from semcode.config import Settings


def instance_home() -> Path:
    """``DAGSTER_HOME``, or semcode's own under the user's data folder, holding the shipped
    ``dagster.yaml`` (a file already there is the user's: left as it is)."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path(user_data_dir("semcode")) / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text((resources.files("semcode_dagster") / "dagster.yaml").read_text())
    return home


def run_ui(settings: Settings, port: int) -> int:
    """``dagster dev`` on ``semcode_dagster.definitions`` for the repository of
    ``settings``, until it ends; its exit status."""
    home = instance_home()
    env = {**os.environ, "DAGSTER_HOME": str(home), "SEMCODE_REPO": settings.repo_path,
           **({"SEMCODE_STORE": settings.store} if settings.store else {})}
    print(f"semcode: the Dagster UI for {settings.repo_path} on http://127.0.0.1:{port} "
          f"(instance: {home})", file=sys.stderr)
    return subprocess.call([sys.executable, "-m", "dagster", "dev", "-m",
                            "semcode_dagster.definitions", "-h", "127.0.0.1", "-p", str(port)],
                           env=env)
