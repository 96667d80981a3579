"""How the transformer runs: PyTorch, ONNX Runtime or OpenVINO (``SEMCODE_BACKEND``).

``auto`` picks the fastest backend whose vectors passed the fidelity gate on the shared
harness (mean cosine to PyTorch fp32 ≥ 0.99 and MRR@10 within 0.01; BENCHMARKS.md):
OpenVINO on a CPU — it runs bf16 where the CPU has it and fp32 where it does not — and
PyTorch fp16 on a GPU. The others stay selectable and measured by ``bench/backends.py``.

ONNX and OpenVINO read a graph exported once per model and machine from the model's own
weights (``torch.onnx.export`` of the whole sentence-transformers pipeline, pooling and
normalization included) into the user's cache, under a file lock, staged and renamed. A query
never exports: without a graph it runs on PyTorch. From a graph, encoding imports neither torch
nor sentence-transformers (seconds of every push and every CLI search).

The backend does not change the stored model id: a faithful backend's vectors are the
model's vectors, and switching one does not re-embed the store.
"""

import contextlib
import fcntl
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from semcode import progress
from semcode.config import BACKENDS
from semcode.embed.model_cache import cache_root
from semcode.embed.model_files import max_tokens, model_id, model_path
from semcode.errors import ConfigError
from semcode.imports import model_libraries

AUTO, TORCH, TORCH_BF16, TORCH_FP16, ONNX, ONNX_INT8, OPENVINO = BACKENDS
GRAPH_BACKENDS = (ONNX, ONNX_INT8, OPENVINO)
GPU_BATCH_SIZE = 128  # a GPU wants many texts per pass; a CPU is fastest at 16 (BENCHMARKS.md)
EXPORT_VERSION = 1  # bump when the export's layout or wrapper changes: graphs are re-exported
# OpenVINO's CPU pinning of its stream threads: None leaves its default (pinned, on Linux); a
# bench sets it to compare (bench/full_ab.py --pinning)
PINNING: bool | None = None
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
Feeds = Iterator[tuple[list[int], dict[str, np.ndarray]]]  # batches: text indices, inputs
Results = Iterable[tuple[list[int], np.ndarray]]  # the same batches with their vectors


def resolve(backend: str, device: str) -> str:
    """The backend ``auto`` stands for on ``device``; any other name as given."""
    if backend != AUTO:
        return backend
    if not device.startswith("cpu"):
        return TORCH_FP16 if device.startswith("cuda") else TORCH
    return OPENVINO if _installed("openvino") else TORCH


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def cores() -> int:
    """The cores this process may use (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_has_bf16() -> bool:
    """Whether the CPU has bf16 units (AVX512-BF16 or AMX); False when it cannot be told."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:  # not Linux: run fp32
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


# -- the graph export ------------------------------------------------------------------------

def export_dir(model: str, kind: str) -> Path:
    """Where ``model``'s graph for ``kind`` (onnx, onnx-int8, openvino) lives on this machine."""
    slug = model_id(model).replace("/", "--").replace(":", "-")
    return cache_root() / "exports" / f"{slug}-v{EXPORT_VERSION}" / kind


def exported(model: str, kind: str) -> Path | None:
    target = export_dir(model, kind)
    return target if (target / "export.json").is_file() else None


