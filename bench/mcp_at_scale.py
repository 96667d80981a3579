"""The agent's view at scale (issue #41, point 6): a warm ``search_code`` through ``semcode mcp``
against the same query in-process, with the server watching its checkout and without
(``SEMCODE_WATCH``), in ABBA order, on the Linux ``drivers/`` index ``bench/scale.py`` builds.

Per call, p50 and p95 of: the searcher alone (``Searcher.answer``, in this process, over the
checkout); the server's tool in this process (``call_tool``: paging, token budget, the result's
two forms, no transport); and the whole round trip through the official MCP client over stdio
— each with the watch on and off. Also ``git status`` alone on the checkout, and whether every
answer is the same hit list with the watch as without it.

    python bench/scale.py                 # builds the store and its checkout first
    python bench/mcp_at_scale.py [--rounds 3]
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

from bench.corpus import CACHE  # noqa: E402
from bench.scale import FREQUENT, RARE  # noqa: E402

QUERIES = FREQUENT + RARE


def figures(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
            "calls": len(ordered)}


def hits_of(structured: dict) -> list[tuple]:
    return [(h["path"], h["start_line"], h["end_line"], h["source"])
            for h in structured["hits"]]


async def over_stdio(repo: Path, env: dict, rounds: int) -> tuple[list[float], list[list]]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    server = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-m", "semcode", "mcp", "--repo", str(repo)])
    spent, answers = [], []
    async with Client(server) as client:
        for query in QUERIES[:3]:  # warm: the store opened, the watch started
            await client.call_tool("search_code", {"query": query})
        await anyio.sleep(1.0)
        for _ in range(rounds):
            for query in QUERIES:
                started = time.perf_counter()
                result = await client.call_tool("search_code", {"query": query})
                spent.append((time.perf_counter() - started) * 1000)
                assert not result.is_error, result
                answers.append(hits_of(result.structured_content))
    return spent, answers


async def in_process(repo: Path, env: dict, rounds: int) -> dict[str, list[float]]:
    from semcode.config import Settings
    from semcode.interfaces.mcp_server import build_server

    settings = Settings.from_env(env, repo=str(repo))
    server = build_server(settings)
    for query in QUERIES[:3]:
        await server.call_tool("search_code", {"query": query})
    searcher = await server.index.searcher()
    await anyio.sleep(1.0)
    tool, alone = [], []
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            await server.call_tool("search_code", {"query": query})
            tool.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            searcher.answer(query, k=11)
            alone.append((time.perf_counter() - started) * 1000)
    if searcher.overlay is not None and searcher.overlay.watch is not None:
        searcher.overlay.watch.close()
    return {"searcher": alone, "tool in-process": tool}


def git_status_ms(repo: Path, rounds: int) -> list[float]:
    spent = []
    for _ in range(rounds * 5):
        started = time.perf_counter()
        subprocess.run(["git", "-C", str(repo), "status", "--porcelain=v2", "-z",
                        "--untracked-files=all"], check=True, capture_output=True)
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(CACHE / "linux-6.1-drivers-scale"))
    parser.add_argument("--store", default=str(CACHE.parent / "linux-drivers-static.lancedb"))
    parser.add_argument("--model", default="static")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    repo = Path(args.repo)
    base = {**os.environ, "SEMCODE_STORE": args.store, "SEMCODE_MODEL": args.model,
            "SEMCODE_AUTO_INDEX": "0"}
    times: dict[str, list[float]] = {}
    answers: dict[str, list] = {}
    for watch in ("1", "0", "0", "1"):  # ABBA
        env = {**base, "SEMCODE_WATCH": watch}
        label = "watch on" if watch == "1" else "watch off"
        spent, said = anyio.run(over_stdio, repo, env, args.rounds)
        times.setdefault(f"mcp over stdio, {label}", []).extend(spent)
        answers.setdefault(label, said)
        for name, ms in anyio.run(in_process, repo, env, args.rounds).items():
            times.setdefault(f"{name}, {label}", []).extend(ms)
    times["git status alone"] = git_status_ms(repo, args.rounds)
    print(json.dumps({
        "repo": str(repo), "store": args.store, "model": args.model, "queries": len(QUERIES),
        "rounds": args.rounds, "figures": {name: figures(ms) for name, ms in times.items()},
        "same_answers_with_and_without_watch": answers["watch on"] == answers["watch off"],
    }, indent=2))


if __name__ == "__main__":
    main()
