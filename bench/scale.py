"""The size that broke the old design: Linux 6.1 ``drivers/`` (31,595 files), end to end.

Indexes the corpus from scratch with the static tier, then commits a one-file change and
indexes again, then times warm searches. Each index runs in a child process (``--child``)
whose process tree is sampled for peak RSS per process; the child records when each
progress stage began and ended. Prints one JSON object: files, chunks, skips by reason,
wall time per phase, peak RSS per process, the one-file push and its ratio to the full
index with its Dagster steps and the search indexes' sub-steps itemized, search p50/p95 for
queries of frequent words and of rare identifiers, and the store's size on disk. Usage:

    python bench/scale.py [--model static] [--shards 8] [--rounds 3]
    python bench/scale.py --push-only     # one more one-file push on the last full run's store
    python bench/scale.py --transformer-sample 2000   # the default model's rate, extrapolated
"""

import argparse
import itertools
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

# Queries as a driver developer asks them, of two kinds (#28): most words of the first are in a
# large share of this tree ("device", "register", "buffer": long posting lists for the keyword
# side); the second names identifiers and rare words.
FREQUENT = ["device register buffer", "interrupt handler for the device",
            "read a register value", "usb device probe", "pci device driver init",
            "free the buffer", "power management of the device", "dma buffer allocation",
            "clock enable for the device", "write data to the buffer"]
RARE = ["usb_submit_urb", "spin_lock_irqsave", "regmap_update_bits", "kref_put release",
        "netif_napi_add poll budget", "pci_enable_msix_range", "mutex_lock_interruptible",
        "debugfs create file for statistics", "crc32 checksum of packet",
        "v4l2 ioctl query capabilities"]
FULL_FIGURES = CACHE.parent / "scale-full.json"  # the last full index, for --push-only


