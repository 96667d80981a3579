"""What the working-tree overlay costs a search (issue #24): the freshness check when nothing
changed, the first search after a one-file edit, and the check once the overlay covers it.

For each corpus: index it if its store does not hold HEAD, then in one process (as a
long-lived MCP server would, and as each CLI search does after its first call) time
``Overlay.view()`` on a clean tree, warm searches, one file edited (a function appended), the
first search after the edit (it chunks that file and embeds what the index lacks), the check
again with the edit covered, and the edit undone. Prints one JSON object per corpus.

    python bench/overlay.py                      # requests (default model), 1,000 files and
                                                 # Linux drivers/ (static tier)
    python bench/overlay.py --only requests
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import CACHE, linux_drivers_repo, pypi_sdist_repo  # noqa: E402

ROUNDS = 30
QUERIES = ["read the response body in chunks", "parse a header value", "retry on timeout",
           "register a device driver", "free the buffer on error"]
C_EDIT = "\n\nstatic int semcode_overlay_probe(int value)\n{\n\treturn value * 3 + 1;\n}\n"
PY_EDIT = "\n\ndef semcode_overlay_probe(value):\n    return value * 3 + 1\n"


def thousand_files() -> Path:
    """The first 1,000 files of Linux ``drivers/`` (by path) as a one-commit repository."""
    repo = CACHE / "linux-6.1-drivers-1000"
    if (repo / ".git").is_dir():
        return repo
    source = linux_drivers_repo()
    paths = subprocess.run(["git", "-C", str(source), "ls-files"], check=True,
                           capture_output=True, text=True).stdout.split("\n")[:1000]
    for path in paths:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / path, repo / path)
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                    "commit", "-q", "-m", "1,000 files of drivers/"], check=True)
    return repo


CORPORA = {
    "requests": (lambda: pypi_sdist_repo("requests==2.32.3"), "all-MiniLM-L6-v2",
                 "src/requests/utils.py", PY_EDIT),
    "drivers-1000": (thousand_files, "static", "drivers/acpi/acpi_video.c", C_EDIT),
    "drivers": (lambda: CACHE / "linux-6.1-drivers-scale", "static",
                "drivers/base/core.c", C_EDIT),
}


def ensure_index(repo: Path, store: Path, model: str) -> None:
    from semcode.config import Settings
    from semcode.index.pipeline import nothing_to_do
    from semcode_dagster.assets.local_run import run_index_job

    settings = Settings(repo=str(repo), store=str(store), model=model)
    if nothing_to_do(settings) is None:
        report = run_index_job(settings)
        assert report.ok, report.error


def p50(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def measure(name: str) -> dict:
    from semcode.search.searcher import Searcher

    make, model, edited, edit = CORPORA[name]
    repo = make()
    store = CACHE.parent / f"overlay-{name}.lancedb" if name != "drivers" else \
        CACHE.parent / "linux-drivers-static.lancedb"
    ensure_index(repo, store, model)
    files = len(subprocess.run(["git", "-C", str(repo), "ls-files"], check=True,
                               capture_output=True, text=True).stdout.splitlines())
    searcher = Searcher(str(store), model=model, checkout=repo)
    overlay = searcher.overlay
    assert overlay is not None
    overlay.file.unlink(missing_ok=True)  # no vector of an earlier round to reuse
    searcher.search(QUERIES[0])  # the model loaded, the file cache warm

    def checks() -> list[float]:
        spent = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            overlay.view()
            spent.append(time.perf_counter() - started)
        return spent

    def searches() -> list[float]:
        spent = []
        for query in QUERIES * 3:
            started = time.perf_counter()
            searcher.search(query)
            spent.append(time.perf_counter() - started)
        return spent

    clean_check, clean_search = checks(), searches()
    path = repo / edited
    original = path.read_bytes()
    try:
        path.write_bytes(original + edit.encode())
        started = time.perf_counter()
        hits = searcher.search("semcode overlay probe value times three")
        first = time.perf_counter() - started
        embedded = overlay.embedded
        found = any(h.symbol == "semcode_overlay_probe" and h.source == "worktree"
                    for h in hits)
        covered_check, covered_search = checks(), searches()
    finally:
        path.write_bytes(original)
    searcher.search(QUERIES[0])  # back to the index alone
    return {"corpus": name, "files": files, "model": model, "edited": edited,
            "check_clean_p50_ms": p50(clean_check),
            "search_clean_p50_ms": p50(clean_search),
            "first_search_after_edit_ms": round(first * 1000, 1),
            "extra_ms": round(first * 1000 - p50(clean_search), 1),
            "texts_embedded": embedded, "edit_found": found,
            "check_covered_p50_ms": p50(covered_check),
            "search_covered_p50_ms": p50(covered_search)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(CORPORA), action="append")
    args = parser.parse_args()
    for name in args.only or list(CORPORA):
        print(json.dumps(measure(name)), flush=True)


if __name__ == "__main__":
    main()
