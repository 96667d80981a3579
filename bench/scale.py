"""The size that broke the old design: Linux 6.1 ``drivers/`` (31,595 files), end to end.

Indexes the corpus from scratch with the static tier, then commits a one-file change and
indexes again, then times warm searches. Each index runs in a child process (``--child``)
whose process tree is sampled for peak RSS per process; the child records when each
progress stage began and ended. Prints one JSON object: files, chunks, skips by reason,
wall time per phase, peak RSS per process, the one-file push and its ratio to the full
index, search p50/p95, and the store's size on disk. Usage:

    python bench/scale.py [--model static] [--shards 8] [--queries 40]
    python bench/scale.py --transformer-sample 2000   # the default model's rate, extrapolated
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import CACHE, linux_drivers_repo  # noqa: E402

QUERIES = [
    "allocate DMA coherent buffer for ring descriptors", "usb_submit_urb",
    "reset the PHY and wait for link up", "i2c_transfer retry on arbitration lost",
    "register a platform driver probe and remove", "spin_lock_irqsave", "kref_put release",
    "parse device tree property for clock frequency", "interrupt handler acknowledges status",
    "firmware request and load into device memory", "netif_napi_add poll budget",
    "read temperature sensor over SMBus", "pci_enable_msix_range", "ioremap of BAR registers",
    "power management suspend resume callbacks", "scatter gather list map for DMA",
    "ethtool get link settings", "gpio direction output set value", "regmap_update_bits",
    "queue work on workqueue from interrupt", "timeout waiting for hardware ready bit",
    "crc32 checksum of packet", "debugfs create file for statistics", "mutex_lock_interruptible",
    "hid report descriptor parsing", "sysfs attribute show store", "tty port open close",
    "v4l2 ioctl query capabilities", "drm atomic commit plane update", "block request queue",
]


def index_child(repo: str, store: str, model: str, shards: int) -> None:
    """In the child: one ``semcode index`` run, with each stage's first and last report."""
    from semcode import progress
    from semcode.config import Settings
    from semcode_dagster.assets.local_run import run_index_job

    stages: dict[str, list[float]] = {}

    def seen(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        stages.setdefault(stage, [now, now])[1] = now

    started = time.perf_counter()
    with progress.watch(seen):
        report = run_index_job(Settings(repo=repo, store=store, model=model, shards=shards))
    wall = time.perf_counter() - started
    phases = {s: round(t[1] - t[0], 1) for s, t in stages.items()}
    print(json.dumps({"wall_s": round(wall, 1), "phases_s": phases,
                      "report": json.loads(report.to_json())}))


class RssSampler(threading.Thread):
    """Peak RSS of every process in a tree, by role (``main``, ``worker``), from /proc."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peaks, self.stop = root, {"main": 0, "worker": 0}, threading.Event()

    def tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in self.tree():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    rss = int(next(line for line in status.splitlines()
                                   if line.startswith("VmRSS")).split()[1]) // 1024
                except (OSError, StopIteration):
                    continue
                role = "main" if pid == self.root else "worker"
                self.peaks[role] = max(self.peaks[role], rss)
            time.sleep(0.5)


def run_index(repo: Path, store: Path, model: str, shards: int) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    child = subprocess.Popen([sys.executable, __file__, "--child", str(repo), str(store),
                              model, str(shards)], stdout=subprocess.PIPE, env=env, text=True)
    sampler = RssSampler(child.pid)
    sampler.start()
    out, _ = child.communicate()
    sampler.stop.set()
    if child.returncode:
        raise SystemExit(f"index run failed ({child.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = sampler.peaks
    return result


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench",
                    "-c", "user.email=bench@localhost", *args], check=True, capture_output=True)


def search_latency(store: Path, model: str, rounds: int) -> dict:
    from semcode.search import Searcher

    searcher = Searcher(str(store), model=model, device="cpu")
    searcher.search(QUERIES[0], k=10)  # warm: model, tables, indexes
    times = []
    for _ in range(rounds):
        for q in QUERIES:
            started = time.perf_counter()
            searcher.search(q, k=10)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"queries": len(times), "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95)], 1)}


def transformer_rate(store: Path, sample: int) -> dict:
    """The default model's chunks/s on a random sample of this corpus's chunk texts."""
    from semcode.embedding import Embedder, embedding_text
    from semcode.store import Store

    rows = Store(str(store)).scan("chunks", ["symbol", "text", "text_hash"])
    distinct = len(set(rows.column("text_hash").to_pylist()))
    picked = random.Random(0).sample(range(rows.num_rows), sample)
    texts = [embedding_text(rows.column("symbol")[i].as_py(), rows.column("text")[i].as_py())
             for i in picked]
    embedder = Embedder("all-MiniLM-L6-v2")
    embedder.encode(texts[:32])
    started = time.perf_counter()
    embedder.encode(texts)
    rate = sample / (time.perf_counter() - started)
    return {"sample": sample, "chunks_per_s": round(rate, 1), "distinct_texts": distinct,
            "full_embed_hours": round(distinct / rate / 3600, 2), "cpus": os.cpu_count()}


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        index_child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="static")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transformer-sample", type=int, default=0)
    args = parser.parse_args()

    source = linux_drivers_repo()
    store = CACHE.parent / f"linux-drivers-{args.model}.lancedb"
    if args.transformer_sample:
        print(json.dumps(transformer_rate(store, args.transformer_sample), indent=2))
        return
    repo = source.parent / f"{source.name}-scale"
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(source), str(repo)], check=True)
    shutil.rmtree(store, ignore_errors=True)

    full = run_index(repo, store, args.model, args.shards)
    edited = repo / "drivers" / "base" / "core.c"
    edited.write_text(edited.read_text() + "\n/* semcode bench: a one-file push */\n"
                      "static int bench_one_file_push(void)\n{\n\treturn 42;\n}\n")
    git(repo, "commit", "-qam", "one-file push")
    push = run_index(repo, store, args.model, args.shards)
    report = full["report"]
    figures = {
        "corpus": "linux-6.1 drivers/", "model": args.model, "shards": args.shards,
        "cpus": os.cpu_count(), "files": report["files"]["seen"],
        "files_indexed": report["files"]["parsed"], "skipped": report["files"]["skipped"],
        "chunks": report["chunks"]["total"], "vectors": report["vectors"]["total"],
        "embedded": report["vectors"]["embedded"], "checks": report["checks"],
        "full_wall_s": full["wall_s"], "full_phases_s": full["phases_s"],
        "peak_rss_mb": full["peak_rss_mb"],
        "push_wall_s": push["wall_s"], "push_phases_s": push["phases_s"],
        "push_checks": push["report"]["checks"],
        "push_ratio": round(push["wall_s"] / full["wall_s"], 4),
        "push_peak_rss_mb": push["peak_rss_mb"],
        "search": search_latency(store, args.model, args.rounds),
        "store_mb": round(sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
                          / 2**20, 1),
    }
    from semcode.store import Store

    figures["skip_reasons"] = Store(str(store)).last_snapshot().skip_reasons  # type: ignore
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
