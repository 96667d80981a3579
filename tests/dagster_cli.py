"""Runs launched the way a deployment's backfill launches them: one `dagster asset
materialize` process per run, side by side, each waited for."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def materialize(env: dict, module: str, select: str,
                partition: str | None = None) -> subprocess.Popen:
    """One run of ``select`` (one ``partition`` of it) from the definitions in ``module``."""
    args = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", module,
            "--select", select] + (["--partition", partition] if partition else [])
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait(procs: list[subprocess.Popen], timeout: float = 600) -> None:
    """Every run ended, and succeeded (else its stderr's end is the failure)."""
    for proc in procs:
        _, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-4000:]
