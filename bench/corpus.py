"""Real corpora for the benchmarks: a pinned PyPI source distribution or npm package as a git
repository."""

import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE = Path(__file__).parent / "out" / "corpora"


def unpack_sdist(spec: str, into: Path) -> Path:
    """Download ``spec``'s source distribution and unpack it; returns its top folder."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--no-binary", ":all:", spec, "-d", str(into)], check=True)
    with tarfile.open(next(into.glob("*.tar.gz"))) as tar:
        tar.extractall(into, filter="data")
    return next(p for p in into.iterdir() if p.is_dir())


def pypi_sdist_repo(spec: str, subdir: str | None = None) -> Path:
    """``pygments==2.18.0`` → a one-commit git repository of its source (cached)."""
    return _as_repo(spec, spec.replace("==", "-"), unpack_sdist, subdir)


def unpack_npm(spec: str, into: Path) -> Path:
    """``ws@8.18.0``'s npm package, unpacked (``npm pack`` fetches it from the registry)."""
    subprocess.run(["npm", "pack", spec, "--silent"], cwd=into, check=True,
                   stdout=subprocess.DEVNULL)
    with tarfile.open(next(into.glob("*.tgz"))) as tar:
        tar.extractall(into, filter="data")
    return into


def npm_repo(spec: str, subdir: str | None = None) -> Path:
    """``ws@8.18.0`` → a one-commit git repository of its npm package (cached)."""
    return _as_repo(spec, "npm-" + spec.replace("@", "-"), unpack_npm, subdir)


def _as_repo(spec: str, name: str, unpack: Callable[[str, Path], Path],
             subdir: str | None) -> Path:
    """What ``unpack`` gives (its ``subdir``) as a one-commit repository ``name``, cached."""
    repo = CACHE / name
    if (repo / ".git").is_dir():
        return repo
    with tempfile.TemporaryDirectory() as tmp:
        top = unpack(spec, Path(tmp))
        shutil.copytree(top / subdir if subdir else top, repo)
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit",
                    "-q", "-m", f"{spec} source"], check=True)
    return repo


def linux_drivers_repo() -> Path:
    """Linux 6.1's ``drivers/`` tree (31,595 files, 876 MB) as a one-commit git repository.

    From Debian's ``linux-source-6.1`` package: ``apt-get download``, ``dpkg-deb -x``, then only
    ``drivers/`` out of the tarball inside. Cached under ``bench/out/corpora``.
    """
    repo = CACHE / "linux-6.1-drivers"
    if (repo / ".git").is_dir():
        return repo
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(["apt-get", "download", "linux-source-6.1"], cwd=work, check=True)
        subprocess.run(["dpkg-deb", "-x", str(next(work.glob("linux-source-6.1_*.deb"))),
                        str(work / "pkg")], check=True)
        tarball = next((work / "pkg").rglob("linux-source-6.1.tar.*"))
        subprocess.run(["tar", "-xf", str(tarball), "-C", str(work), "linux-source-6.1/drivers"],
                       check=True)
        repo.mkdir(parents=True)
        shutil.move(str(work / "linux-source-6.1" / "drivers"), str(repo / "drivers"))
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit",
                    "-q", "-m", "linux 6.1 drivers/"], check=True)
    return repo
