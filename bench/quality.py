"""Search quality on the shared harness (../shared/eval): MRR@10, R@1, R@10 per corpus and
mode, the plain baseline on the same model, and warm query latency.

Builds the 16 development corpora the harness README names, indexes each with
`semcode index` (``--model``: any model, ``static`` for the fast tier) into a store per
model, answers every query in every mode in-process, and scores with the harness's own
score.py. Usage:

    python bench/quality.py [--model static] [--backend torch] [--corpora click,requests]
    python bench/quality.py --compare torch,openvino,torch-bf16   # saved reports side by side
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
OUT = ROOT / "bench" / "out" / "quality"
sys.path.insert(0, str(EVAL))
sys.path.insert(0, str(ROOT))

from bench.corpus import unpack_sdist  # noqa: E402
from semcode.config import DEFAULT_MODEL  # noqa: E402

GOCODE = "usr/share/gocode/src/github.com"
# Queries as people type them, scored the same way as the docstring set: eight per corpus
# written beside the docstrings for targets the docstring set also has (issue #27, rows
# `short-*`), and 16-21 per corpus written from reading the code only (issue #40, rows `code-*`).
SHORT_QUERIES = ROOT / "bench" / "short_queries.jsonl"
CODE_QUERIES = ROOT / "bench" / "short_queries_code.jsonl"
SHORT_MODES = ("hybrid", "vector")
# what `--compare` and BENCHMARKS.md set side by side: both query styles, both short sets
COMPARED = ("hybrid", "short-hybrid", "code-hybrid", "vector")

CORPORA = {  # the harness's whole development set (../shared/eval/README.md)
    "click": ("pypi", "click==8.1.8", "src", "make_corpus.py"),
    "requests": ("pypi", "requests==2.32.3", "src", "make_corpus.py"),
    "attrs": ("pypi", "attrs==24.2.0", "src/attr", "make_corpus.py"),
    "httpx": ("pypi", "httpx==0.27.2", "httpx", "make_corpus.py"),
    "tqdm": ("pypi", "tqdm==4.66.5", "tqdm", "make_corpus.py"),
    "more-itertools": ("pypi", "more-itertools==10.5.0", "more_itertools", "make_corpus.py"),
    "sqlparse": ("pypi", "sqlparse==0.5.1", "sqlparse", "make_corpus.py"),
    "markdown-it-py": ("pypi", "markdown-it-py==3.0.0", "markdown_it", "make_corpus.py"),
    "commander": ("npm", "commander@12.1.0", "package/lib", "make_corpus_js.py"),
    "ws": ("npm", "ws@8.18.0", "package/lib", "make_corpus_js.py"),
    "mocha": ("npm", "mocha@10.7.3", "package/lib", "make_corpus_js.py"),
    "eslint-rules": ("npm", "eslint@9.14.0", "package/lib/rules", "make_corpus_js.py"),
    "logrus": ("deb", "golang-github-sirupsen-logrus-dev=1.9.0-1", f"{GOCODE}/sirupsen/logrus",
               "make_corpus_go.py"),
    "testify": ("deb", "golang-github-stretchr-testify-dev=1.8.1-1",
                f"{GOCODE}/stretchr/testify", "make_corpus_go.py"),
    "gorilla-mux": ("deb", "golang-github-gorilla-mux-dev=1.8.0-1", f"{GOCODE}/gorilla/mux",
                    "make_corpus_go.py"),
    "uuid": ("deb", "golang-github-google-uuid-dev=1.3.0-1", f"{GOCODE}/google/uuid",
             "make_corpus_go.py"),
}
LANGUAGE = {"make_corpus.py": "python", "make_corpus_js.py": "javascript",
            "make_corpus_go.py": "go"}  # each corpus's language, by the script that makes it


def short_queries(path: Path, corpus: str) -> list[dict]:
    """One corpus's queries of a short-query file (its '#' lines are the file's header)."""
    rows = (json.loads(line) for line in open(path) if line.strip() and not line.startswith("#"))
    return [q for q in rows if q["corpus"] == corpus]


# Three Python packages in none of the above, never tuned on: how far the figures carry
# (`--corpora held-out`). Not in the development means.
HELD_OUT = {
    "toolz": ("pypi", "toolz==1.0.0", "toolz", "make_corpus.py"),
    "marshmallow": ("pypi", "marshmallow==3.23.1", "src/marshmallow", "make_corpus.py"),
    "jinja2": ("pypi", "jinja2==3.1.4", "src/jinja2", "make_corpus.py"),
}
TASKS = CORPORA | HELD_OUT


