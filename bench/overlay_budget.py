"""One large untracked file against a search's budget (issue #36, point 5).

The fixture repository is indexed; then an untracked file of small functions (~985 KB,
8,825 functions: a generated table) is written, and ``semcode search`` runs as a person
would, one process per search. Prints, per search, its wall time and how far the overlay
got (chunks embedded of the file's total), then one JSON line.

    python bench/overlay_budget.py               # 5 searches
    python bench/overlay_budget.py --searches 3 --bytes 500000
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEMCODE = [sys.executable, "-m", "semcode"]


def generated(size: int) -> tuple[str, int]:
    parts, total, i = [], 0, 0
    while total < size:
        part = (f'def scale_reading_{i}(value, factor={i}):\n    """Scale sensor reading '
                f'{i}."""\n    return value * factor + {i % 7}\n\n')
        parts.append(part)
        total += len(part)
        i += 1
    return "".join(parts), i


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=5)
    parser.add_argument("--bytes", type=int, default=985_000)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory(prefix="semcode-budget-") as scratch:
        repo = Path(scratch) / "repo"
        shutil.copytree(ROOT / "tests" / "fixtures" / "sample_repo", repo)
        for command in (["init", "-q", "-b", "main"], ["add", "-A"],
                        ["-c", "user.email=b@example.com", "-c", "user.name=b", "commit",
                         "-qm", "fixture"]):
            subprocess.run(["git", "-C", str(repo), *command], check=True)
        subprocess.run([*SEMCODE, "index", str(repo)], check=True, env=env,
                       capture_output=True)
        text, functions = generated(args.bytes)
        (repo / "generated_readings.py").write_text(text)
        rounds = []
        for n in range(args.searches):
            started = time.perf_counter()
            subprocess.run([*SEMCODE, "search", "add an item to the cart", "--repo", str(repo),
                            "--json"], check=True, env=env, capture_output=True)
            wall = time.perf_counter() - started
            status = json.loads(subprocess.run(
                [*SEMCODE, "status", "--repo", str(repo), "--json"], env=env,
                capture_output=True, text=True).stdout)
            worktree = status["worktree"]
            rounds.append({"search": n + 1, "wall_s": round(wall, 2),
                           "state": worktree["state"], "pending": worktree["pending"]})
            print(f"search {n + 1}: {wall:.2f} s, overlay {worktree['state']}, "
                  f"{worktree['pending']} file(s) pending", file=sys.stderr)
    print(json.dumps({"bytes": len(text), "functions": functions, "rounds": rounds}))


if __name__ == "__main__":
    main()
