"""Two ways of making the same first, full index, side by side: each run a fresh `semcode
index` process on a fresh store, in ABBA order so that the machine's drift falls on both;
prints every run's wall and phases, then the medians. Usage:

    python bench/full_ab.py --base /tmp/semcode-before [--corpus flask==3.0.3] [--rounds 2]
        # this checkout against another one (e.g. `git worktree add /tmp/semcode-before HEAD~3`)
    python bench/full_ab.py --ahead [--corpus flask==3.0.3]
        # embedding while the shards parse (semcode/index/ahead.py) forced on, against off
    python bench/full_ab.py --pinning [--corpus flask==3.0.3]
        # the encoder's threads pinned to cores (OpenVINO's default) against left to the OS
    python bench/full_ab.py --peer /tmp/peer/bin/mcp-vector-search [--corpus flask==3.0.3]
        # semcode against mcp-vector-search (its own virtual environment: `pip install
        # torch==2.13.0 tree-sitter-language-pack==0.13.0 mcp-vector-search typer==0.20.0`),
        # on the same packaged model, each `index` on a fresh copy of the checkout
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import pypi_sdist_repo  # noqa: E402
from bench.fixed_cost import DRIVER, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="flask==3.0.3")
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds (2 runs of each)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--base", type=Path, help="another checkout of semcode to compare")
    which.add_argument("--ahead", action="store_true", help="embedding ahead on against off")
    which.add_argument("--peer", type=Path, help="mcp-vector-search's command, to compare")
    which.add_argument("--pinning", action="store_true",
                       help="the encoder's threads pinned to cores (OpenVINO's default) "
                            "against not")
    args = parser.parse_args()
    repo = pypi_sdist_repo(args.corpus)
    store = repo.parent / f"{repo.name}-ab.lancedb"
    # (label, checkout, extra environment): the driver runs in the checkout, importing its code
    a, b = (("this", ROOT, {}), ("base", args.base.resolve(), {})) if args.base else \
        (("this", ROOT, {}), ("peer", args.peer, {})) if args.peer else \
        (("pinned", ROOT, {"BENCH_OV_PINNING": "1"}), ("free", ROOT, {"BENCH_OV_PINNING": "0"})) \
        if args.pinning else \
        (("ahead", ROOT, {"BENCH_EMBED_AHEAD": "1"}), ("after", ROOT, {"BENCH_EMBED_AHEAD": "0"}))
    runs: dict[str, list[dict]] = {a[0]: [], b[0]: []}
    for _ in range(args.rounds):
        for label, checkout, extra in (a, b, b, a):
            if label == "peer":
                runs[label].append(out := run_peer(args.peer, repo))
                print(label, round(out["wall"], 2), json.dumps(out), flush=True)
                continue
            shutil.rmtree(store, ignore_errors=True)
            shutil.rmtree(f"{store}.dagster", ignore_errors=True)
            env = {**os.environ, "SEMCODE_STORE": str(store), **extra}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            out = run(repo, env, cwd=checkout,
                      driver=DRIVER if checkout == ROOT else BASE_DRIVER)
            runs[label].append(out)
            print(label, round(out["wall"], 2), out.get("backend"), out.get("embedded_ahead"),
                  json.dumps({k: round(v, 2) for k, v in out["phases"].items()}), flush=True)
    medians = {k: statistics.median(r["wall"] for r in v) for k, v in runs.items()}
    print(json.dumps({"corpus": args.corpus,
                      **{f"{k}_embedded": v[0]["embedded"] for k, v in runs.items()},
                      f"{a[0]}_over_{b[0]}": round(medians[a[0]] / medians[b[0]], 3),
                      **{f"{k}_wall_s": [round(r["wall"], 2) for r in v]
                         for k, v in runs.items()},
                      **{f"{k}_median_s": round(statistics.median(r["wall"] for r in v), 2)
                         for k, v in runs.items()}}, indent=2))


def run_peer(command: Path, repo: Path) -> dict:
    """mcp-vector-search's full index (``index --force``: chunks, embeddings, its knowledge
    graph) of a fresh copy of ``repo``, on semcode's packaged model, timed from outside; its
    ``init`` (a config file) is not timed."""
    from semcode.embed.packaged_model import packaged_model_path

    copy = repo.parent / f"{repo.name}-peer"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo, copy)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([str(command), "init", "--embedding-model", packaged_model_path(),
                    "--no-auto-index", "--no-mcp", "--no-auto-indexing"], cwd=copy, env=env,
                   input="y\n", capture_output=True, text=True, check=True)
    started = time.perf_counter()
    done = subprocess.run([str(command), "index", "--force"], cwd=copy, env=env,
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    made = re.search(r"([\d,]+) chunks, ([\d,]+) embeddings", done.stdout + done.stderr)
    if made is None:
        raise SystemExit(f"mcp-vector-search said no chunk count:\n{done.stdout[-2000:]}")
    return {"wall": wall, "phases": {}, "embedded": int(made[2].replace(",", "")),
            "chunks": int(made[1].replace(",", ""))}


# An older checkout's run: its own `semcode index` path, timed from outside only
BASE_DRIVER = r"""
import json, sys, time
t0 = time.perf_counter()
from semcode.config import Settings
from semcode_dagster.assets.local_run import run_index_job
report = run_index_job(Settings.from_env(repo=sys.argv[1]))
assert report.ok, report.text()
print(json.dumps({"phases": {"index": time.perf_counter() - t0},
                  "in_process": time.perf_counter() - t0, "embedded": report.vectors.embedded,
                  "parsed": report.files.parsed, "backend": report.vectors.backend}))
"""


if __name__ == "__main__":
    main()
