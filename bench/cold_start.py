"""What a fresh process pays before its first answer (issue #26, point 5), medians of
``--repeat`` runs on a development corpus indexed with the default model:

* ``semcode index`` with nothing to do (a commit hook, an editor save);
* ``semcode search QUERY`` (a person at a shell);
* ``semcode mcp`` from the server's spawn to the first ``search_code`` answer, through the
  official MCP client (an agent's first question).

    python bench/cold_start.py [--corpus click] [--repeat 5]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality import build_task, index, store_of  # noqa: E402

QUERY = "parse a command line option"


def timed_run(argv: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


async def mcp_first_answer(repo: Path, env: dict) -> float:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    server = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-m", "semcode", "mcp", "--repo", str(repo)])
    started = time.perf_counter()
    async with Client(server) as client:
        result = await client.call_tool("search_code", {"query": QUERY, "limit": 5})
        spent = time.perf_counter() - started
    assert not result.is_error and result.structured_content["hits"], result
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="click")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    task = build_task(args.corpus)
    model = "all-MiniLM-L6-v2"
    chunks = index(task, model)["chunks"]["total"]
    repo = task / "repo"
    env = {**os.environ, "SEMCODE_STORE": str(store_of(task, model)), "SEMCODE_MODEL": model}
    semcode = [sys.executable, "-m", "semcode"]
    figures: dict[str, list[float]] = {"index, nothing to do": [], "search": [],
                                       "mcp: spawn to first answer": []}
    for _ in range(args.repeat):
        figures["index, nothing to do"].append(timed_run([*semcode, "index", str(repo)], env))
        figures["search"].append(timed_run([*semcode, "search", QUERY, "--repo", str(repo)],
                                           env))
        figures["mcp: spawn to first answer"].append(anyio.run(mcp_first_answer, repo, env))
    print(json.dumps({"corpus": args.corpus, "chunks": chunks, "repeat": args.repeat,
                      "median_s": {k: round(statistics.median(v), 2)
                                   for k, v in figures.items()},
                      "max_s": {k: round(max(v), 2) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