def ensure_export(model: str, kind: str) -> Path:
    """The graph of ``model`` for ``kind``, exporting it first if this machine has none.
    Concurrent processes wait for the first; a killed export leaves nothing."""
    target = export_dir(model, kind)
    if exported(model, kind):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{kind}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not exported(model, kind):
            if kind != ONNX:
                ensure_export(model, ONNX)  # int8 and OpenVINO start from the fp32 graph
            progress.say(f"exporting {model_id(model)} for {kind}, once on this machine, "
                         f"into {target}")
            staging = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=target.parent))
            try:
                _EXPORTS[kind](model, staging)
                shutil.rmtree(target, ignore_errors=True)
                os.replace(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return target


def _export_onnx(model: str, into: Path) -> None:
    model_libraries()
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(model_path(model), device="cpu")
    tokenize = getattr(st, "preprocess", None) or st.tokenize  # renamed in sentence-transformers 6
    example = {k: v for k, v in tokenize(["def f(x):", "a longer example text"]).items()
               if k in _INPUTS}
    names = list(example)

    class Pipeline(torch.nn.Module):  # every module of the model: transformer, pooling, norm
        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.st(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it treats as constant
        torch.onnx.export(Pipeline().eval(), tuple(example.values()), str(into / "model.onnx"),
                          input_names=names, output_names=["embedding"], opset_version=17,
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                                        "embedding": {0: "batch"}}, dynamo=False)
    st.tokenizer.save_pretrained(str(into))
    if not (into / "tokenizer.json").is_file():
        raise ConfigError(f"model {model} has no fast tokenizer (tokenizer.json); use "
                          "SEMCODE_BACKEND=torch for it")
    _describe(into, model, names, "fp32")


def _export_int8(model: str, into: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = export_dir(model, ONNX)
    root = logging.getLogger()
    level, root.level = root.level, max(root.level, logging.ERROR)  # its advice is a warning
    try:
        quantize_dynamic(str(source / "model.onnx"), str(into / "model.onnx"), per_channel=True,
                         weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    _copy_tokenizer(source, into)


def _import_openvino() -> Any:
    """OpenVINO without its telemetry: importing it sends a usage event to Google Analytics
    (from a forked process) unless a consent file in ~/intel says no, and semcode runs fully
    local. With ``openvino_telemetry`` unimportable, OpenVINO uses its own no-op stub."""
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
    import openvino as ov

    return ov


def _export_openvino(model: str, into: Path) -> None:
    ov = _import_openvino()

    source = export_dir(model, ONNX)
    # weights kept in fp32 (save_model would halve them): the runtime picks the precision
    ov.save_model(ov.Core().read_model(str(source / "model.onnx")), str(into / "model.xml"),
                  compress_to_fp16=False)
    _copy_tokenizer(source, into)


def _copy_tokenizer(source: Path, into: Path) -> None:
    shutil.copy2(source / "tokenizer.json", into / "tokenizer.json")
    shutil.copy2(source / "export.json", into / "export.json.part")
    os.replace(into / "export.json.part", into / "export.json")


def _describe(into: Path, model: str, inputs: list[str], weights: str) -> None:
    (into / "export.json").write_text(json.dumps({
        "model": model_id(model), "inputs": inputs, "max_tokens": max_tokens(model),
        "weights": weights, "version": EXPORT_VERSION}))


_EXPORTS: dict[str, Callable[[str, Path], None]] = {
    ONNX: _export_onnx, ONNX_INT8: _export_int8, OPENVINO: _export_openvino}


# -- runners ---------------------------------------------------------------------------------

class GraphRunner:
    """An exported graph under ONNX Runtime or OpenVINO, fed by the model's own fast
    tokenizer: every text tokenized once, batches cut from texts sorted by token count and
    padded only to their longest. ``throughput``: OpenVINO runs the batches of a call on
    several streams at once, each on a core of its own (what indexing wants: on the 2-core
    AVX-512 machine 8-14 % more texts a second than two threads on one batch, and no
    barrier between cores for another process to stall); else on one request with every
    thread (what a single query wants)."""

    def __init__(self, directory: Path, kind: str, threads: int, throughput: bool = False):
        from tokenizers import Tokenizer

        spec = json.loads((directory / "export.json").read_text())
        self.inputs: list[str] = spec["inputs"]
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(spec["max_tokens"]))
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.kind = kind
        self.precision = "int8" if kind == ONNX_INT8 else "fp32"
        self.streams = 1
        self._run = self._openvino(directory, threads, throughput) if kind == OPENVINO else \
            self._onnxruntime(directory, threads)

    def _onnxruntime(self, directory: Path, threads: int) -> Callable[[Feeds], Results]:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(directory / "model.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        return lambda feeds: ((batch, session.run(None, feed)[0]) for batch, feed in feeds)

    def _openvino(self, directory: Path, threads: int,
                  throughput: bool) -> Callable[[Feeds], Results]:
        ov = _import_openvino()
        config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads}
        if PINNING is not None:
            config["ENABLE_CPU_PINNING"] = PINNING
        if throughput:  # OpenVINO picks the streams (one per core or so) and their threads
            config["PERFORMANCE_HINT"] = "THROUGHPUT"
        compiled = ov.Core().compile_model(str(directory / "model.xml"), "CPU", config)
        # bf16 where the CPU has it, fp32 where it does not: OpenVINO decides, we report it
        self.precision = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        if throughput:
            self.streams = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        # Requests created and run from several threads at once deadlocked inside OpenVINO
        # (seen in CI): the requests are made here, and one caller at a time drives them all
        # from its own thread — started in turn, each awaited before it is given the next
        # batch. Only concurrent queries wait on the lock (a query takes milliseconds).
        requests = [compiled.create_infer_request() for _ in range(self.streams)]
        one_at_a_time = threading.Lock()

        def infer(feeds: Feeds) -> Results:
            with one_at_a_time:
                started: deque[tuple[Any, list[int]]] = deque()  # in flight, oldest first
                free = list(requests)
                for batch, feed in feeds:
                    if not free:
                        yield finished(*started.popleft(), free)
                    request = free.pop()
                    request.start_async(feed)
                    started.append((request, batch))
                while started:
                    yield finished(*started.popleft(), free)

        def finished(request: Any, batch: list[int], free: list) -> tuple[list[int], np.ndarray]:
            request.wait()
            free.append(request)
            return batch, request.get_output_tensor(0).data.copy()

        return lambda feeds: list(infer(feeds))

    def _feeds(self, order: list[int], encodings: list[Any], batch_size: int) -> Feeds:
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens = encodings[i].ids
                ids[row, :len(tokens)] = tokens
                mask[row, :len(tokens)] = 1
            feed = {"input_ids": ids, "attention_mask": mask,
                    "token_type_ids": np.zeros_like(ids)}
            yield batch, {name: feed[name] for name in self.inputs}

    def _batches(self, texts: list[str], batch_size: int) -> Feeds:
        """The feeds of ``texts``: each tokenized once, sorted by token count, cut into
        batches padded to their longest."""
        encodings = self.tokenizer.encode_batch_fast(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        return self._feeds(order, encodings, batch_size)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out: np.ndarray | None = None
        for batch, vectors in self._run(self._batches(texts, batch_size)):
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[batch] = vectors
        assert out is not None
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


class TorchRunner:
    """sentence-transformers on PyTorch: fp32, bf16 autocast (CPUs with bf16; fp32 with a
    note elsewhere), or fp16 weights (the GPU path; on a CPU the same code, slowly)."""

    def __init__(self, model: str, backend: str, device: str, threads: int):
        model_libraries()
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" on every load
        if device.startswith("cpu"):
            torch.set_num_threads(threads)
        self.st: SentenceTransformer = SentenceTransformer(model_path(model), device=device)
        self.autocast: Any = None
        self.precision = "fp32"
        if backend == TORCH_FP16:
            self.st.half()
            self.precision = "fp16"
        elif backend == TORCH_BF16:
            if device.startswith("cpu") and not cpu_has_bf16():
                progress.say("this CPU has no bf16 units: torch-bf16 runs in fp32")
            else:
                self.autocast = (torch.device(device).type, torch.bfloat16)
                self.precision = "bf16"

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        context = torch.autocast(self.autocast[0], dtype=self.autocast[1]) if self.autocast \
            else contextlib.nullcontext()
        with context:
            vectors = self.st.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=False, convert_to_tensor=True,
                                     show_progress_bar=False)
        vectors = vectors.float()  # fp16 or bf16 norms are a little off 1: normalize again
        return torch.nn.functional.normalize(vectors, dim=1).cpu().numpy()


Runner = GraphRunner | TorchRunner


def load_runner(model: str, backend: str, device: str, *, may_export: bool) -> Runner:
    """The runner for ``backend`` (already resolved). A graph backend whose export is missing
    is exported when ``may_export``, else (a query) the model runs on PyTorch; a graph that
    cannot be exported or loaded falls back to PyTorch with a note, never a crash."""
    threads = cores()
    if backend in GRAPH_BACKENDS:
        directory = exported(model, backend)
        try:
            if directory is None and may_export:
                directory = ensure_export(model, backend)
            if directory is not None:
                return GraphRunner(directory, backend, threads, throughput=may_export)
        except ImportError as missing:
            progress.say(f"{backend} is not installed ({missing.name}); running on PyTorch")
        except Exception as error:  # an export or runtime that fails on this model or CPU
            progress.say(f"{backend} failed for {model_id(model)} ({error}); running on "
                         "PyTorch")
        backend = TORCH
    return TorchRunner(model, backend, device, threads)

