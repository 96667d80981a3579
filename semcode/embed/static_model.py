"""The fast tier: ``SEMCODE_MODEL=static``, a static embedding model distilled from the
packaged default.

model2vec runs every token of the default model's vocabulary through all-MiniLM-L6-v2 once,
keeps each token's vector (PCA to 256 dimensions, SIF-weighted), and from then on a text's
vector is the mean of its tokens' vectors: no transformer (and no torch) at search or index
time, hundreds of times faster on a CPU, and well below the transformer in quality
(BENCHMARKS.md). It is the
tier for huge repositories and for machines without a GPU; the transformer stays the default.

The distillation runs offline, once per machine (15 seconds on 2 cores here), into the user's
cache directory, never into a repository; concurrent processes wait for the first one.
"""

import contextlib
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semcode import progress
from semcode.config import DEFAULT_MODEL, STATIC_MODEL
from semcode.embed.model_cache import build_once, cache_root
from semcode.embed.packaged_model import packaged_model_path
from semcode.imports import model_libraries

if TYPE_CHECKING:
    from model2vec import StaticModel

PCA_DIMS = 256
BATCH_SIZE = 2048  # measured: 9,800 chunks/s at 2048, 4,700 at the transformer's 16
STATIC_MODEL_ID = f"semcode/static-all-MiniLM-L6-v2-pca{PCA_DIMS}"


def is_static(model: str) -> bool:
    return model == STATIC_MODEL


def static_model_dir() -> Path:
    return cache_root() / "models" / STATIC_MODEL_ID.split("/")[1]


def static_model_path() -> str:
    """The distilled model's directory, distilling it first if this machine has none."""
    return str(build_once(static_model_dir(), _distill))


def load_static_model(path: str) -> "StaticModel":
    """model2vec's own numpy model: loading and encoding need no torch."""
    from model2vec import StaticModel

    return StaticModel.from_pretrained(path)


def encode_static(model: "StaticModel", texts: list[str], batch_size: int) -> np.ndarray:
    """Mean of the texts' token vectors, normalized; every token counts (no truncation:
    chunks are already within the source model's window)."""
    return np.asarray(model.encode(texts, max_length=None, normalize=True, batch_size=batch_size,
                                   use_multiprocessing=False, show_progress_bar=False),
                      dtype=np.float32)


def _distill(staging: Path) -> None:
    model_libraries()  # the distiller imports transformers
    from model2vec.distill import distill

    progress.say(f"distilling the static model from {DEFAULT_MODEL}, once on this machine "
                 f"(under a minute on 2 cores) into {static_model_dir()}")
    logging.getLogger("model2vec").setLevel(logging.ERROR)
    with contextlib.redirect_stderr(io.StringIO()):  # model2vec's progress bars
        model = distill(model_name=packaged_model_path(), pca_dims=PCA_DIMS,
                        device="cpu", quantize_to="float32")
    model.save_pretrained(str(staging))
