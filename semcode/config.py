"""Settings shared by the CLI, the MCP server and the Dagster resources.

Every value comes from the environment (``SEMCODE_*``) with a default that works on a fresh
checkout: the repository is the current directory, the store lives inside it, the model is
the packaged all-MiniLM-L6-v2.
"""

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_SHARDS = 8
DEFAULT_MODEL = "all-MiniLM-L6-v2"
STORE_DIRNAME = ".semcode"


def default_store_uri(repo: str | Path) -> str:
    """The embedded store of a repository: ``<repo>/.semcode/lancedb``."""
    return str(Path(repo).resolve() / STORE_DIRNAME / "lancedb")


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise ValueError(f"{name}={raw!r} must be at least 1")
    return value


@dataclass(frozen=True)
class Settings:
    repo: str = "."
    store: str = ""  # empty: default_store_uri(repo)
    shards: int = DEFAULT_SHARDS
    model: str = DEFAULT_MODEL
    device: str = "cpu"
    batch_size: int = 16
    branch: str = ""  # empty: the branch checked out in the repository
    remote: str = ""  # a remote to fetch before reading the branch (the sensor)
    max_file_bytes: int = 1_000_000

    @property
    def store_uri(self) -> str:
        return self.store or default_store_uri(self.repo)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        settings = cls(
            repo=env.get("SEMCODE_REPO", "") or ".",
            store=env.get("SEMCODE_STORE", ""),
            shards=_int_env("SEMCODE_SHARDS", DEFAULT_SHARDS),
            model=env.get("SEMCODE_MODEL", "") or DEFAULT_MODEL,
            device=env.get("SEMCODE_DEVICE", "") or "cpu",
            batch_size=_int_env("SEMCODE_BATCH_SIZE", 16),
            branch=env.get("SEMCODE_BRANCH", ""),
            remote=env.get("SEMCODE_REMOTE", ""),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
