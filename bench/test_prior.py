"""The test prior (``TEST_PRIOR`` in semcode/search/ranking.py) where tests exist.

The harness's development corpora hold no tests — its corpus makers drop ``tests/``, ``test/``,
``testing/``, ``__tests__/`` and ``_test.go`` files — so on them a prior on tests moves nothing,
by construction. This puts each corpus's own tests back beside its code (click's and requests'
``tests/`` from their sdists, logrus' and mux's ``_test.go`` files from their Debian sources,
docstrings in the tests left as they are), indexes that with the default model, and scores the
corpus's own queries — its docstring queries and the short ones of bench/short_queries.jsonl —
with the prior at each value, hybrid search. It also counts the tests among the top 10.

    python bench/test_prior.py [--corpora click,requests,logrus,gorilla-mux]
                               [--priors 1,0.8,0.7,0.5]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import CODE_QUERIES, OUT, SHORT_QUERIES, TASKS, build_task, short_queries  # noqa: E402
from score import score  # noqa: E402  (../shared/eval, on the path through quality)

from semcode.config import DEFAULT_MODEL  # noqa: E402
from semcode.search.ranking import is_test  # noqa: E402


def with_tests(name: str) -> Path:
    """The corpus's task repository with its tests put back, as a git repository."""
    task = build_task(name)
    repo = OUT / name / "with-tests"
    if (repo / ".git").is_dir():
        return repo
    shutil.copytree(task / "repo", repo, ignore=shutil.ignore_patterns(".git"))
    release = OUT / name / "src-release"
    src = TASKS[name][2]
    if TASKS[name][0] == "pypi":
        shutil.copytree(release / "tests", repo / "tests")  # the sdist's own top
    else:  # Go: the _test.go files beside their package's code
        for test in (release / src).rglob("*_test.go"):
            target = repo / test.relative_to(release / src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(test, target)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "with its tests"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


def measure(name: str, priors: list[float]) -> dict:
    from semcode.search.searcher import Searcher

    repo = with_tests(name)
    store = OUT / name / "with-tests-store"
    subprocess.run([sys.executable, "-m", "semcode", "index", str(repo), "--store", str(store),
                    "--json"], check=True, capture_output=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    task = build_task(name)
    docstrings = [json.loads(line) for line in open(task / "queries.jsonl")]
    short = short_queries(SHORT_QUERIES, name)
    code = short_queries(CODE_QUERIES, name)
    tests = sum(1 for p in repo.rglob("*") if p.is_file() and is_test(
        p.relative_to(repo).as_posix()) and ".git" not in p.parts)
    figures: dict = {"test_files": tests}
    for prior in priors:
        searcher = Searcher(str(store), model=DEFAULT_MODEL, test_prior=prior)
        for style, queries in (("docstring", docstrings), ("short", short), ("code", code)):
            results, in_top = [], 0
            for q in queries:
                hits = searcher.search(q["query"], k=10, mode="hybrid")
                in_top += sum(is_test(h.path) for h in hits)
                results.append({"query": q["query"],
                                "hits": [h.model_dump(exclude={"text"}) for h in hits]})
            s = score(queries, results)
            figures[f"{style} {prior}"] = {"mrr10": round(s["mrr10"], 3), "n": s["n"],
                                           "tests_in_top10": round(in_top / len(queries), 2)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", default="click,requests,logrus,gorilla-mux")
    parser.add_argument("--priors", default="1,0.8,0.7,0.5")
    args = parser.parse_args()
    priors = [float(p) for p in args.priors.split(",")]
    report = {name: measure(name, priors) for name in args.corpora.split(",")}
    (OUT / "report-test-prior.json").write_text(json.dumps(report, indent=2))
    for name, figures in report.items():
        print(name, json.dumps(figures))
    for style in ("docstring", "short", "code"):
        means = {p: sum(r[f"{style} {p}"]["mrr10"] for r in report.values()) / len(report)
                 for p in priors}
        print(style, "mean MRR@10 by prior:", {p: round(m, 3) for p, m in means.items()})


if __name__ == "__main__":
    main()
