"""Settings: one value that says which repository, store and model a run uses.

``Settings.from_env`` is the only place that reads ``SEMCODE_*`` from the environment; the
CLI, the MCP server and ``definitions.py`` each build one value and pass it down. Every
default lives here, with a default that works on a fresh checkout: the repository is the
current directory, the store lives inside it, the model is the packaged all-MiniLM-L6-v2.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from semcode.errors import ConfigError

DEFAULT_SHARDS = 8
DEFAULT_MODEL = "all-MiniLM-L6-v2"
STATIC_MODEL = "static"  # the fast tier: a static model distilled from DEFAULT_MODEL
# DEFAULT_MODEL plus low-rank deltas tuned for code search (semcode/embed/models)
TUNED_MODEL = "code"
DEFAULT_DEVICE = "cpu"
# how the transformer runs (semcode/embed/backends.py); auto: the fastest faithful one for the
# device
BACKENDS = ("auto", "torch", "torch-bf16", "torch-fp16", "onnx", "onnx-int8", "openvino")
DEFAULT_BACKEND = "auto"
DEFAULT_BATCH_SIZE = 16  # fastest on a 2-core CPU (BENCHMARKS.md)
DEFAULT_MAX_FILE_BYTES = 1_000_000
DEFAULT_PARSE_TIMEOUT = 20  # seconds one file's chunking may take (a 1 MB file: ~2 s here)
# IVF partitions of the vector index a search probes (past 100,000 vectors): 30 of the 71 at
# the Linux drivers/ size find 0.96 of the exact top 10, 20 (LanceDB's own) 0.935-0.94 (SCALING.md)
DEFAULT_NPROBES = 30
# How many more candidates than asked the vector index returns, re-ranked by their full
# vectors (1: only those asked for, re-ranked for their exact cosines). At 1.42M real vectors
# it moved recall by <= 0.005; on 10M synthetic clustered ones the index's 8-bit copies
# decide recall: 1 → 0.815, 2 → 0.945, 5 → 1.0 (SCALING.md)
DEFAULT_REFINE = 1
# Upper bounds, each with why: a value past them is a typo or a run that never ends.
LIMITS = {
    "shards": (1024, "each shard is a Dagster partition whose two events every run writes "
                     "(1,024 cost a 3-file run 5 s more than 16; 10,000 kept one busy for over "
                     "12 minutes); 256 keep a 1M-file repository near 4,000 files a shard "
                     "(SCALING.md)"),
    "batch_size": (4096, "a batch's activations grow with it; 16 is fastest on a CPU and "
                         "128 on a GPU"),
    "max_file_bytes": (100_000_000, "a file that large is data, not code"),
    "parse_timeout": (3600, "it bounds how long one file can hold a run"),
    "nprobes": (10_000, "an index has one partition per ~20,000 vectors: 10,000 probe every "
                        "partition of 200M vectors"),
    "refine": (100, "each candidate re-ranked reads its whole vector: 100 reads 5,000 for one "
                    "search's 50"),
}
STORE_DIRNAME = ".semcode"
# Bump when the chunker would cut the same file differently: stores then re-chunk every
# file on their next run (and embed only the texts they lack).
CHUNKER_VERSION = 2

SearchMode = Literal["hybrid", "vector", "keyword"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)
DEFAULT_MODE: SearchMode = "hybrid"
DEFAULT_LIMIT = 10
MAX_LIMIT = 50  # hits one MCP call may ask for

# field name → environment variable
ENV_VARS = {
    "repo": "SEMCODE_REPO", "store": "SEMCODE_STORE", "shards": "SEMCODE_SHARDS",
    "model": "SEMCODE_MODEL", "device": "SEMCODE_DEVICE", "backend": "SEMCODE_BACKEND",
    "batch_size": "SEMCODE_BATCH_SIZE",
    "branch": "SEMCODE_BRANCH", "remote": "SEMCODE_REMOTE",
    "shard_runs": "SEMCODE_SHARD_RUNS", "repos": "SEMCODE_REPOS",
    "max_file_bytes": "SEMCODE_MAX_FILE_BYTES", "parse_timeout": "SEMCODE_PARSE_TIMEOUT",
    "nprobes": "SEMCODE_NPROBES", "refine": "SEMCODE_REFINE",
    "auto_index": "SEMCODE_AUTO_INDEX", "watch": "SEMCODE_WATCH",
}
# How a backfill of every shard runs: one run that parses the shards in a process pool
# (one machine), or one run per shard (one pod per shard under Kubernetes).
SHARD_RUNS = ("one", "each")
# What SEMCODE_DEVICE may name: PyTorch's accelerators, with an index where they have one.
DEVICE = re.compile(r"cpu|mps|(cuda|xpu|npu|hpu)(:\d+)?")
# A repository's name in a deployment of several: part of asset keys, job, sensor and
# resource names, and the folder of its store under SEMCODE_STORE.
REPO_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def default_store_uri(repo: str | Path) -> str:
    """The embedded store of a repository: ``<repo>/.semcode/lancedb``."""
    return str(Path(repo).resolve() / STORE_DIRNAME / "lancedb")


@dataclass(frozen=True)
class Settings:
    repo: str = "."
    store: str = ""  # empty: default_store_uri(repo)
    shards: int = DEFAULT_SHARDS
    model: str = DEFAULT_MODEL
    device: str = DEFAULT_DEVICE
    backend: str = DEFAULT_BACKEND
    batch_size: int = DEFAULT_BATCH_SIZE
    branch: str = ""  # empty: the branch checked out in the repository
    remote: str = ""  # a remote to fetch before reading the branch (the sensor)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    parse_timeout: int = DEFAULT_PARSE_TIMEOUT  # seconds, per file (semcode/ingest/sandbox.py)
    nprobes: int = DEFAULT_NPROBES  # vector index partitions a search probes
    refine: int = DEFAULT_REFINE  # candidates per hit the vector index re-ranks exactly
    shard_runs: str = "one"
    # Several repositories in one deployment (SEMCODE_REPOS="api=/src/api web=/src/web"):
    # name=path pairs, each indexed into a store of its own; empty: the one ``repo``.
    repos: str = ""
    # A search with no index builds it first (1), or only says so (0): SEMCODE_AUTO_INDEX
    auto_index: int = 1
    # A long-lived server watches its checkout and asks git only after a change (1), or asks
    # git on every search (0: a checkout on a network filesystem, whose inotify misses what
    # other machines write): SEMCODE_WATCH
    watch: int = 1

    def __post_init__(self) -> None:
        for name, (most, why) in LIMITS.items():
            value = getattr(self, name)
            where = ENV_VARS.get(name, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{where}={value!r}: must be a whole number of at least 1")
            if value > most:
                raise ConfigError(f"{where}={value!r}: at most {most:,} — {why}")
        if not DEVICE.fullmatch(self.device):
            raise ConfigError(f"SEMCODE_DEVICE={self.device!r} is not a device — use cpu, "
                              "cuda (or cuda:N for one GPU of several), mps or xpu")
        if self.backend not in BACKENDS:
            raise ConfigError(f"SEMCODE_BACKEND={self.backend!r} is not a backend — use one of "
                              f"{', '.join(BACKENDS)}")
        if self.shard_runs not in SHARD_RUNS:
            raise ConfigError(f"SEMCODE_SHARD_RUNS={self.shard_runs!r}: use one of "
                              f"{', '.join(SHARD_RUNS)}")
        if self.auto_index not in (0, 1):
            raise ConfigError(f"SEMCODE_AUTO_INDEX={self.auto_index!r}: use 1 (a search with no "
                              "index builds it first) or 0 (it only says so)")
        if self.watch not in (0, 1):
            raise ConfigError(f"SEMCODE_WATCH={self.watch!r}: use 1 (a server watches its "
                              "checkout) or 0 (it asks git on every search)")
        _ = self.repositories  # a malformed SEMCODE_REPOS fails here, before any run

    @property
    def repositories(self) -> dict[str, str]:
        """SEMCODE_REPOS as name → path, in the order given (empty: one repository)."""
        pairs: dict[str, str] = {}
        for pair in self.repos.replace(",", " ").split():
            name, sep, path = pair.partition("=")
            if not sep or not path:
                raise ConfigError(f"SEMCODE_REPOS: {pair!r} is not name=path — e.g. "
                                  "SEMCODE_REPOS='api=/src/api web=/src/web'")
            if not REPO_NAME.fullmatch(name):
                raise ConfigError(f"SEMCODE_REPOS: {name!r} is not a repository name — a "
                                  "letter, then letters, digits or _ (it names assets, jobs "
                                  "and the store's folder)")
            if name in pairs:
                raise ConfigError(f"SEMCODE_REPOS names {name!r} twice")
            pairs[name] = path
        return pairs

    def for_repo(self, name: str) -> "Settings":
        """The settings of one repository of SEMCODE_REPOS: its path, and its own store —
        ``<SEMCODE_STORE>/<name>`` when a store is set, else the repository's embedded one."""
        repositories = self.repositories
        if name not in repositories:
            known = ", ".join(repositories) or "none: SEMCODE_REPOS is not set"
            raise ConfigError(f"no repository named {name!r} (configured: {known})")
        store = f"{self.store.rstrip('/')}/{name}" if self.store else ""
        return replace(self, repo=repositories[name], store=store, repos="")

    @property
    def store_uri(self) -> str:
        return self.store or default_store_uri(self.repo)

    @property
    def repo_path(self) -> str:
        """The repository as an absolute path (what runs and resources record)."""
        return str(Path(self.repo).resolve())

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy with the given fields changed; ``None`` means "keep"."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Settings from ``SEMCODE_*`` (unset or empty means the default), then overrides."""
        env = os.environ if environ is None else environ
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            raw = env.get(var, "").strip()
            if raw:
                values[name] = _parse_int(var, raw) if types[name] is int else raw
        return cls(**values).with_overrides(**overrides)


def _parse_int(var: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a whole number — unset it or give e.g. "
                          f"{var}=8") from None
