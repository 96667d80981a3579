"""The fixed cost of `semcode index` on a small repository: the first, full index, then a run
with nothing to do and a one-file edit, each as a fresh process (what a commit hook or an
editor save pays), every one itemized by phase.

Each run is `semcode index` through a small driver that times its phases: the interpreter's
start, importing the engine, deciding whether there is work, importing Dagster, and inside the
run the snapshot, parsing, embedding (model load included), the rest of the vectors step
(writes, search indexes), and what remains (Dagster's own work and the checks). Usage:

    python bench/fixed_cost.py [--corpus requests==2.32.3] [--repeat 5] [--backend auto]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import pypi_sdist_repo  # noqa: E402

DRIVER = r"""
import json, os, sys, time
t0 = time.perf_counter()
from semcode.config import Settings
from semcode.index import ahead
from semcode.index.pipeline import nothing_to_do
t1 = time.perf_counter()
ahead.FORCED = {"1": True, "0": False}.get(os.environ.get("BENCH_EMBED_AHEAD", ""))
from semcode.embed import backends
backends.PINNING = {"1": True, "0": False}.get(os.environ.get("BENCH_OV_PINNING", ""))
settings = Settings.from_env(repo=sys.argv[1])
report = nothing_to_do(settings)
t2 = time.perf_counter()
phases = {"import engine": t1 - t0, "nothing to do?": t2 - t1}
if report is None:  # as `semcode index` does: the store and its lease, then Dagster
    from semcode.store import lease
    from semcode.store.tables import Store
    lease.prepare(Store(settings.store_uri))
    from semcode_dagster.assets.local_run import run_index_job
    t3 = time.perf_counter()
    report = run_index_job(settings)
    t4 = time.perf_counter()
    phases["import dagster"] = t3 - t2
    phases.update(report.seconds)
    phases["dagster + checks"] = (t4 - t3) - sum(report.seconds.values())
assert report.ok, report.text()
print(json.dumps({"phases": phases, "in_process": time.perf_counter() - t0,
                  "embedded": report.vectors.embedded, "parsed": report.files.parsed,
                  "embedded_ahead": report.vectors.embedded_ahead,
                  "backend": report.vectors.backend}))
"""


def run(repo: Path, env: dict, cwd: Path = ROOT, driver: str = DRIVER) -> dict:
    """One `semcode index` of ``repo`` as a fresh process running ``driver`` in the checkout
    ``cwd`` (whose code it imports): its wall, and the phases the driver reports."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", driver, str(repo)], capture_output=True,
                          text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    out["phases"] = {"interpreter start and exit": wall - out.pop("in_process"), **out["phases"]}
    return out


def summarize(label: str, runs: list[dict]) -> dict:
    wall = statistics.median(r["wall"] for r in runs)
    phases = {k: statistics.median(r["phases"].get(k, 0.0) for r in runs)
              for k in runs[0]["phases"]}
    return {"case": label, "wall_s": round(wall, 2),
            "runs": [round(r["wall"], 2) for r in runs],
            "embedded": runs[0]["embedded"], "parsed": runs[0]["parsed"],
            "backend": runs[0]["backend"],
            "phases": {k: f"{v:.2f}s ({100 * v / wall:.0f}%)" for k, v in phases.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="requests==2.32.3")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    source = pypi_sdist_repo(args.corpus)
    repo = source.parent / f"{source.name}-fixed-cost"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(source, repo)
    env = {**os.environ, "SEMCODE_BACKEND": args.backend,
           "SEMCODE_STORE": str(repo.parent / f"{repo.name}.lancedb")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: imports read cached bytecode
    shutil.rmtree(env["SEMCODE_STORE"], ignore_errors=True)
    files = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True,
                           text=True, check=True).stdout.count("\n")
    first = run(repo, env)  # the full index (and, once per machine, the graph export)
    target = next(p for p in sorted(repo.rglob("*.py")) if "test" not in p.name)
    noop, edit = [], []
    for n in range(args.repeat):
        noop.append(run(repo, env))
        target.write_text(target.read_text() + f"\n\ndef fixed_cost_probe_{n}(value):\n"
                          f"    return value * {n} + len(str(value))\n")
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench", "-c",
                        "user.email=bench@localhost", "commit", "-qam", f"edit {n}"],
                       check=True)
        edit.append(run(repo, env))
    report = {"corpus": args.corpus, "files": files, "full_index_s": round(first["wall"], 1),
              "cases": [summarize("full index (once)", [first]), summarize("no-op", noop),
                        summarize("one-file edit", edit)]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
