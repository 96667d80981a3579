"""Backends: each one's vectors stay faithful to PyTorch fp32 on real code, graphs are
exported once and never for a query, and a backend a machine cannot run falls back."""

import numpy as np
import pytest

from semcode import progress
from semcode.config import DEFAULT_MODEL, Settings
from semcode.embed import backends
from semcode.embed.embedding import Embedder
from semcode.errors import ConfigError

pytestmark = pytest.mark.model

CODE = [
    "def add(a, b):\n    return a + b",
    "class Cart:\n    def total_price(self):\n        return sum(i.price for i in self.items)",
    "func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {\n"
    "\ts.mux.ServeHTTP(w, r)\n}",
    "export function debounce(fn, ms) {\n  let t;\n  return (...a) => { clearTimeout(t); "
    "t = setTimeout(() => fn(...a), ms); };\n}",
    "parse config file\ndef load_config(path):\n    with open(path) as f:\n"
    "        return json.load(f)",
    "x" * 3000,  # longer than the window: truncated alike by every backend
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private cache directory: every export of this module starts from nothing."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def reference(cache):
    return Embedder(DEFAULT_MODEL, backend="torch").encode(CODE)


# The gate a backend must pass to be a default is a mean cosine to fp32 of 0.99. int8 is never
# a default (it fails the harness: BENCHMARKS.md) and its fidelity follows the CPU's int8
# instructions: mean 0.994 where VNNI multiplies int8 exactly, 0.988 on an AVX2-only CPU (AMD
# EPYC here), where ONNX Runtime's u8s8 products lose more. Its test asks for what holds on both.
GATES = {"torch-bf16": 0.99, "torch-fp16": 0.99, "onnx": 0.99, "onnx-int8": 0.98,
         "openvino": 0.99}


@pytest.mark.parametrize("backend", list(GATES))
def test_every_backend_is_faithful_to_fp32(reference, backend):
    embedder = Embedder(DEFAULT_MODEL, backend=backend)
    vectors = embedder.encode(CODE)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.mean() >= GATES[backend] and cosine.min() >= 0.95, (backend, cosine)
    expected = backend.split("-")[0]
    assert embedder.runs_on.startswith(expected)


def test_a_graph_is_exported_once_into_the_cache(cache, reference):
    first = backends.ensure_export(DEFAULT_MODEL, "openvino")
    stamp = (first / "model.xml").stat().st_mtime_ns
    assert backends.ensure_export(DEFAULT_MODEL, "openvino") == first
    assert (first / "model.xml").stat().st_mtime_ns == stamp
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no staging


def test_a_query_never_exports(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    embedder = Embedder(DEFAULT_MODEL, backend="openvino", for_queries=True)
    embedder.encode(["find the config loader"])
    assert embedder.runs_on == "torch (fp32)"
    assert not (tmp_path / "semcode" / "exports").exists()


def test_bf16_on_a_cpu_without_it_runs_fp32_and_says_so(monkeypatch, reference):
    monkeypatch.setattr(backends, "cpu_has_bf16", lambda: False)
    said: list[str] = []
    with progress.listen(said.append):
        embedder = Embedder(DEFAULT_MODEL, backend="torch-bf16")
        vectors = embedder.encode(CODE)
    assert embedder.runs_on == "torch (fp32)"
    assert np.allclose(vectors, reference, atol=1e-5)
    assert any("no bf16" in line for line in said)


def test_an_export_that_fails_falls_back_to_pytorch(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def broken(model, into):
        raise RuntimeError("this model cannot be traced")

    monkeypatch.setitem(backends._EXPORTS, "onnx", broken)
    said: list[str] = []
    with progress.listen(said.append):
        embedder = Embedder(DEFAULT_MODEL, backend="onnx")
        assert embedder.encode(["def f(): pass"]).shape == (1, 384)
    assert embedder.runs_on == "torch (fp32)"
    assert any("cannot be traced" in line for line in said)
    assert not list((tmp_path / "semcode" / "exports").rglob("export.json"))


def test_auto_is_openvino_on_a_cpu_fp16_on_a_gpu_and_torch_without_openvino(monkeypatch):
    assert backends.resolve("auto", "cpu") == "openvino"
    assert backends.resolve("auto", "cuda") == "torch-fp16"
    assert backends.resolve("onnx-int8", "cpu") == "onnx-int8"
    gpu = Embedder(DEFAULT_MODEL, device="cuda")
    assert (gpu.backend, gpu.batch_size) == ("torch-fp16", backends.GPU_BATCH_SIZE)
    monkeypatch.setattr(backends, "_installed", lambda module: False)
    assert backends.resolve("auto", "cpu") == "torch"


def test_an_unknown_backend_is_a_clear_error():
    with pytest.raises(ConfigError, match="openvino"):
        Settings.from_env({"SEMCODE_BACKEND": "tensorrt"})


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_a_graph_runner_answers_threads_at_once(cache, reference, backend):
    """Search shares one embedder between threads (MCP answers calls concurrently)."""
    from concurrent.futures import ThreadPoolExecutor

    embedder = Embedder(DEFAULT_MODEL, backend=backend)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: embedder.encode([CODE[i % len(CODE)]])[0], range(24)))
    for i, vector in enumerate(answers):
        assert float(vector @ reference[i % len(CODE)]) >= 0.98


def test_openvino_sends_no_telemetry(tmp_path):
    """Importing OpenVINO sends a usage event and writes a client id under ~/intel unless
    told not to; semcode's import of it does neither (fully local operation)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("CI", None)  # OpenVINO is silent in CI on its own
    subprocess.run([sys.executable, "-c", "from semcode.embed.backends import _import_openvino; "
                    "_import_openvino().Core()"], check=True, env=env, timeout=900)
    assert not (tmp_path / "intel").exists()


def test_the_index_runner_keeps_each_text_with_its_vector(cache):
    """Indexing runs OpenVINO's batches on several streams at once, in whatever order they
    finish: each text still gets its own vector, the one a single request gives it."""
    directory = backends.ensure_export(DEFAULT_MODEL, "openvino")
    streams = backends.GraphRunner(directory, "openvino", 2, throughput=True)
    single = backends.GraphRunner(directory, "openvino", 2)
    texts = [f"def scale_{i}(x):\n    return x * {i}" + " + x" * (i % 9) for i in range(40)]
    texts += CODE
    many, one = streams.encode(texts, 3), single.encode(texts, 3)
    assert many.shape == one.shape == (len(texts), 384)
    assert (many * one).sum(axis=1).min() >= 0.999
    assert streams.precision == single.precision
