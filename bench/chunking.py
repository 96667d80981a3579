"""Chunking throughput on a sample of Linux 6.1 ``drivers/`` (C and headers).

What one parser worker does per file — read, parse, chunk, hash, keywords — without the store.
Prints MB/s, chunks/s and, with ``--profile``, the top functions; with ``--sandbox``, the same
files through the parse sandbox an index run uses (a child process per parser, a deadline per
file: ``semcode/ingest/sandbox.py``), to measure what the deadline costs. Usage:

    python bench/chunking.py [--files 150] [--seed 1] [--profile] [--sandbox]
"""

import argparse
import cProfile
import json
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import linux_drivers_repo  # noqa: E402


def sample(repo: Path, count: int, seed: int) -> list[Path]:
    files = sorted(p for p in (repo / "drivers").rglob("*.[ch]")
                   if p.is_file() and p.stat().st_size < 1_000_000)
    return random.Random(seed).sample(files, count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sandbox", action="store_true")
    args = parser.parse_args()

    from semcode.config import DEFAULT_MODEL
    from semcode.embed.tokens import token_counter
    from semcode.ingest.chunking import Chunker
    from semcode.ingest.rows import chunk_rows
    from semcode.ingest.sandbox import SandboxedChunker

    repo = linux_drivers_repo()
    paths = sample(repo, args.files, args.seed)
    texts = [(p, p.read_bytes().decode("utf-8", "replace")) for p in paths]
    chunker = Chunker(token_counter(DEFAULT_MODEL))
    sandbox = SandboxedChunker(DEFAULT_MODEL)
    size = sum(len(t.encode()) for _, t in texts)

    def run() -> int:
        count = 0
        for path, text in texts:
            file = {"path": str(path.relative_to(repo)), "shard": 0, "language": "c",
                    "content_hash": "x"}
            count += len(sandbox.rows(file, text, "c0")[0] if args.sandbox
                         else chunk_rows(file, text, chunker, "c0"))
        return count

    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    chunks = run()
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    sandbox.close()
    print(json.dumps({"sandbox": args.sandbox, "files": len(texts),
                      "mb": round(size / 1e6, 2), "chunks": chunks,
                      "seconds": round(seconds, 2), "mb_per_s": round(size / 1e6 / seconds, 3),
                      "chunks_per_s": round(chunks / seconds)}))
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
