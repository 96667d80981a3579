"""The vectors step's window, on a real corpus: the step run on a copy of the corpus's store
with its vectors dropped, by windows of ``--small`` chunk rows (what a window was: 512)
against the step's default (texts sorted by length across the whole window before they are
encoded), alternating (ABBA). A batch pads its texts to its longest; the fewer texts a sort
spans, the more it pads. Prints each pass's seconds, texts/s, the tokens each way fed the
encoder over the texts' own (its padding: a figure free of the machine's drift), and the
lowest cosine between the two ways' vectors of a chunk. Usage:

    python bench/vector_windows.py [--corpus flask==3.0.3] [--rounds 2] [--small 512]
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import pypi_sdist_repo  # noqa: E402
from bench.encoder_streams import corpus_texts  # noqa: E402


def vectors_by_id(store) -> dict[str, np.ndarray]:
    table = store.scan("vectors", ["chunk_id", "vector"])
    return dict(zip(table.column("chunk_id").to_pylist(),
                    np.asarray(table.column("vector").to_pylist(), np.float32), strict=True))


class Recorded:
    """The encoder, with the texts of every encode call kept (for the padding they cost)."""

    def __init__(self, encoder):
        self.encoder, self.calls = encoder, []
        self.model_id, self.dim = encoder.model_id, encoder.dim

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(texts)
        return self.encoder.encode(texts)


def padding(calls: list[list[str]], runner, batch_size: int) -> float:
    """The tokens the encoder was fed in these calls (the batches ``runner`` makes of each
    call's texts) over the texts' own tokens (their attention mask), less one."""
    fed = own = 0
    for texts in calls:
        for _, feed in runner._batches(texts, batch_size):
            fed += feed["input_ids"].size
            own += int(feed["attention_mask"].sum())
    return fed / own - 1


def main() -> None:
    from semcode.config import DEFAULT_BATCH_SIZE, DEFAULT_MODEL
    from semcode.embed.embedding import shared_embedder
    from semcode.index.vectors import WINDOW, update_vectors
    from semcode.store.tables import Store

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="flask==3.0.3")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--small", type=int, default=512)
    args = parser.parse_args()
    texts = corpus_texts(args.corpus)  # the corpus's bench store, indexed when missing
    repo = pypi_sdist_repo(args.corpus)
    source = repo.parent / f"{repo.name}.lancedb"
    embedder = shared_embedder(DEFAULT_MODEL, "cpu", DEFAULT_BATCH_SIZE, "auto")
    embedder.encode(texts[:32])  # loaded: no pass pays the load
    windows = {f"window {args.small}": args.small, f"window {WINDOW} (default)": WINDOW}
    seconds: dict[str, list[float]] = {name: [] for name in windows}
    padded: dict[str, float] = {}
    vectors: dict[str, dict[str, np.ndarray]] = {}
    embedded = 0
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.rounds):
            a, b = windows
            for name in (a, b, b, a):
                copy = Path(scratch) / "store"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(source, copy)
                store = Store(str(copy))
                store.drop("vectors")
                recorded = Recorded(embedder)
                started = time.perf_counter()
                report = update_vectors(store, recorded, window=windows[name])
                seconds[name].append(time.perf_counter() - started)
                padded.setdefault(name, padding(recorded.calls, embedder._load(),
                                                DEFAULT_BATCH_SIZE))
                embedded = report.embedded
                vectors.setdefault(name, vectors_by_id(store))
                print(name, round(seconds[name][-1], 2), flush=True)
    a, b = (vectors[name] for name in windows)
    cosine = min(float(a[i] @ b[i]) for i in a)
    print(json.dumps({
        "corpus": args.corpus, "embedded": embedded, "backend": embedder.runs_on,
        "same_chunks": a.keys() == b.keys(), "cosine_min": round(cosine, 6),
        **{f"{name}_texts_per_s": round(embedded / statistics.median(s), 1)
           for name, s in seconds.items()},
        **{f"{name}_padding": f"{share:+.1%}" for name, share in padded.items()},
        **{f"{name}_s": [round(x, 2) for x in s] for name, s in seconds.items()}}, indent=2))


if __name__ == "__main__":
    main()
