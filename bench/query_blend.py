"""Should the hybrid blend follow the query (issue #40)? A short query of plain words may lean
on the vector side, a query that names an identifier on the keyword side. Measures candidate
rules on all 16 development corpora, all three query sets (docstring sentences, the short
queries written beside them, the short queries written from the code), hybrid MRR@10.

    python bench/query_blend.py [--model code] [--corpora click,logrus]

Each query is embedded once per corpus; every rule then re-ranks with the same vectors, so a
rule's figures differ from another's only by the blend. Needs the stores bench/quality.py
builds (run it first for the model)."""

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import (  # noqa: E402
    CODE_QUERIES,
    CORPORA,
    LANGUAGE,
    OUT,
    SHORT_QUERIES,
    TASKS,
    build_task,
    short_queries,
    store_of,
)
from score import score  # noqa: E402  (../shared/eval, on the path through quality)

from semcode.config import DEFAULT_MODEL  # noqa: E402
from semcode.search.ranking import VECTOR_SHARE  # noqa: E402

IDENTIFIER = re.compile(r"[a-z][A-Z]|_\w|\w\.\w|\w\(|[A-Z]{2}|\d")


def rule(short_share: float, identifier_share: float, short_words: int = 5):
    """The vector side's share for a query: ``identifier_share`` when it names an identifier
    (camelCase, snake_case, a dotted name, a call, an acronym, a digit), ``short_share`` when it
    is at most ``short_words`` plain words, the tier's own share otherwise."""
    def share(query: str) -> float:
        if IDENTIFIER.search(query):
            return identifier_share
        return short_share if len(query.split()) <= short_words else VECTOR_SHARE
    return share


RULES = {
    "fixed 0.85": rule(VECTOR_SHARE, VECTOR_SHARE),
    "short 0.9": rule(0.9, VECTOR_SHARE),
    "short 0.95": rule(0.95, VECTOR_SHARE),
    "short 0.8": rule(0.8, VECTOR_SHARE),
    "short 0.75": rule(0.75, VECTOR_SHARE),
    "ident 0.75": rule(VECTOR_SHARE, 0.75),
    "ident 0.65": rule(VECTOR_SHARE, 0.65),
    "ident 0.95": rule(VECTOR_SHARE, 0.95),
}


def measure(name: str, model: str) -> dict:
    from semcode.search.searcher import Searcher

    task = build_task(name)
    sets = {"docstring": [json.loads(line) for line in open(task / "queries.jsonl")],
            "short": short_queries(SHORT_QUERIES, name),
            "code": short_queries(CODE_QUERIES, name)}
    searcher = Searcher(str(store_of(task, model)), model=model)
    figures: dict = {}
    for style, queries in sets.items():
        vectors = searcher.embedder.encode([q["query"] for q in queries])
        for label, share in RULES.items():
            results = []
            for q, vector in zip(queries, vectors, strict=True):
                searcher.vector_share = share(q["query"])
                hits = searcher.answer(q["query"], k=10, mode="hybrid", vector=vector).hits
                results.append({"query": q["query"],
                                "hits": [h.model_dump(exclude={"text"}) for h in hits]})
            figures[f"{style} {label}"] = round(score(queries, results)["mrr10"], 4)
    figures["identifier queries"] = {style: sum(bool(IDENTIFIER.search(q["query"]))
                                                for q in qs) for style, qs in sets.items()}
    return figures


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", default=",".join(CORPORA))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    report = {}
    for name in args.corpora.split(","):
        report[name] = measure(name, args.model)
        print(name, json.dumps(report[name]), flush=True)
    (OUT / f"report-query-blend-{args.model}.json").write_text(json.dumps(report, indent=2))
    rows = {name: {k: v for k, v in f.items() if k != "identifier queries"}
            for name, f in report.items()}
    table = pd.DataFrame(rows).T
    by_language = table.groupby(lambda c: LANGUAGE[TASKS[c][3]]).mean()
    summary = pd.concat([by_language, table.mean().to_frame("all").T]).T
    summary.index = pd.MultiIndex.from_tuples([tuple(i.split(" ", 1)) for i in summary.index])
    print(summary.round(3).to_markdown())


if __name__ == "__main__":
    main()
