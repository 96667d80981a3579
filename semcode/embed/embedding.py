"""Embedding with sentence-transformers: normalized float32 vectors, model id attached."""

import contextlib
import json
import os
import threading
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from semcode.config import DEFAULT_BACKEND, DEFAULT_BATCH_SIZE, DEFAULT_DEVICE
from semcode.embed import backends
from semcode.embed.model_files import model_id, model_path, query_prompt
from semcode.embed.static_model import BATCH_SIZE as STATIC_BATCH_SIZE
from semcode.embed.static_model import encode_static, is_static, load_static_model
from semcode.errors import ConfigError, SemcodeError, first_line
from semcode.identifiers import split_identifier

if TYPE_CHECKING:
    from model2vec import StaticModel


def embedding_text(symbol: str, text: str) -> str:
    """What the model reads for a chunk (and what text_hash names): the words of its
    qualified name on a first line (``Cart.total_price`` → ``cart total price``), then the
    chunk without the blank lines around it. The header restores the name to every piece of
    a split function; it holds no path, so a moved file re-embeds nothing. Measured on the
    shared harness (BENCHMARKS.md): +0.02 to +0.12 MRR@10 on every development corpus."""
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    body = "\n".join(lines[start:])
    words = " ".join(w for part in symbol.split(".") for w in split_identifier(part))
    return f"{words}\n{body}" if words else body


_SIZE_NEUTRAL = ("Transformer", "Normalize")


def model_dimension(model: str) -> int | None:
    """The vector size from the model's files, without loading the model: the pooling
    layer's size (times its pooling modes), changed by any Dense layer after it. None when a
    module's effect on the size cannot be read (the model is then loaded and asked)."""
    root = Path(model_path(model))
    if is_static(model):  # model2vec's config says its width
        return int(json.loads((root / "config.json").read_text())["hidden_dim"])
    modules = root / "modules.json"
    if not modules.is_file():
        return None
    dim = None
    for module in json.loads(modules.read_text()):
        kind, config = module.get("type", ""), root / module.get("path", "") / "config.json"
        if kind.endswith(_SIZE_NEUTRAL):
            continue
        if kind.endswith("Pooling") and config.is_file():
            dim = _pooling_dimension(json.loads(config.read_text()))
            if dim is None:
                return None
        elif kind.endswith("Dense") and config.is_file():
            dim = int(json.loads(config.read_text())["out_features"])
        else:
            return None
    return dim


def _pooling_dimension(settings: dict) -> int | None:
    """A pooling layer's output size, in both of sentence-transformers' config formats."""
    size = settings.get("embedding_dimension", settings.get("word_embedding_dimension"))
    mode = settings.get("pooling_mode")
    if isinstance(mode, str | list):  # the newer format: one mode or a list of them
        modes = 1 if isinstance(mode, str) else len(mode)
    else:  # the older: a boolean per mode
        modes = sum(1 for k, v in settings.items() if k.startswith("pooling_mode_") and v)
    return int(size) * max(modes, 1) if isinstance(size, int) else None


