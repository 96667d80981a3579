"""Every backend on the same chunks: raw encode, code_vectors end to end, full index, fidelity.

For each backend, a full `semcode index` of a real corpus in a fresh process (a fresh store,
the backend's graph already exported), then in this process the backend's raw encode of the
same distinct texts (the ceiling: one call, no store), and the ratio of the two. Fidelity is
against PyTorch fp32's vectors of the same chunks: mean and lowest cosine, and how many of each
chunk's ten nearest neighbours stay the same. Usage:

    python bench/backends.py [--corpus flask==3.0.3] [--subdir src]
                             [--backends torch,torch-bf16,onnx,onnx-int8,openvino]
                             [--model code]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import CACHE, pypi_sdist_repo  # noqa: E402
from semcode.config import DEFAULT_MODEL  # noqa: E402

REFERENCE = "torch"
NEIGHBOURS = 10


def index(repo: Path, store: Path, backend: str, model: str) -> tuple[dict, float]:
    shutil.rmtree(store, ignore_errors=True)
    env = {**os.environ, "SEMCODE_BACKEND": backend, "SEMCODE_STORE": str(store),
           "SEMCODE_MODEL": model}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "semcode", "index", str(repo), "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"{backend}: semcode index failed\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout), wall


def stored(store: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Chunk ids sorted, the distinct texts that were embedded, and the vectors by id."""
    from semcode.embed.embedding import embedding_text
    from semcode.store.tables import Store

    handle = Store(str(store), create=False)
    chunks = handle.scan("chunks", ["chunk_id", "symbol", "text"]).to_pylist()
    texts = sorted({embedding_text(r["symbol"], r["text"]) for r in chunks})
    vectors = handle.scan("vectors", ["chunk_id", "vector"]).sort_by("chunk_id")
    ids = vectors.column("chunk_id").to_pylist()
    return ids, texts, np.asarray(vectors.column("vector").to_pylist(), dtype=np.float32)


def raw_rate(backend: str, texts: list[str], model: str) -> tuple[float, str]:
    from semcode.embed.embedding import Embedder

    embedder = Embedder(model, backend=backend)
    embedder.encode(texts[:32])  # loaded and warm: the ceiling excludes the load
    started = time.perf_counter()
    embedder.encode(texts)
    return len(texts) / (time.perf_counter() - started), embedder.runs_on


def fidelity(reference: np.ndarray, vectors: np.ndarray) -> dict:
    cosine = (reference * vectors).sum(axis=1)
    rng = np.random.default_rng(7)
    probes = rng.choice(len(vectors), size=min(500, len(vectors)), replace=False)

    def nearest(matrix: np.ndarray) -> np.ndarray:
        scores = matrix[probes] @ matrix.T
        scores[np.arange(len(probes)), probes] = -2  # not itself
        return np.argsort(-scores, axis=1)[:, :NEIGHBOURS]

    same = [len(set(a) & set(b)) / NEIGHBOURS
            for a, b in zip(nearest(reference), nearest(vectors), strict=True)]
    return {"cosine_mean": round(float(cosine.mean()), 5),
            "cosine_min": round(float(cosine.min()), 4),
            "top10_neighbours_kept": round(float(np.mean(same)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    # the whole sdist: code, tests and docs, ~2,000 chunks (pygments' 7,500 dense ones take
    # 6 minutes per PyTorch fp32 pass; --corpus pygments==2.18.0 --subdir pygments for those)
    parser.add_argument("--corpus", default="flask==3.0.3")
    parser.add_argument("--subdir", default=None)
    parser.add_argument("--backends", default="torch,torch-bf16,onnx,onnx-int8,openvino")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="e.g. code, the tuned model")
    args = parser.parse_args()
    repo = pypi_sdist_repo(args.corpus, args.subdir)
    backends = args.backends.split(",")
    if REFERENCE not in backends:
        backends.insert(0, REFERENCE)
    from semcode.embed.backends import GRAPH_BACKENDS, ensure_export

    for backend in backends:  # once per machine: not part of any timing below
        if backend in GRAPH_BACKENDS:
            ensure_export(args.model, backend)
    rows, reference = [], None
    for backend in backends:
        store = CACHE / "backends" / f"{repo.name}-{args.model}-{backend}"
        summary, wall = index(repo, store, backend, args.model)
        from semcode.store.tables import Store

        report = Store(str(store), create=False).last_vectors()
        assert report is not None
        ids, texts, vectors = stored(store)
        raw, runs_on = raw_rate(backend, texts, args.model)
        end_to_end = report.embedded / report.seconds
        row = {"backend": backend, "runs_on": runs_on, "chunks": summary["chunks"]["total"],
               "texts": report.embedded, "full_index_s": round(wall, 1),
               "code_vectors_s": round(report.seconds, 1),
               "end_to_end_texts_per_s": round(end_to_end, 1),
               "raw_encode_texts_per_s": round(raw, 1),
               "ratio": round(end_to_end / raw, 3)}
        if backend == REFERENCE:
            reference = (ids, vectors)
        else:
            assert reference is not None and ids == reference[0], "different chunks"
            row.update(fidelity(reference[1], vectors))
        rows.append(row)
        print(json.dumps(row), flush=True)
    fp32 = next(r for r in rows if r["backend"] == REFERENCE)
    for row in rows:
        row["raw_vs_torch_fp32"] = round(row["raw_encode_texts_per_s"]
                                         / fp32["raw_encode_texts_per_s"], 2)
    import pandas as pd

    print(pd.DataFrame(rows).set_index("backend").to_markdown())


if __name__ == "__main__":
    main()
