"""The fast tier: ``SEMCODE_MODEL=static``, a static embedding model distilled from the
packaged default.

model2vec runs every token of the default model's vocabulary through all-MiniLM-L6-v2 once,
keeps each token's vector (PCA to 256 dimensions, Zipf-weighted), and from then on a text's
vector is the mean of its tokens' vectors: no transformer at search or index time, hundreds of
times faster on a CPU, and well below the transformer in quality (BENCHMARKS.md). It is the
tier for huge repositories and for machines without a GPU; the transformer stays the default.

The distillation runs offline, once per machine (15 seconds on 2 cores here), into the user's
cache directory, never into a repository; concurrent processes wait for the first one.
"""

import contextlib
import fcntl
import io
import logging
import os
import shutil
import tempfile
from pathlib import Path

from platformdirs import user_cache_dir

from semcode import progress
from semcode.config import DEFAULT_MODEL, STATIC_MODEL

PCA_DIMS = 256
BATCH_SIZE = 2048  # measured: 9,800 chunks/s at 2048, 4,700 at the transformer's 16
STATIC_MODEL_ID = f"semcode/static-all-MiniLM-L6-v2-pca{PCA_DIMS}"


def is_static(model: str) -> bool:
    return model == STATIC_MODEL


def cache_root() -> Path:
    """Where semcode keeps what it builds once per machine (``$XDG_CACHE_HOME/semcode``)."""
    return Path(user_cache_dir("semcode"))


def static_model_dir() -> Path:
    return cache_root() / "models" / STATIC_MODEL_ID.split("/")[1]


def static_model_path() -> str:
    """The distilled model's directory, distilling it first if this machine has none."""
    target = static_model_dir()
    if (target / "modules.json").is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be distilling it right now
        if not (target / "modules.json").is_file():
            _distill(target)
    return str(target)


def _distill(target: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, StaticEmbedding

    from semcode.model_files import model_path

    progress.say(f"distilling the static model from {DEFAULT_MODEL}, once on this machine "
                 f"(under a minute on 2 cores) into {target}")
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    with contextlib.redirect_stderr(io.StringIO()):  # model2vec's progress bars
        static = StaticEmbedding.from_distillation(model_path(DEFAULT_MODEL), device="cpu",
                                                   pca_dims=PCA_DIMS)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        SentenceTransformer(modules=[static, Normalize()], device="cpu").save(str(staging))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)  # whole or absent: a killed distillation leaves no model
    finally:
        shutil.rmtree(staging, ignore_errors=True)