def fetch(kind: str, spec: str, dest: Path) -> None:
    """Unpack a pinned source release into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "pypi":
            unpack_sdist(spec, Path(tmp)).rename(dest / "src-release")
        elif kind == "npm":
            subprocess.run(["npm", "pack", "--silent", spec], cwd=tmp, check=True,
                           capture_output=True)
            with tarfile.open(next(Path(tmp).glob("*.tgz"))) as tar:
                tar.extractall(dest / "src-release", filter="data")
        else:
            subprocess.run(["apt-get", "download", "-q", spec], cwd=tmp, check=True,
                           capture_output=True)
            subprocess.run(["dpkg-deb", "-x", str(next(Path(tmp).glob("*.deb"))),
                            str(dest / "src-release")], check=True)


def build_task(name: str) -> Path:
    kind, spec, src, maker = TASKS[name]
    base = OUT / name
    task = base / "task"
    if (task / "queries.jsonl").is_file():
        return task
    if not (base / "src-release").is_dir():
        fetch(kind, spec, base)
    release = base / "src-release"
    if kind == "pypi":
        release = next(p for p in release.iterdir() if p.is_dir()) \
            if not (release / src).is_dir() else release
    subprocess.run([sys.executable, str(EVAL / maker), str(release / src), str(task),
                    "--max-queries", "150"], check=True)
    return task


def variant(model: str, backend: str = "auto", tag: str = "") -> str:
    """The name of a store and its report: model, then backend and tag when given."""
    return "-".join(p for p in (model, "" if backend == "auto" else backend, tag) if p)


def store_of(task: Path, model: str, backend: str = "auto", tag: str = "") -> Path:
    return task / "stores" / variant(model, backend, tag)


def seed(task: Path, model: str, backend: str, tag: str, source: str) -> None:
    """Start a tagged store from another's vectors, without its chunks: the run re-chunks
    every file with the code as it is now and embeds only texts the source lacks (what a
    chunking experiment needs, in seconds instead of a full embed)."""
    import shutil

    from semcode.store.tables import Store

    target = store_of(task, model, backend, tag)
    if target.exists() or not (task / "stores" / source).is_dir():
        return
    shutil.copytree(task / "stores" / source, target)
    Store(str(target)).drop("chunks")


def index(task: Path, model: str, backend: str = "auto", tag: str = "") -> dict:
    env = {**os.environ, "SEMCODE_MODEL": model, "SEMCODE_BACKEND": backend,
           "SEMCODE_STORE": str(store_of(task, model, backend, tag))}
    proc = subprocess.run([sys.executable, "-m", "semcode", "index", str(task / "repo"),
                           "--json"], capture_output=True, text=True, check=True, env=env)
    return json.loads(proc.stdout)


def evaluate(task: Path, model: str, modes: list[str], vector_share: float | None,
             backend: str = "auto", tag: str = "", test_prior: float | None = None) -> dict:
    from score import score

    from semcode.search.searcher import Searcher

    docstrings = [json.loads(line) for line in open(task / "queries.jsonl")]
    short = short_queries(SHORT_QUERIES, task.parent.name)
    code = short_queries(CODE_QUERIES, task.parent.name)
    priors = {} if test_prior is None else {"test_prior": test_prior}
    searcher = Searcher(str(store_of(task, model, backend, tag)), model=model, backend=backend,
                        vector_share=vector_share, **priors)
    searcher.search("warm up the model", k=10)
    figures = {}
    runs = [(mode, docstrings) for mode in modes] + \
        [(f"short-{mode}", short) for mode in modes if mode in SHORT_MODES and short] + \
        [(f"code-{mode}", code) for mode in modes if mode in SHORT_MODES and code]
    for name, queries in runs:
        mode = name.removeprefix("short-").removeprefix("code-")
        results, latencies = [], []
        for q in queries:
            started = time.perf_counter()
            hits = searcher.search(q["query"], k=10, mode=mode)
            latencies.append(time.perf_counter() - started)
            results.append({"query": q["query"],
                            "hits": [h.model_dump(exclude={"text"}) for h in hits]})
        s = score(queries, results)
        figures[name] = {"mrr10": round(s["mrr10"], 3), "r1": round(s["r1"], 3),
                         "r10": round(s["r10"], 3), "n": s["n"],
                         "median_ms": round(1000 * statistics.median(latencies), 1)}
    return figures


def baseline(task: Path, header: bool) -> dict:
    """The harness's plain reference (Python corpora only), with or without its
    "path: qualname" header; kept beside the task, since it depends on nothing of ours."""
    from score import score

    from semcode.embed.model_files import model_path

    out = task / f"baseline{'-header' if header else ''}.jsonl"
    if not out.is_file():
        subprocess.run([sys.executable, str(EVAL / "naive_baseline.py"),
                        model_path("all-MiniLM-L6-v2"), str(task), str(out),
                        *(["--header"] if header else [])], check=True, capture_output=True)
    queries = [json.loads(line) for line in open(task / "queries.jsonl")]
    s = score(queries, [json.loads(line) for line in open(out)])
    return {"mrr10": round(s["mrr10"], 3), "r1": round(s["r1"], 3), "r10": round(s["r10"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", default=",".join(CORPORA))
    parser.add_argument("--modes", default="hybrid,vector,keyword")
    parser.add_argument("--vector-share", type=float, default=None,
                        help="the cosine's share of the hybrid score (the rest is BM25's; "
                             "default: the model tier's own)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--test-prior", type=float, default=None,
                        help="how much a test counts for a query not about tests (default: "
                             "TEST_PRIOR; bench/test_prior.py measures it where tests exist)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="e.g. static")
    parser.add_argument("--backend", default="auto", help="e.g. torch, openvino, onnx-int8")
    parser.add_argument("--tag", default="", help="name a variant's store and report (an "
                                                   "experiment), e.g. nested")
    parser.add_argument("--seed", help="start the tagged store from this store's vectors, "
                                       "re-chunked, e.g. all-MiniLM-L6-v2-openvino")
    parser.add_argument("--compare", help="saved reports to set side by side (no run): their "
                                          "names, or backends of --model, e.g. "
                                          "torch,openvino or all-MiniLM-L6-v2,code")
    parser.add_argument("--report", help="save the report under this name (default: the "
                                         "model, backend and tag)")
    parser.add_argument("--from-store", action="store_true",
                        help="search as a large index is searched: through LanceDB and the "
                             "row map, never the copy in memory (the ranking must not move)")
    args = parser.parse_args()
    if args.from_store:
        from semcode.search import index_side

        index_side.RESIDENT_MAX_ROWS = -1
    if args.compare:
        print(compare(args.model, args.compare.split(","), args.backend))
        return
    report = {}
    names = ",".join(HELD_OUT) if args.corpora == "held-out" else args.corpora
    for name in names.split(","):
        task = build_task(name)
        if args.tag and args.seed:
            seed(task, args.model, args.backend, args.tag, args.seed)
        summary = index(task, args.model, args.backend, args.tag)
        report[name] = {"chunks": summary["chunks"]["total"],
                        "backend": summary["vectors"]["backend"],
                        **evaluate(task, args.model, args.modes.split(","), args.vector_share,
                                   args.backend, args.tag, args.test_prior)}
        if not args.no_baseline and TASKS[name][3] == "make_corpus.py":
            report[name]["naive_baseline"] = baseline(task, header=False)
            report[name]["naive_baseline_header"] = baseline(task, header=True)
        print(name, json.dumps(report[name]), flush=True)
    suffix = args.report or variant(args.model, args.backend, args.tag)
    (OUT / f"report-{suffix}.json").write_text(json.dumps(report, indent=2))
    print(mrr_table(report))


def compare(model: str, names: list[str], backend: str = "auto") -> str:
    """MRR@10 of hybrid and vector search per corpus, one column per saved report (a
    backend, or with --backend a tag), then each language's mean and the mean of all 16."""
    import pandas as pd

    def report_of(name: str) -> dict:  # a saved report's own name, or a backend or tag
        saved = OUT / f"report-{name}.json"
        if not saved.is_file():
            saved = OUT / (f"report-{variant(model, name)}.json" if backend == "auto"
                           else f"report-{variant(model, backend, name)}.json")
        return json.loads(saved.read_text())

    reports = {n: report_of(n) for n in names}
    tables = []
    for mode in COMPARED:
        if not all(mode in r[c] for r in reports.values() for c in CORPORA):
            continue
        table = pd.DataFrame({b: {c: r[c][mode]["mrr10"] for c in CORPORA}
                              for b, r in reports.items()})
        groups = table.groupby(lambda c: LANGUAGE[CORPORA[c][3]]).mean()
        groups.index = [f"mean ({lang})" for lang in groups.index]
        overall = table.mean().to_frame("mean (all 16)").T
        tables.append(f"{mode} MRR@10\n\n"
                      + pd.concat([table, groups, overall]).round(3).to_markdown())
    return "\n\n".join(tables)


def mrr_table(report: dict) -> str:
    """MRR@10 per corpus and mode (and the plain baseline), then each language's mean."""
    import pandas as pd

    rows = [{"corpus": name, "language": LANGUAGE[TASKS[name][3]],
             **{key: value["mrr10"] for key, value in figures.items()
                if isinstance(value, dict) and "mrr10" in value}}
            for name, figures in report.items()]
    table = pd.DataFrame(rows).set_index("corpus")
    means = table.groupby("language").mean(numeric_only=True)
    means.index = [f"mean ({lang})" for lang in means.index]
    return pd.concat([table.drop(columns="language"), means]).round(3).to_markdown()


if __name__ == "__main__":
    main()
