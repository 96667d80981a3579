"""The index graph on Celery against in-process, on one machine (issue #42, point 3): the same
repository, the same store on S3 (a local moto server), indexed

- in-process: `dagster asset materialize` of the snapshot, each shard (one after another,
  as `semcode index` would do them in one step) and the vectors, with the shipped definitions;
- on Celery with 1, 2 and 3 workers (tests/celery_cluster.py: redis-server, each worker with
  its own HOME, TMPDIR, clone and pid namespace): the snapshot, every shard's run at once,
  then the vectors with their checks, as a backfill with SEMCODE_SHARD_RUNS=each launches them.

and, for reference, `semcode index` (one run, every step in its process). For each: the wall
of each phase, the time the steps themselves took (STEP_START to
STEP_SUCCESS, from the runs' events), the rest as the engine's overhead per step, and what
crossed the broker (redis-server's own byte counters). Usage:

    python bench/cluster.py [--corpus flask==3.0.3] [--shards 6] [--workers 0,1,2,3]
    SEMCODE_MODEL=static python bench/cluster.py --repo bench/out/corpora/linux-6.1-drivers-scale \
        --shards 8 --workers 3 --local-store   # the Linux drivers/ tree (bench/scale.py makes it)

``--workers``: 0 is the per-shard runs in-process; `semcode index` always runs first. Each
has an S3 server of its own (moto holds its stores in memory).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import pypi_sdist_repo  # noqa: E402
from tests.dagster_cli import materialize, wait  # noqa: E402
from tests.s3_server import S3Server  # noqa: E402


def step_seconds(instance_home: str) -> tuple[float, int]:
    """The steps' own time (STEP_START to STEP_SUCCESS) over every run, and their count."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(instance_home) as instance:
        kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
        total, steps = 0.0, 0
        for run in instance.get_runs():
            started = {}
            for entry in instance.all_logs(run.run_id, of_type=kinds):
                if entry.dagster_event_type == DagsterEventType.STEP_START:
                    started[entry.step_key] = entry.timestamp
                elif entry.step_key in started:
                    total += entry.timestamp - started[entry.step_key]
                    steps += 1
        return total, steps


def broker_bytes(port: int) -> int:
    """Bytes redis-server received and sent so far."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"INFO stats\r\n")
        data = b""
        while b"total_net_output_bytes" not in data or not data.endswith(b"\r\n"):
            data += sock.recv(65536)
    stats = dict(line.split(":", 1) for line in data.decode().splitlines() if ":" in line)
    return int(stats["total_net_input_bytes"]) + int(stats["total_net_output_bytes"])


def store_env(s3: S3Server | None, folder: Path) -> dict:
    """The store's settings: on the S3 server, or (``s3`` None) a folder every process reads,
    as a shared filesystem would be."""
    if s3 is None:
        return {"SEMCODE_STORE": str(folder / "store.lancedb")}
    return {**s3.env, "SEMCODE_STORE": s3.uri(f"bench-{folder.name}")}


def semcode_index(repo: Path, shards: int, s3: S3Server | None, folder: Path) -> dict:
    """`semcode index` of ``repo`` on a fresh store, one process."""
    folder.mkdir(parents=True)
    env = {**os.environ, **store_env(s3, folder),
           "SEMCODE_SHARDS": str(shards), "DAGSTER_HOME": str(folder)}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "semcode", "index", str(repo)], env=env,
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    return {"workers": "semcode index", "wall_s": round(time.perf_counter() - started, 2)}


def one(repo: Path, shards: int, workers: int, s3: S3Server | None, folder: Path) -> dict:
    """One full index on a fresh store: in-process (``workers`` 0) or on that many workers."""
    from tests.celery_cluster import CeleryCluster

    instance = folder / "instance"
    instance.mkdir(parents=True)
    env = {**os.environ, **store_env(s3, folder), "DAGSTER_HOME": str(instance),
           "SEMCODE_SHARDS": str(shards),
           "SEMCODE_SHARD_RUNS": "each",
           # the model's exported graph and derived tiers, as a worker's image would carry them
           "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))}
    cluster = CeleryCluster(folder / "cluster", env, workers, checkout=repo) if workers \
        else None
    try:
        env = {**(cluster.env if cluster else env), "SEMCODE_REPO": str(repo)}
        module = "deploy.celery.definitions" if cluster else "semcode_dagster.definitions"
        wire = broker_bytes(cluster.redis.port) if cluster else 0
        phases = {}
        started = time.perf_counter()
        wait([materialize(env, module, "repo_snapshot")])
        phases["snapshot"] = time.perf_counter() - started
        names = [f"shard-{k:02d}" for k in range(shards)]
        if cluster:  # every shard's run at once, as a backfill launches them
            wait([materialize(env, module, "code_chunks", name) for name in names])
        else:  # one after another: one machine's process pool is inside each step
            for name in names:
                wait([materialize(env, module, "code_chunks", name)])
        phases["shards"] = time.perf_counter() - started - phases["snapshot"]
        wait([materialize(env, module, "code_vectors")])
        wall = time.perf_counter() - started
        phases["vectors and checks"] = wall - phases["snapshot"] - phases["shards"]
        steps, count = step_seconds(str(instance))
        return {"workers": workers or "in-process", "wall_s": round(wall, 2),
                **{f"{k}_s": round(v, 2) for k, v in phases.items()},
                "steps": count, "steps_s": round(steps, 2),
                "broker_bytes": (broker_bytes(cluster.redis.port) - wire) if cluster else 0}
    finally:
        if cluster:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="flask==3.0.3")
    parser.add_argument("--repo", type=Path, help="a git checkout to index instead of --corpus")
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--workers", default="0,1,2,3")
    parser.add_argument("--local-store", action="store_true",
                        help="the store in a local folder all workers read, instead of on S3 "
                             "(moto, in Python, is the bottleneck at the drivers/ size)")
    args = parser.parse_args()
    repo = args.repo.resolve() if args.repo else pypi_sdist_repo(args.corpus)
    work = Path(tempfile.mkdtemp(prefix="semcode-cluster-bench-"))
    try:
        for workers in [None] + [int(n) for n in args.workers.split(",")]:
            # a server of its own each time: moto keeps every store in memory
            s3 = None if args.local_store else S3Server()
            try:
                print(json.dumps(
                    semcode_index(repo, args.shards, s3, work / "index") if workers is None
                    else one(repo, args.shards, workers, s3, work / f"w{workers}")), flush=True)
            finally:
                if s3:
                    s3.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
