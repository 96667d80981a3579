"""Run `semcode index` in this process and SIGKILL it at a chosen point (for test_kill.py).

    python tests/kill_run.py REPO STORE STAGE DONE DELAY

When the engine reports ``STAGE`` at ``DONE`` (parse, embed, index, compact, snapshot),
a timer kills this process ``DELAY`` seconds later — mid-operation, as a crash would.
"""

import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from semcode import progress  # noqa: E402
from semcode.config import Settings  # noqa: E402
from semcode_dagster.assets.local_run import run_index_job  # noqa: E402


def main() -> None:
    repo, store, stage, done, delay = sys.argv[1:6]
    armed = threading.Event()

    def reporter(s: str, d: int, total: int) -> None:
        if s == stage and d >= int(done) and not armed.is_set():
            armed.set()
            threading.Timer(float(delay), os.kill, (os.getpid(), signal.SIGKILL)).start()

    with progress.watch(reporter):
        report = run_index_job(Settings(repo=repo, store=store))
    print(report.to_json())
    sys.exit(3)  # the kill point was never reached


if __name__ == "__main__":
    main()
