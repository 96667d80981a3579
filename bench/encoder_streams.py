"""OpenVINO's two ways of running the encoder over many texts, on the same chunk texts in one
process, alternating (ABBA): one request using every thread per batch (what a query uses),
against batches in flight on several streams (what indexing uses: ``GraphRunner(...,
throughput=True)``). Prints each pass's seconds, texts/s, and the cosine between the two
ways' vectors. Usage:

    python bench/encoder_streams.py [--corpus flask==3.0.3] [--rounds 2]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import pypi_sdist_repo  # noqa: E402


def corpus_texts(spec: str) -> list[str]:
    """The distinct texts a full index of ``spec`` embeds (its bench store indexed first
    when missing)."""
    import os
    import subprocess

    from semcode.embed.embedding import embedding_text
    from semcode.store.tables import Store

    repo = pypi_sdist_repo(spec)
    store = repo.parent / f"{repo.name}.lancedb"
    if not (store / "chunks.lance").exists():
        subprocess.run([sys.executable, "-m", "semcode", "index", str(repo)], check=True,
                       env={**os.environ, "SEMCODE_STORE": str(store)})
    rows = Store(str(store)).scan("chunks", ["symbol", "text"]).to_pylist()
    return list(dict.fromkeys(embedding_text(r["symbol"], r["text"]) for r in rows))


def main() -> None:
    from semcode.config import DEFAULT_BATCH_SIZE, DEFAULT_MODEL
    from semcode.embed.backends import OPENVINO, GraphRunner, cores, ensure_export

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="flask==3.0.3")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    texts = corpus_texts(args.corpus)
    graph = ensure_export(DEFAULT_MODEL, OPENVINO)
    ways = {"one request": GraphRunner(graph, OPENVINO, cores()),
            "streams": GraphRunner(graph, OPENVINO, cores(), throughput=True)}
    first = {name: way.encode(texts[:256], DEFAULT_BATCH_SIZE) for name, way in ways.items()}
    cosine = (first["one request"] * first["streams"]).sum(axis=1)
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name in ("one request", "streams", "streams", "one request"):
            started = time.perf_counter()
            for i in range(0, len(texts), 512):  # the vectors step's first window size
                ways[name].encode(texts[i:i + 512], DEFAULT_BATCH_SIZE)
            seconds[name].append(time.perf_counter() - started)
            print(name, round(seconds[name][-1], 2), flush=True)
    print(json.dumps({
        "corpus": args.corpus, "texts": len(texts), "cores": cores(),
        "precision": ways["streams"].precision, "streams": ways["streams"].streams,
        "cosine_min": round(float(cosine.min()), 6),
        **{f"{name}_texts_per_s": round(len(texts) / statistics.median(s), 1)
           for name, s in seconds.items()},
        **{f"{name}_s": [round(x, 2) for x in s] for name, s in seconds.items()}}, indent=2))


if __name__ == "__main__":
    main()
