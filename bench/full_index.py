"""Full index of a real corpus, end to end, against the raw model throughput.

Prints files, chunks, wall time, chunks/s, peak RSS, and the configured backend's raw encode
(SEMCODE_BACKEND, default auto) of the same chunk texts in the same process, as a ratio; and
the CPU seconds of each (the index's parse processes included), as a ratio.
Usage:

    python bench/full_index.py [--corpus pygments==2.18.0] [--subdir pygments]
"""

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import pypi_sdist_repo  # noqa: E402


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended."""
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="pygments==2.18.0")
    parser.add_argument("--subdir", default="pygments")
    args = parser.parse_args()

    repo = pypi_sdist_repo(args.corpus, args.subdir)
    store = repo.parent / f"{repo.name}.lancedb"
    shutil.rmtree(store, ignore_errors=True)
    from semcode.config import Settings
    from semcode_dagster.assets.local_run import run_index_job

    started, cpu = time.perf_counter(), cpu_seconds()
    report = run_index_job(Settings(repo=str(repo), store=str(store)))
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert report.ok, report.text()

    from semcode.embed.embedding import embedding_text, shared_embedder
    from semcode.store.tables import Store

    rows = Store(str(store)).scan("chunks", ["symbol", "text"]).to_pylist()
    texts = sorted({embedding_text(r["symbol"], r["text"]) for r in rows})  # what was embedded
    embedder = shared_embedder("all-MiniLM-L6-v2", "cpu", 16,
                               os.environ.get("SEMCODE_BACKEND", "auto"))
    embedder.encode(texts[:32])  # loaded: the raw reference excludes the load
    started, raw_cpu = time.perf_counter(), cpu_seconds()
    embedder.encode(texts)
    raw, raw_cpu = time.perf_counter() - started, cpu_seconds() - raw_cpu

    chunks = report.chunks.total
    embedded = report.vectors.embedded
    figures = {
        "corpus": args.corpus, "files": report.files.seen,
        "files_indexed": report.files.parsed, "chunks": chunks,
        "distinct_texts_embedded": embedded, "wall_s": round(wall, 1),
        "end_to_end_chunks_per_s": round(embedded / wall, 1),
        "raw_encode_s": round(raw, 1), "raw_encode_chunks_per_s": round(len(texts) / raw, 1),
        "ratio_end_to_end_to_raw": round((embedded / wall) / (len(texts) / raw), 3),
        # on cores the encoder fills, work beside it is not free: the run's CPU over the raw
        # encoder's bounds its wall from below, however well the rest overlaps
        "cpu_s": round(cpu, 1), "raw_encode_cpu_s": round(raw_cpu, 1),
        "cpu_over_raw": round(cpu / raw_cpu, 3),
        "backend": embedder.runs_on, "peak_rss_mb": peak_rss_mb(), "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
