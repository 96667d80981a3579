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
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

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


# What a source token becomes in the static model's vocabulary, besides its own id there.
_DROP, _ABSENT = -1, -2  # its unknown token (model2vec leaves it out); not in its vocabulary


class StaticPooler:
    """The static tier's vectors made from token ids the chunker already has: a text's vector
    is the mean of its tokens' rows, so the parse, which tokenizes every line to count it,
    can make it without a second tokenization — the same vectors ``encode_static`` makes
    (tests/test_parsed_vectors.py). Built only where the chunker's tokenizer cuts text as the
    static model's does (the same normalizer, pre-tokenizer and word pieces); ids are mapped
    by token, and a text with a token the static vocabulary lacks (a special token written
    in the source) is tokenized again by the static model's own tokenizer."""

    def __init__(self, model: "StaticModel", source: Tokenizer):
        self.embedding = np.asarray(model.embedding, dtype=np.float32)
        self.tokenizer: Tokenizer = model.tokenizer
        self.tokenizer.no_truncation()  # model2vec's encode reads every token too
        static = self.tokenizer.get_vocab(with_added_tokens=True)
        vocab = source.get_vocab(with_added_tokens=True)
        specials = {t.content for t in source.get_added_tokens_decoder().values()}
        self.map = np.full(max(vocab.values()) + 1, _ABSENT, np.int64)
        for token, i in vocab.items():
            if token in static and token not in specials:
                j = static[token]
                self.map[i] = _DROP if j == model.unk_token_id else j
        self.unk = model.unk_token_id
        self.dim = self.embedding.shape[1]

    @staticmethod
    def fits(model: "StaticModel", source: Tokenizer) -> bool:
        """Whether ``source`` cuts text into the same tokens as the static model's tokenizer
        (ids aside), and the model's vectors are plain rows (no weights, no remapping)."""
        if model.weights is not None or model.token_mapping is not None:
            return False
        ours, theirs = json.loads(source.to_str()), json.loads(model.tokenizer.to_str())
        same = ("type", "unk_token", "continuing_subword_prefix", "max_input_chars_per_word")
        return (ours["normalizer"] == theirs["normalizer"]
                and ours["pre_tokenizer"] == theirs["pre_tokenizer"]
                and all(ours["model"].get(k) == theirs["model"].get(k) for k in same))

    def vectors(self, ids: list[np.ndarray], text: Callable[[int], str]) -> np.ndarray:
        """Normalized mean vectors of texts given as source ids; ``text(i)``: the i-th text,
        asked only when its ids cannot be mapped. The ids of all the texts (a file's chunks)
        are mapped at once; each text's mean is taken as model2vec takes it."""
        lengths = np.fromiter(map(len, ids), np.int64, len(ids))
        mapped = self.map[np.concatenate(ids) if ids else np.zeros(0, np.int64)]
        ends = np.cumsum(lengths)
        odd = set(np.searchsorted(ends, np.flatnonzero(mapped < 0), side="right").tolist())
        out = np.zeros((len(ids), self.dim), np.float32)
        for i, (start, end) in enumerate(zip((ends - lengths).tolist(), ends.tolist(),
                                             strict=True)):
            tokens = mapped[start:end]
            if i in odd:  # a dropped unknown token, or one the static vocabulary lacks
                tokens = tokens[tokens >= 0] if (tokens != _ABSENT).all() else np.asarray(
                    [t for t in self.tokenizer.encode(text(i), add_special_tokens=False).ids
                     if t != self.unk], np.int64)
            if len(tokens):
                out[i] = np.add.reduce(self.embedding[tokens], axis=0) / len(tokens)  # a mean
        return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-32)


def static_pooler(source: Tokenizer) -> StaticPooler | None:
    """A pooler for the distilled model, or None where ``source`` does not cut text as its
    tokenizer does."""
    model = load_static_model(static_model_path())
    return StaticPooler(model, source) if StaticPooler.fits(model, source) else None


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
