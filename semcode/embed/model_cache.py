"""What semcode builds once per machine from the packaged model (the static tier, the tuned
model, exported graphs), under the user's cache directory — never in a repository."""

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_cache_dir


def cache_root() -> Path:
    """Where semcode keeps what it builds once per machine (``$XDG_CACHE_HOME/semcode``)."""
    return Path(user_cache_dir("semcode"))


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """``target``, made by ``build(staging)`` if this machine has none: concurrent processes
    wait for the first one, and a killed build leaves no half-written model (the folder
    appears whole, by a rename, or not at all). A model is there when its config.json is."""
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if (target / "config.json").is_file():
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            build(staging)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
