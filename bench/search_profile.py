"""Where a warm hybrid search's time goes, side by side (issues #26, #28): the query's
embedding, the vector and keyword rankings, reading the candidates' rows, and the spans of
their files (what one hit per definition reads).

At the Linux ``drivers/`` size (the store ``bench/scale.py`` builds), queries of frequent words
and of rare identifiers; on a development corpus (``--corpus``, built and indexed by
``bench/quality.py`` with the default model), its own queries, with the small index held in
memory (``semcode/search/resident.py``) and without.

    python bench/search_profile.py [--store bench/out/linux-drivers-static.lancedb]
                                   [--model static]
    python bench/search_profile.py --corpus click [--model all-MiniLM-L6-v2]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import FREQUENT, RARE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT / "bench/out/linux-drivers-static.lancedb"))
    parser.add_argument("--model", default=None, help="static at drivers/ size, else the "
                                                      "default model")
    parser.add_argument("--corpus", help="a development corpus, e.g. click (bench/quality.py)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.corpus is None:
        profile(args.store, args.model or "static", {"frequent words": FREQUENT,
                                                     "rare identifiers": RARE}, args.rounds)
        return
    from bench.quality import build_task, index, store_of
    from semcode.config import DEFAULT_MODEL
    from semcode.search import index_side

    model = args.model or DEFAULT_MODEL
    task = build_task(args.corpus)
    chunks = index(task, model)["chunks"]["total"]
    queries = [json.loads(line)["query"] for line in open(task / "queries.jsonl")]
    held = index_side.RESIDENT_MAX_ROWS
    for label, limit in (("in memory", held), ("read from the store", -1)):
        index_side.RESIDENT_MAX_ROWS = limit
        profile(str(store_of(task, model)), model,
                {f"{args.corpus} ({chunks} chunks), {label}": queries}, args.rounds)


def profile(store: str, model: str, sets: dict[str, list[str]], rounds: int) -> None:
    from semcode.search.searcher import Searcher

    searcher = Searcher(store, model=model)
    index = searcher.index

    def timed(work):  # milliseconds, result
        started = time.perf_counter()
        result = work()
        return (time.perf_counter() - started) * 1000, result

    for name, queries in sets.items():
        for query in queries[:2]:  # warm
            searcher.search(query)
        index.wait_for_map()  # a large index's row map, read after the second search
        spent: dict[str, list[float]] = {k: [] for k in
                                         ("search", "embed", "vector", "keyword", "rows", "spans")}
        for _ in range(rounds):
            for query in queries:
                spent["search"].append(timed(lambda q=query: searcher.search(q))[0])
                ms, vector = timed(lambda q=query: searcher.embed(q))
                spent["embed"].append(ms)
                ms, by_vector = timed(lambda v=vector: index.vector_ranking(v, 50, None))
                spent["vector"].append(ms)
                ms, by_keyword = timed(lambda q=query: index.keyword_ranking(q, 50, None))
                spent["keyword"].append(ms)
                ids = list(dict(by_vector) | dict(by_keyword))
                ms, rows = timed(lambda i=ids: index.rows(i))
                spent["rows"].append(ms)
                paths = sorted({row["path"] for row in rows.values()})[:10]
                spent["spans"].append(timed(lambda p=paths: index.spans(p))[0])
        print(json.dumps({"queries": name, "p50_ms": {k: round(statistics.median(v), 1)
                                                      for k, v in spent.items()},
                          "search_p95_ms": round(statistics.quantiles(spent["search"],
                                                                      n=20)[-1], 1)}))


if __name__ == "__main__":
    main()
