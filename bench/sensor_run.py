"""Commit to checks passed through the push sensor, under `dagster dev` (webserver, daemon,
run queue and all), against `semcode index` on the same one-file commit (#26).

A clone of this repository is indexed by the sensor's first run; then one file is changed
and committed, and the clock runs until the run the sensor launched for it has succeeded
with every blocking check passed. The same commit is then indexed by `semcode index` on a
second clone that was at the same state. Prints one JSON object: commit to run start (the
sensor's interval and the run queue), the run's own wall, commit to checks passed, and the
CLI's time. Usage:

    python bench/sensor_run.py [--rounds 3]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench",
                    "-c", "user.email=bench@localhost", *args], check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def edit(repo: Path, n: int) -> None:
    with (repo / "semcode" / "ranking.py").open("a") as f:
        f.write(f"\n\ndef bench_sensor_edit_{n}():\n    return {n}\n")
    git(repo, "commit", "-qam", f"bench edit {n}")


def finished_runs(home: Path) -> list:
    """The push sensor's runs at ``home`` that have ended, oldest first (a fresh instance
    object each time: it reads the storage the daemon writes)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records(filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
            tags={"dagster/sensor_name": "git_push_sensor"}))
        out = []
        for record in reversed(records):
            run = record.dagster_run
            stats = instance.get_run_stats(run.run_id)
            checks = [r.event_log_entry.dagster_event.event_specific_data.passed
                      for r in instance.get_records_for_run(
                          run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records]
            out.append({"run_id": run.run_id, "status": run.status.value,
                        "created": record.create_timestamp.timestamp(),
                        **{stage: _when(instance, run.run_id, kind) for stage, kind in (
                            ("dequeued", dg.DagsterEventType.RUN_DEQUEUED),
                            ("starting", dg.DagsterEventType.RUN_STARTING))},
                        "start": stats.start_time, "end": stats.end_time,
                        "checks_passed": bool(checks) and all(checks)})
        return out


def _when(instance, run_id: str, kind) -> float | None:
    """When the run's first event of ``kind`` was logged."""
    found = instance.get_records_for_run(run_id, of_type=kind, limit=1).records
    return found[0].event_log_entry.timestamp if found else None


def wait_for_run(home: Path, seen: int, timeout: float = 900) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = finished_runs(home)
        if len(runs) > seen:
            return runs[seen]
        time.sleep(0.5)
    raise SystemExit("no run ended in time: is the sensor on?")


def idle_cpu(pid: int, seconds: float) -> float:
    """The CPU time the process ``pid`` and its children spent over ``seconds`` of waiting,
    as a share of one core."""
    import psutil

    def spent() -> float:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return total

    before = spent()
    time.sleep(seconds)
    return round((spent() - before) / seconds, 3)


def _stages(run: dict, committed: float) -> dict:
    """Commit to run start, by stage: the sensor requesting the run (its interval, its
    evaluation), the run queue, the launcher starting a run worker, the worker loading the
    code before its first step."""
    marks = [("sensor_s", run["created"]), ("queue_s", run["dequeued"]),
             ("launch_s", run["starting"]), ("worker_start_s", run["start"])]
    stages, last = {}, committed
    for name, at in marks:
        if at is not None:
            stages[name] = round(at - last, 2)
            last = at
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=0,
                        help="then this many seconds with nothing to do: the CPU that "
                             "dagster dev (webserver, daemon, code server) spends on them")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="semcode-sensor-bench-"))
    home, sensed, cli = work / "home", work / "sensed", work / "cli"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    for repo in (sensed, cli):
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    env = {**os.environ, "DAGSTER_HOME": str(home), "SEMCODE_REPO": str(sensed),
           "HF_HUB_OFFLINE": "1"}
    alone = {k: v for k, v in env.items() if k != "DAGSTER_HOME"}  # the CLI as a user runs it
    port = free_port()
    log = open(work / "dagster-dev.log", "w")
    dev = subprocess.Popen([str(BIN / "dagster"), "dev", "-m", "semcode_dagster.definitions",
                            "-h", "127.0.0.1", "-p", str(port)], cwd=work, env=env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    figures: dict = {"rounds": []}
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        started = time.perf_counter()
        subprocess.run([str(BIN / "semcode"), "index", str(cli)], check=True, env=alone,
                       capture_output=True)
        figures["semcode_index_full_s"] = round(time.perf_counter() - started, 2)
        subprocess.run([str(BIN / "dagster"), "sensor", "start", "git_push_sensor", "-m",
                        "semcode_dagster.definitions"], check=True, env=env, cwd=work,
                       capture_output=True)
        first = wait_for_run(home, 0)  # the sensor's first run: the whole index
        figures["first_run_s"] = round(first["end"] - first["start"], 2)
        for n in range(args.rounds):
            done = len(finished_runs(home))
            edit(sensed, n)
            committed = time.time()
            run = wait_for_run(home, done)
            edit(cli, n)
            started = time.perf_counter()
            subprocess.run([str(BIN / "semcode"), "index", str(cli)], check=True, env=alone,
                           capture_output=True)
            figures["rounds"].append({
                "status": run["status"], "checks_passed": run["checks_passed"],
                "commit_to_run_start_s": round(run["start"] - committed, 2),
                **_stages(run, committed),
                "run_wall_s": round(run["end"] - run["start"], 2),
                "commit_to_checks_passed_s": round(run["end"] - committed, 2),
                "semcode_index_s": round(time.perf_counter() - started, 2)})
        figures["runs"] = [{"status": r["status"], "wall_s": round(r["end"] - r["start"], 2)}
                           for r in finished_runs(home)]
        if args.idle:
            figures["idle_cpu_share"] = idle_cpu(dev.pid, args.idle)
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(dev.pid, sig)
                dev.wait(timeout=20)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()
    print(json.dumps(figures, indent=2))
    if os.environ.get("KEEP"):
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