def index_child(repo: str, store: str, model: str, shards: int) -> None:
    """In the child: one ``semcode index`` run, with each stage's first and last report,
    each sub-step of the search indexes, and each Dagster step's time from the run's log."""
    import dagster as dg

    from semcode import progress
    from semcode.config import Settings
    from semcode_dagster.assets.local_run import run_index_job

    stages: dict[str, list[float]] = {}
    index_steps: dict[int, float] = {}

    def seen(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        stages.setdefault(stage, [now, now])[1] = now
        if stage == "index":
            index_steps[done] = now

    instance = dg.DagsterInstance.ephemeral()
    began, started = time.time(), time.perf_counter()
    with progress.watch(seen):
        report = run_index_job(Settings(repo=repo, store=store, model=model, shards=shards),
                               instance=instance)
    wall, ended = time.perf_counter() - started, time.time()
    phases = {s: round(t[1] - t[0], 2) for s, t in stages.items()}
    # refresh's four sub-steps: lookups and the full-text index, chunks' compaction, the
    # vector index, vectors' compaction
    marks = [index_steps[k] for k in sorted(index_steps)]
    phases["index_substeps"] = [round(b - a, 2) for a, b in itertools.pairwise(marks)]
    print(json.dumps({"wall_s": round(wall, 2), "phases_s": phases,
                      "steps_s": step_times(instance, began, ended),
                      "report": json.loads(report.to_json())}))


def step_times(instance, began: float, ended: float) -> dict:
    """Seconds per Dagster step of the instance's one run (a partitioned step summed over
    its partitions, with their count), the time before its first step (building the job,
    starting the run) and after its last event; ``began``/``ended`` by ``time.time()``."""
    import dagster as dg

    run = instance.get_runs()[0]
    begun: dict[str, float] = {}
    spent: dict[str, list[float]] = {}
    last = began
    for entry in instance.all_logs(run.run_id):
        event, last = entry.dagster_event, max(last, entry.timestamp)
        if event is None or not entry.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            begun[entry.step_key] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS,
                                  dg.DagsterEventType.STEP_FAILURE):
            name = entry.step_key.split("[")[0]
            spent.setdefault(name, []).append(entry.timestamp - begun[entry.step_key])
    return {"before_first_step": round(min(begun.values(), default=began) - began, 2),
            "after_last_event": round(ended - last, 2),
            "steps": {name: {"s": round(sum(t), 2), "count": len(t)}
                      for name, t in spent.items()}}


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
    """Warm hybrid search p50/p95 for each query set, in one process (one warm-up each), as
    a long-lived server answers: after the index's row map is read (``semcode/search/row_map.py``,
    started by a process's second search; how long it took is reported)."""
    from semcode.search.searcher import Searcher

    searcher = Searcher(str(store), model=model, device="cpu")
    figures = {}
    for name, queries in (("frequent", FREQUENT), ("rare", RARE)):
        searcher.search(queries[0], k=10)  # warm: model, tables, indexes
        if "row_map_s" not in figures:
            started = time.perf_counter()
            searcher.search(queries[1], k=10)
            searcher.index.wait_for_map()
            figures["row_map_s"] = round(time.perf_counter() - started, 2)
        times = []
        for _ in range(rounds):
            for q in queries:
                started = time.perf_counter()
                searcher.search(q, k=10)
                times.append((time.perf_counter() - started) * 1000)
        times.sort()
        figures[name] = {"queries": len(times), "p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(times[int(len(times) * 0.95)], 1)}
    return figures


def transformer_rate(store: Path, sample: int) -> dict:
    """The default model's chunks/s on a random sample of this corpus's chunk texts."""
    from semcode.embed.embedding import Embedder, embedding_text
    from semcode.store.tables import Store

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
    parser.add_argument("--push-only", action="store_true",
                        help="commit another one-file change to the last full run's clone and "
                             "time its index and the searches (its ratio to that full run)")
    args = parser.parse_args()

    source = linux_drivers_repo()
    store = CACHE.parent / f"linux-drivers-{args.model}.lancedb"
    if args.transformer_sample:
        print(json.dumps(transformer_rate(store, args.transformer_sample), indent=2))
        return
    repo = source.parent / f"{source.name}-scale"
    if args.push_only:  # on the last full run's clone and store
        figures = json.loads(FULL_FIGURES.read_text())
    else:
        shutil.rmtree(repo, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", str(source), str(repo)], check=True)
        shutil.rmtree(store, ignore_errors=True)
        full = run_index(repo, store, args.model, args.shards)
        report = full["report"]
        figures = {
            "corpus": "linux-6.1 drivers/", "model": args.model, "shards": args.shards,
            "cpus": os.cpu_count(), "files": report["files"]["seen"],
            "files_indexed": report["files"]["parsed"], "skipped": report["files"]["skipped"],
            "chunks": report["chunks"]["total"], "vectors": report["vectors"]["total"],
            "embedded": report["vectors"]["embedded"], "checks": report["checks"],
            "full_wall_s": full["wall_s"], "full_phases_s": full["phases_s"],
            "full_steps_s": full["steps_s"], "peak_rss_mb": full["peak_rss_mb"],
        }
        FULL_FIGURES.write_text(json.dumps(figures, indent=2))

    edited = repo / "drivers" / "base" / "core.c"
    text = edited.read_text()
    name = f"bench_one_file_push_{text.count('semcode bench: a one-file push')}"
    edited.write_text(text + "\n/* semcode bench: a one-file push */\n"
                      f"static int {name}(void)\n{{\n\treturn 42;\n}}\n")
    git(repo, "commit", "-qam", "one-file push")
    push = run_index(repo, store, args.model, args.shards)
    figures |= {
        "push_wall_s": push["wall_s"], "push_phases_s": push["phases_s"],
        "push_steps_s": push["steps_s"], "push_checks": push["report"]["checks"],
        "push_files_parsed": push["report"]["files"]["parsed"],
        "push_embedded": push["report"]["vectors"]["embedded"],
        "push_ratio": round(push["wall_s"] / figures["full_wall_s"], 4),
        "push_peak_rss_mb": push["peak_rss_mb"],
        "search": search_latency(store, args.model, args.rounds),
        "store_mb": round(sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
                          / 2**20, 1),
    }
    from semcode.store.tables import Store

    figures["skip_reasons"] = Store(str(store)).last_snapshot().skip_reasons  # type: ignore
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
