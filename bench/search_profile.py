"""Where a warm hybrid search's time goes, side by side (issue #28): the query's embedding,
the vector and keyword rankings, reading the candidates' rows, and the spans of their files
(what one hit per definition reads). Queries of frequent words and of rare identifiers.

    python bench/search_profile.py [--store bench/out/linux-drivers-static.lancedb]
                                   [--model static]
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
    from semcode.search import Searcher

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT / "bench/out/linux-drivers-static.lancedb"))
    parser.add_argument("--model", default="static")
    args = parser.parse_args()
    searcher = Searcher(args.store, model=args.model)
    index = searcher.index

    def timed(work):  # milliseconds, result
        started = time.perf_counter()
        result = work()
        return (time.perf_counter() - started) * 1000, result

    for name, queries in (("frequent words", FREQUENT), ("rare identifiers", RARE)):
        for query in queries[:2]:  # warm
            searcher.search(query)
        spent: dict[str, list[float]] = {k: [] for k in
                                         ("search", "embed", "vector", "keyword", "rows", "spans")}
        for _ in range(3):
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
