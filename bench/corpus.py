"""Real corpora for the benchmarks: a pinned PyPI source distribution as a git repository."""

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CACHE = Path(__file__).parent / "out" / "corpora"


def pypi_sdist_repo(spec: str, subdir: str | None = None) -> Path:
    """``pygments==2.18.0`` → a one-commit git repository of its source (cached)."""
    name = spec.replace("==", "-")
    repo = CACHE / name
    if (repo / ".git").is_dir():
        return repo
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", spec, "-d", tmp], check=True)
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        top = next(p for p in Path(tmp).iterdir() if p.is_dir())
        source = top / subdir if subdir else top
        shutil.copytree(source, repo)
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit",
                    "-q", "-m", f"{spec} source"], check=True)
    return repo
