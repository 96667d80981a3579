"""Incremental reindex against the full index, measured in the same run on the same corpus.

(a) a no-op run, (b) a one-file edit, (c) a 50-file change; each reports wall time and
newly embedded texts, and its ratio to the full index. Usage:

    python bench/incremental.py [--corpus pygments==2.18.0] [--subdir pygments]
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import pypi_sdist_repo  # noqa: E402


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench",
                    "-c", "user.email=bench@localhost", *args], check=True,
                   capture_output=True)


def append_function(path: Path, n: int) -> None:
    path.write_text(path.read_text() + f"\n\ndef bench_helper_{n}(value):\n"
                    f"    return value * {n} + len(str(value))\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="pygments==2.18.0")
    parser.add_argument("--subdir", default="pygments")
    args = parser.parse_args()

    source = pypi_sdist_repo(args.corpus, args.subdir)
    repo = source.parent / f"{source.name}-incremental"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(source, repo)
    store = repo.parent / f"{repo.name}.lancedb"
    shutil.rmtree(store, ignore_errors=True)
    from semcode.config import Settings
    from semcode_dagster.assets.local_run import run_index_job

    settings = Settings(repo=str(repo), store=str(store))

    def timed(label: str) -> dict:
        started = time.perf_counter()
        report = run_index_job(settings)
        assert report.ok, report.text()
        return {"run": label, "wall_s": round(time.perf_counter() - started, 1),
                "parsed": report.files.parsed, "embedded": report.vectors.embedded,
                "reused": report.vectors.reused, "chunks": report.chunks.total}

    rows = [timed("full index")]
    rows.append(timed("no-op"))
    from semcode.store.tables import Store

    indexed = Store(str(store)).scan("files", ["path"], "status = 'indexed'")
    files = sorted(repo / p for p in indexed.column("path").to_pylist() if p.endswith(".py"))
    append_function(files[0], 0)
    git(repo, "commit", "-qam", "one file")
    rows.append(timed("one-file edit"))
    for i, path in enumerate(files[1:51], start=1):
        append_function(path, i)
    git(repo, "commit", "-qam", "fifty files")
    rows.append(timed("50-file change"))
    full = rows[0]
    for row in rows:
        row["wall_ratio"] = round(row["wall_s"] / full["wall_s"], 4)
        row["embedded_ratio"] = round(row["embedded"] / full["embedded"], 4)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
