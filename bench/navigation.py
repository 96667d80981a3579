"""Navigation measured against a precise tool: semcode's name-based references and callers
against jedi's (which resolves Python names through imports, classes and assignments) on real
Python packages, and against TypeScript's language service (``bench/ts_references.js``) on
JavaScript ones; and how long a question takes. Prints one JSON object per corpus.

    pip install jedi          # the reference answer; not a dependency of semcode
    npm install typescript    # and NODE_PATH=<its node_modules> (default /tmp/tsref/...)
    python bench/navigation.py [--corpus click==8.1.8:src] [--corpus requests==2.32.3:src]
        [--corpus npm:ws@8.18.0:package/lib] [--sample 80]
    python bench/navigation.py --store bench/out/linux-drivers-symbols.lancedb [--sample 200]
        # query times only, on an index already built (no reference answer)

For every sampled function or method (every n-th definition, dunder hooks left out):
* references: semcode's ``refs PATH:LINE`` against jedi's ``get_references`` at the
  definition's name, less the definition itself and imports (jedi counts an import as a
  definition), as sets of (path, line);
* callers: semcode's call lines against jedi's references that are followed by ``(``.
Precision and recall are micro-averaged over every sampled name. Query p50/p95 is in-process
on the warm store, every relation over the same names.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import npm_repo, pypi_sdist_repo  # noqa: E402


def index(repo: Path) -> str:
    store = str(repo.parent / f"{repo.name}.nav.lancedb")
    env = {**os.environ, "SEMCODE_MODEL": "static", "SEMCODE_STORE": store}
    subprocess.run([sys.executable, "-m", "semcode", "index", str(repo)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return store


def jedi_places(project, repo: Path, path: str, line: int, name: str, text: list[str]
                ) -> tuple[set, set]:
    """jedi's references of the definition at ``path:line`` (less itself), and the calls
    among them."""
    import jedi

    source = text[line - 1]
    match = re.search(rf"\b(?:def|class)\s+({re.escape(name)})\b", source)
    if match is None:
        return set(), set()
    script = jedi.Script(path=str(repo / path), project=project)
    refs, calls = set(), set()
    for ref in script.get_references(line, match.start(1), scope="project"):
        if ref.module_path is None or ref.is_definition():
            continue
        where = (str(Path(ref.module_path).relative_to(repo)), ref.line)
        refs.add(where)
        after = Path(ref.module_path).read_text(errors="replace").split("\n")[ref.line - 1]
        if after[ref.column + len(name):].lstrip().startswith("("):
            calls.add(where)
    return refs, calls


def ts_places(repo: Path, rows: list[dict]) -> list[tuple[set, set]]:
    """TypeScript's language service's references of each definition (``ts_references.js``),
    less the definitions, and the calls among them."""
    queries, texts = [], {}
    for row in rows:
        text = texts.setdefault(row["path"], (repo / row["path"]).read_text(
            errors="replace").split("\n"))
        source = text[row["line"] - 1]
        found = re.search(rf"\b({re.escape(row['name'])})\b", source)
        queries.append({"path": row["path"], "line": row["line"],
                        "column": found.start(1) if found else 0})
    env = {**os.environ, "NODE_PATH": os.environ.get("NODE_PATH", "/tmp/tsref/node_modules")}
    done = subprocess.run(["node", str(ROOT / "bench" / "ts_references.js"), str(repo)],
                          input=json.dumps(queries), capture_output=True, text=True, check=True,
                          env=env)
    answers = []
    for row, answer in zip(rows, json.loads(done.stdout), strict=True):
        refs, calls = set(), set()
        for path, line, column in answer["refs"]:
            text = texts.setdefault(path, (repo / path).read_text(errors="replace").split("\n"))
            refs.add((path, line))
            if text[line - 1][column + len(row["name"]):].lstrip().startswith("("):
                calls.add((path, line))
        answers.append((refs, calls))
    return answers


def corpus(spec: str) -> tuple[Path, str]:
    """``click==8.1.8:src`` (PyPI, jedi's answer) or ``npm:ws@8.18.0:package/lib`` (npm,
    TypeScript's answer) → (the repository, which reference tool)."""
    if spec.startswith("npm:"):
        package, _, subdir = spec.removeprefix("npm:").partition(":")
        return npm_repo(package, subdir or None), "typescript"
    package, _, subdir = spec.partition(":")
    return pypi_sdist_repo(package, subdir or None), "jedi"


def measure(spec: str, sample: int) -> dict:
    from semcode.search.navigation import Navigator
    from semcode.store.tables import Store

    repo, tool = corpus(spec)
    store = index(repo)
    navigator = Navigator(Store(store, create=False))
    defs = navigator.store.scan("symbols", ["path", "name", "qualified", "kind", "line"],
                                "role = 'definition' AND kind IN ('function', 'method')")
    rows = sorted((r for r in defs.to_pylist() if not r["name"].startswith("__")),
                  key=lambda r: (r["path"], r["line"]))
    step = max(1, len(rows) // sample)
    chosen = rows[::step][:sample]
    if tool == "jedi":
        import jedi

        project = jedi.Project(path=str(repo))
        texts: dict[str, list[str]] = {}
        wanted = [jedi_places(project, repo, r["path"], r["line"], r["name"], texts.setdefault(
            r["path"], (repo / r["path"]).read_text(errors="replace").split("\n")))
            for r in chosen]
    else:
        wanted = ts_places(repo, chosen)
    totals = {"refs": [0, 0, 0], "calls": [0, 0, 0]}  # both, semcode only, the tool's only
    seconds: dict[str, list[float]] = {r: [] for r in ("definition", "references", "callers",
                                                        "callees")}
    for row, (want_refs, want_calls) in zip(chosen, wanted, strict=True):
        asked = f"{row['path']}:{row['line']}"
        answers = {}
        for relation in seconds:
            started = time.perf_counter()
            answers[relation] = navigator.answer(relation, asked)
            seconds[relation].append(time.perf_counter() - started)
        # jedi and TypeScript count an import as a definition of the name: no side's count
        got_refs = {(r.path, r.line) for r in answers["references"].results
                    if r.kind != "import"}
        got_calls = {(c.path, line) for c in answers["callers"].results for line in c.calls}
        for key, got, want in (("refs", got_refs, want_refs), ("calls", got_calls, want_calls)):
            totals[key][0] += len(got & want)
            totals[key][1] += len(got - want)
            totals[key][2] += len(want - got)

    def rates(both: int, ours: int, theirs: int) -> dict:
        return {"precision": round(both / (both + ours), 3) if both + ours else None,
                "recall": round(both / (both + theirs), 3) if both + theirs else None,
                "agreed": both, "semcode_only": ours, f"{tool}_only": theirs}

    chunks = navigator.store.count("chunks")
    return {"corpus": spec, "reference": tool, "definitions_sampled": len(chosen),
            "chunks": chunks,
            "symbols_rows": navigator.store.count("symbols"),
            "references": rates(*totals["refs"]), "callers": rates(*totals["calls"]),
            "query_ms": {r: {"p50": round(statistics.median(s) * 1000, 1),
                             "p95": round(sorted(s)[int(0.95 * (len(s) - 1))] * 1000, 1)}
                         for r, s in seconds.items()}}


def timings(store: str, sample: int) -> dict:
    """Every relation over every n-th definition of an existing index, warm, in-process."""
    from semcode.search.navigation import Navigator
    from semcode.store.tables import Store

    navigator = Navigator(Store(store, create=False))
    started = time.perf_counter()
    defs = navigator.store.scan("symbols", ["path", "line"], "role = 'definition'")
    scan_s = time.perf_counter() - started
    rows = sorted(zip(defs.column("path").to_pylist(), defs.column("line").to_pylist(),
                      strict=True))
    chosen = rows[::max(1, len(rows) // sample)][:sample]
    seconds: dict[str, list[float]] = {r: [] for r in ("definition", "references", "callers",
                                                        "callees")}
    navigator.answer("definition", f"{chosen[0][0]}:{chosen[0][1]}")  # warm
    for path, line in chosen:
        for relation in seconds:
            started = time.perf_counter()
            navigator.answer(relation, f"{path}:{line}")
            seconds[relation].append(time.perf_counter() - started)
    return {"store": store, "symbols_rows": navigator.store.count("symbols"),
            "definitions": len(rows), "sampled": len(chosen),
            "definitions_scan_s": round(scan_s, 2),
            "query_ms": {r: {"p50": round(statistics.median(s) * 1000, 1),
                             "p95": round(sorted(s)[int(0.95 * (len(s) - 1))] * 1000, 1)}
                         for r, s in seconds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", action="append",
                        help="pypi spec[:source folder] (default: click and requests)")
    parser.add_argument("--sample", type=int, default=80)
    parser.add_argument("--store", help="only time the questions on this existing index")
    args = parser.parse_args()
    if args.store:
        print(json.dumps(timings(args.store, args.sample)), flush=True)
        return
    for spec in args.corpus or ["click==8.1.8:src", "requests==2.32.3:src",
                                "npm:ws@8.18.0:package/lib", "npm:commander@12.1.0:package/lib"]:
        print(json.dumps(measure(spec, args.sample)), flush=True)


if __name__ == "__main__":
    main()
