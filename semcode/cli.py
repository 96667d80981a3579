"""The ``semcode`` command: index, search, status, mcp.

``search``, ``status`` and ``mcp`` import the engine only, so a query never pays for
importing Dagster; ``index`` runs the Dagster job in this process.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from semcode import gitrepo
from semcode.config import DEFAULT_LIMIT, DEFAULT_MODE, DEFAULT_SHARDS, SEARCH_MODES, Settings
from semcode.errors import SemcodeError

if TYPE_CHECKING:
    from semcode.search import Hit, Searcher

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment and the flags. A path inside a git repository means
    that repository: its files are indexed (and shown) relative to its top."""
    repo = getattr(args, "repo", None) or getattr(args, "repo_path", None)
    settings = Settings.from_env(repo=repo, store=getattr(args, "store", None),
                                 shards=getattr(args, "shards", None),
                                 backend=getattr(args, "backend", None))
    if Path(settings.repo).is_dir() and gitrepo.is_git_repo(settings.repo):
        top = str(gitrepo.toplevel(settings.repo))
        if top != settings.repo_path:
            print(f"semcode: {settings.repo_path} is inside the repository {top}; using it",
                  file=sys.stderr)
            settings = settings.with_overrides(repo=top)
    return settings


def cmd_index(args: argparse.Namespace) -> int:
    from semcode.console import IndexProgress, print_summary

    settings = _settings(args)
    if not Path(settings.repo).is_dir():
        print(f"semcode: repository not found: {settings.repo_path}", file=sys.stderr)
        return EXIT_USAGE
    if args.plan:
        from semcode.console import print_plan
        from semcode.plan import plan_index

        plan = plan_index(settings)
        print(plan.to_json()) if args.json else print_plan(plan)
        return EXIT_OK
    from semcode.pipeline import nothing_to_do

    report = None if args.full else nothing_to_do(settings)
    if report is None:  # work to do: the Dagster job, in this process
        from assets.local_run import run_index_job
        from semcode.store import Store

        Store(settings.store_uri)  # a store that cannot be written fails here, clearly
        with IndexProgress(enabled=not args.json and sys.stderr.isatty()):
            report = run_index_job(settings)
    if args.json:
        print(report.to_json())
    else:
        print_summary(report, settings.store_uri)
    return EXIT_OK if report.ok else EXIT_FAILED


def _searcher(settings: Settings) -> "Searcher":
    from semcode.search import Searcher

    return Searcher(settings.store_uri, model=settings.model, device=settings.device,
                    backend=settings.backend)


def _hits_json(key: str, value: str, hits: "list[Hit]", warnings: Sequence[str] = ()) -> str:
    return json.dumps({key: value, "hits": [h.to_dict() for h in hits],
                       "warnings": list(warnings)})


def cmd_search(args: argparse.Namespace) -> int:
    from semcode.console import print_hits, print_warnings

    settings = _settings(args)
    searcher = _searcher(settings)
    answer = partial(searcher.answer, k=args.k, languages=args.lang or (),
                     paths=args.path or (), kinds=args.kind or (), mode=args.mode)
    if args.stdin:
        for raw in sys.stdin.buffer:  # bytes: an undecodable line is still one query
            query = raw.decode("utf-8", "replace").rstrip("\r\n")
            try:
                result = answer(query)
            except SemcodeError as exc:  # one bad query is its own answer, not the end
                print(json.dumps({"query": query, "hits": [], "error": str(exc)}), flush=True)
                continue
            print(_hits_json("query", query, result.hits, result.warnings), flush=True)
        return EXIT_OK
    if not args.query:
        print("semcode search: give a QUERY or --stdin", file=sys.stderr)
        return EXIT_USAGE
    query = " ".join(args.query)
    result = answer(query)
    if args.json:
        print(_hits_json("query", query, result.hits, result.warnings))
    else:
        print_warnings(result.warnings)
        print_hits(result.hits, settings.repo)
    return EXIT_OK


def cmd_similar(args: argparse.Namespace) -> int:
    from semcode.console import print_hits

    settings = _settings(args)
    path, _, line = args.target.rpartition(":") if ":" in args.target else (args.target, "", "")
    if line and not line.isdigit():
        path, line = args.target, ""
    hits = _searcher(settings).similar(path, int(line) if line else None, k=args.k,
                                       languages=args.lang or (), paths=args.path or (),
                                       kinds=args.kind or ())
    if args.json:
        print(_hits_json("target", args.target, hits))
    else:
        print_hits(hits, settings.repo)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from semcode.console import print_status
    from semcode.status import index_status

    settings = _settings(args)
    status = index_status(settings.store_uri, settings.repo, settings.branch)
    if args.json:
        print(status.to_json())
    else:
        print_status(status)
    return EXIT_OK if status.healthy else EXIT_FAILED


def cmd_mcp(args: argparse.Namespace) -> int:
    from semcode.mcp_server import serve

    serve(_settings(args))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semcode", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, repo_flag: bool = True) -> None:
        if repo_flag:
            p.add_argument("--repo", help="repository (default: SEMCODE_REPO or .)")
        p.add_argument("--store", help="LanceDB URI (default: SEMCODE_STORE or "
                                       "<repo>/.semcode/lancedb)")

    def ranking_filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("-k", type=int, default=DEFAULT_LIMIT,
                       help=f"number of results (default {DEFAULT_LIMIT})")
        p.add_argument("--lang", action="append", help="only this language (repeatable)")
        p.add_argument("--path", action="append",
                       help="only paths matching this glob (repeatable)")
        p.add_argument("--kind", action="append", help="only this chunk kind (repeatable)")

    p = sub.add_parser("index", help="index a repository (runs the Dagster job in-process)")
    p.add_argument("repo_path", nargs="?", metavar="PATH",
                   help="repository (default: SEMCODE_REPO or .)")
    common(p, repo_flag=False)
    p.add_argument("--shards", type=int,
                   help=f"file shards (default: SEMCODE_SHARDS or {DEFAULT_SHARDS})")
    p.add_argument("--backend", help="how the model runs (default: SEMCODE_BACKEND or auto)")
    p.add_argument("--full", action="store_true",
                   help="run the job even when the store already indexes the branch head")
    p.add_argument("--plan", action="store_true",
                   help="say what a full index would include, skip and cost here, without "
                        "indexing or embedding anything")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="search the index")
    p.add_argument("query", nargs="*", help="what you are looking for")
    common(p)
    ranking_filters(p)
    p.add_argument("--mode", default=DEFAULT_MODE, choices=SEARCH_MODES,
                   help="ranking (default: hybrid = vector + BM25 fused by reciprocal rank)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--stdin", action="store_true", help="one query per input line, "
                                                       "one JSON line each")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("similar", help="code like the chunk at PATH[:LINE]")
    p.add_argument("target", metavar="PATH[:LINE]", help="repo-relative path, optional line")
    common(p)
    ranking_filters(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("status", help="what the index holds and how fresh it is")
    common(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("mcp", help="serve the index to AI assistants over MCP (stdio)")
    common(p)
    p.set_defaults(func=cmd_mcp)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SemcodeError as exc:  # the edge: what happened and what to do, no traceback
        print(f"semcode: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