class TextEncoder(Protocol):
    """What the vectors step needs of a model (the real ``Embedder``, or a test fake)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


class Embedder:
    """Loads the model once, on first use, on its backend (``semcode/embed/backends.py``);
    ``encode`` sorts by length inside each call. A query embedder (``for_queries``) puts the
    model's query prompt before each text, and never exports a graph: it runs on PyTorch
    until an index run has built one."""

    def __init__(self, model: str, device: str = DEFAULT_DEVICE,
                 batch_size: int = DEFAULT_BATCH_SIZE, backend: str = DEFAULT_BACKEND,
                 for_queries: bool = False):
        self.model = model
        self.model_id = model_id(model)
        self.device = device
        self.backend = "static" if is_static(model) else backends.resolve(backend, device)
        self.for_queries = for_queries
        # the instruction the model wants before a query (read for queries only)
        self.query_prompt = query_prompt(model) if for_queries else ""
        # a static model and a GPU want large batches; the default size is a CPU's
        default = batch_size == DEFAULT_BATCH_SIZE
        self.batch_size = STATIC_BATCH_SIZE if is_static(model) and default else \
            backends.GPU_BATCH_SIZE if default and device.startswith("cuda") else batch_size
        self._runner: backends.Runner | None = None
        self._static: StaticModel | None = None
        self._loading = threading.Lock()
        self._warming: threading.Thread | None = None

    def _load(self) -> backends.Runner:
        with self._loading:  # one load, also when warm_up's thread is still at it
            if self._runner is None:
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                try:
                    self._runner = backends.load_runner(self.model, self.backend, self.device,
                                                        may_export=not self.for_queries)
                except Exception as exc:  # the many ways a third party fails a load: name
                    raise ConfigError(   # the settings that chose it, keep its own words
                        f"the model SEMCODE_MODEL={self.model!r} could not be loaded on "
                        f"SEMCODE_DEVICE={self.device!r} ({type(exc).__name__}: "
                        f"{first_line(exc)}) — models are read from the local disk: use the "
                        "default all-MiniLM-L6-v2, `static`, or the directory of a "
                        "sentence-transformers model, on a device this machine has") from None
            return self._runner

    def warm_up(self) -> None:
        """Start loading the model in a thread, so the load (PyTorch's import alone takes
        seconds) overlaps the parse instead of delaying the first encode. A failed load
        is retried, and raised, by the first ``encode``."""
        if is_static(self.model) or self._runner is not None or self._warming is not None:
            return
        self._warming = threading.Thread(target=self._quiet_load, name="semcode-model-load")
        self._warming.start()

    def _quiet_load(self) -> None:
        with contextlib.suppress(Exception):
            self._load()

    @property
    def runs_on(self) -> str:
        """What encodes, once loaded: ``openvino (bf16, 2 streams)``, ``torch (fp32)``,
        ``static``."""
        if is_static(self.model):
            return "static"
        runner = self._load()
        if not isinstance(runner, backends.GraphRunner):
            return f"torch ({runner.precision})"
        streams = f", {runner.streams} streams" if runner.streams > 1 else ""
        return f"{runner.kind} ({runner.precision}{streams})"

    @cached_property
    def dim(self) -> int:
        known = model_dimension(self.model)
        if known:
            return known
        runner = self._load()
        dim = runner.encode(["x"], 1).shape[1]
        if not dim:
            raise ConfigError(f"model {self.model} does not say its vector size — use a "
                              "sentence-transformers model with a pooling layer")
        return int(dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.for_queries and self.query_prompt:
            texts = [self.query_prompt + t for t in texts]
        if is_static(self.model):
            if self._static is None:
                self._static = load_static_model(model_path(self.model))
            vectors = encode_static(self._static, texts, self.batch_size)
        else:
            vectors = np.asarray(self._load().encode(texts, self.batch_size), dtype=np.float32)
        if vectors.shape[1] != self.dim:  # never store vectors of a size the table does not say
            raise ConfigError(f"model {self.model} produced vectors of size {vectors.shape[1]}"
                              f", not the {self.dim} its files describe")
        return vectors


@lru_cache(maxsize=4)
def shared_embedder(model: str, device: str, batch_size: int,
                    backend: str = DEFAULT_BACKEND, for_queries: bool = False) -> Embedder:
    """One embedder per process and configuration (the model loads once)."""
    return Embedder(model, device, batch_size, backend, for_queries)


def warm_up_queries(model: str, device: str, backend: str) -> None:
    """Start loading the query embedder a searcher of these settings will use, in a thread:
    a fresh process about to search (the CLI, the MCP server) loads the model while it
    imports the store's libraries and opens the index, instead of after. A model that cannot
    even be named here is left for the searcher to report, as it would be without this."""
    try:
        embedder = shared_embedder(model, device, DEFAULT_BATCH_SIZE, backend,
                                   for_queries=True)
    except (SemcodeError, ValueError, OSError):
        return
    embedder.warm_up()
