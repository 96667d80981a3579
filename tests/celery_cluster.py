"""A Celery cluster on this host for tests of the distributed engine: Debian's redis-server
as the broker and several Celery workers (dagster-celery's app), each as its own "machine" —
its own HOME, TMPDIR and working folder, and where the kernel lets us, its own pid namespace
(``unshare``). Every process is started here and stopped here, by its process id."""

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from deploy.celery.config import worker_module
from tests.s3_server import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def _own_pid_namespace() -> list[str]:
    """``unshare`` before a worker's command where this user may make a pid namespace; the
    worker is then pid 1 there, and everything it started dies with it."""
    if not shutil.which("unshare"):
        return []
    probe = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", "true"],
                           capture_output=True)
    return ["unshare", "--pid", "--fork", "--kill-child"] if probe.returncode == 0 else []


class Redis:
    """redis-server on a free port, with nothing kept on disk: stopped, it forgets; started
    again, it is an empty broker at the same address."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Worker:
    """One Celery worker, one task at a time (the solo pool: the task runs in the worker's
    own process, so killing the worker kills the task)."""

    def __init__(self, name: str, folder: Path, env: dict[str, str],
                 checkout: Path | None = None) -> None:
        self.name = name
        self.folder = folder
        for part in ("home", "tmp", "work"):
            (folder / part).mkdir(parents=True, exist_ok=True)
        if checkout is not None:  # the machine's own clone of the repository it indexes
            subprocess.run(["git", "clone", "--quiet", str(checkout), str(folder / "repo")],
                           check=True)
            env = {**env, "SEMCODE_REPO": str(folder / "repo")}
        # dagster-celery's app reads its settings from a module of this name on the path
        (folder / "dagster_celery_config.py").write_text(worker_module(env))
        self.log = folder / "worker.log"
        self._log = open(self.log, "w")  # noqa: SIM115 - the worker writes it until killed
        own = {**env, "HOME": str(folder / "home"), "TMPDIR": str(folder / "tmp"),
               "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
        self.proc = subprocess.Popen(
            [*_own_pid_namespace(), sys.executable, "-m", "celery", "-A", "dagster_celery.app",
             "worker", "--pool", "solo", "--prefetch-multiplier", "1", "-Q", "dagster",
             "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=folder / "work", env=own, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def ready(self) -> bool:
        return "ready." in self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as a machine is lost: with its own pid namespace, all it started dies."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()


class CeleryCluster:
    """``env``: what every worker is started with (the deployment's settings: the store,
    the shard count); ``checkout``: a repository each worker clones into its own folder and
    indexes from (``SEMCODE_REPO``), as a machine of its own would."""

    def __init__(self, folder: Path, env: dict[str, str], workers: int = 3,
                 checkout: Path | None = None) -> None:
        self.redis = Redis(folder / "redis")
        self.env = {**env, "SEMCODE_CELERY_BROKER": f"{self.redis.url}/0",
                    "SEMCODE_CELERY_BACKEND": f"{self.redis.url}/1"}
        self.workers = [Worker(f"worker{k}", folder / f"worker{k}", self.env, checkout)
                        for k in range(1, workers + 1)]
        deadline = time.monotonic() + 120
        while not all(w.ready() for w in self.workers):
            if time.monotonic() > deadline or any(w.proc.poll() is not None
                                                  for w in self.workers):
                self.stop()
                raise RuntimeError("a celery worker did not start:\n" + "\n".join(
                    w.log.read_text(errors="replace")[-1500:] for w in self.workers))
            time.sleep(0.2)

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.redis.stop()
