"""The ``semcode`` command: index, search, status, mcp.

``search``, ``status`` and ``mcp`` import the engine only, so a query never pays for
importing Dagster; ``index`` runs the Dagster job in this process.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from semcode.config import Settings
from semcode.errors import SemcodeError, as_store_error
from semcode.interfaces import cli_parser
from semcode.interfaces.cli_settings import repositories_of, settings_of
from semcode.search.locations import (
    glob_in_repository,
    in_repository,
    repository_of,
    split_line,
)

if TYPE_CHECKING:
    from semcode.interfaces.repositories import Searchers
    from semcode.reports import IndexReport, OverlayReport, Report
    from semcode.search.searcher import Hit, Searcher

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader left


def cmd_index(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    names = repositories_of(args, settings)
    if not names:
        return _index_one(args, settings, settings)
    codes = []
    for name in names:  # one after another: each run uses every core
        if not args.json:
            print(f"== {name}", file=sys.stderr)
        codes.append(_index_one(args, settings, settings.for_repo(name), name))
    return max(codes)


def _index_one(args: argparse.Namespace, deployment: Settings, settings: Settings,
               repository: str = "") -> int:
    from semcode.interfaces.console import print_summary

    if not Path(settings.repo).is_dir():
        print(f"semcode: repository not found: {settings.repo_path}", file=sys.stderr)
        return EXIT_USAGE
    label = {"repository": repository} if repository else {}
    if args.plan:
        from semcode.interfaces.console import print_plan
        from semcode.interfaces.plan import plan_index

        plan = plan_index(settings)
        print(_labelled(plan, label)) if args.json else print_plan(plan)
        return EXIT_OK
    from semcode.index.pipeline import nothing_to_do

    report = None if args.full else nothing_to_do(settings)
    if report is None:  # work to do: the Dagster job, in this process
        report = _run_job(deployment, settings, repository, bars=not args.json)
    report = report.model_copy(update={"worktree": _worktree(settings)})
    if args.json:
        print(_labelled(report, label))
    else:
        print_summary(report, settings.store_uri)
    return EXIT_OK if report.ok else EXIT_FAILED


def _run_job(deployment: Settings, settings: Settings, repository: str = "", *,
             bars: bool) -> "IndexReport":
    """The index job, in this process, with its progress on stderr: bars on a terminal
    (unless ``bars`` is off), plain lines when piped."""
    from semcode.interfaces.console import IndexProgress
    from semcode.store import lease
    from semcode.store.tables import Store

    store = Store(settings.store_uri)  # a store that cannot be written fails here, clearly
    lease.prepare(store)  # settling while Dagster is imported, not in the run's first step
    from semcode_dagster.assets.local_run import run_index_job

    with IndexProgress(enabled=bars and sys.stderr.isatty(), lines=not sys.stderr.isatty()):
        return run_index_job(deployment, repository=repository)


def _first_use(args: argparse.Namespace, settings: Settings) -> str | None:
    """A search where no index exists yet: build it first (progress on stderr), unless
    SEMCODE_AUTO_INDEX=0 or --no-index, or the plan says it would take long here — then the
    warning to answer by keyword from the working tree with. None: search the index."""
    from semcode.interfaces import first_use
    from semcode.progress import duration

    if not first_use.missing(settings) or args.no_index or not settings.auto_index:
        return None
    seconds = first_use.estimate(settings)
    if seconds > first_use.AUTO_INDEX_SECONDS:
        return first_use.too_long(seconds)
    print(f"semcode: no index of {settings.repo_path} yet — building it first "
          f"(~{duration(seconds)} here; SEMCODE_AUTO_INDEX=0 or --no-index to "
          "only search an index that exists)", file=sys.stderr)
    report = _run_job(settings, settings, bars=True)
    if not report.ok:
        raise SemcodeError(f"the first index of {settings.repo_path} failed: "
                           f"{report.error or 'a check failed'} — run `semcode index` to see why")
    return None


def _worktree(settings: Settings) -> "OverlayReport | None":
    """How the checkout differs from what is now indexed (the index answer says it)."""
    from semcode.interfaces.status import worktree_report
    from semcode.store.tables import Store

    try:
        return worktree_report(Store(settings.store_uri, create=False), settings.repo)
    except SemcodeError:
        return None


def _labelled(report: "Report", label: dict[str, str]) -> str:
    """A report as one JSON line, saying which repository it is of when there are several."""
    return json.dumps({**label, **report.to_dict()}) if label else report.to_json()


def _searcher(settings: Settings, names: Sequence[str] = ()) -> "Searcher | Searchers":
    """The one repository's searcher, or one over ``names`` of SEMCODE_REPOS."""
    if names:
        from semcode.interfaces.repositories import Searchers

        return Searchers.open(settings, names)
    from semcode.search.searcher import Searcher

    return Searcher.of(settings)


def _roots(settings: Settings, names: Sequence[str]) -> dict[str, str]:
    """Where each hit's repository is checked out, by its name ("" with one)."""
    return {name: settings.for_repo(name).repo for name in names} or {"": settings.repo}


def _globs(args: argparse.Namespace, settings: Settings, names: Sequence[str]) -> list[str]:
    """``--path`` globs as the index holds paths: one written from the working folder or as an
    absolute path is made relative to the repository it lies in."""
    roots = list(_roots(settings, names).values())
    here = os.getcwd()
    return [glob_in_repository(glob, repository_of(glob, roots), here)
            for glob in args.path or ()]


def _hits_json(key: str, value: str, hits: "list[Hit]", warnings: Sequence[str] = ()) -> str:
    return json.dumps({key: value, "hits": [h.to_dict() for h in hits],
                       "warnings": list(warnings)})


def cmd_search(args: argparse.Namespace) -> int:
    from semcode.embed.embedding import warm_up_queries

    settings = settings_of(args)
    warm_up_queries(settings.model, settings.device, settings.backend)
    from semcode.interfaces.console import print_hits, print_warnings

    names = repositories_of(args, settings)
    fallback = None if names else _first_use(args, settings)
    if fallback is not None:  # no index, and building one would take long: by keyword
        from semcode.search.grep import keyword_answer

        answer = partial(keyword_answer, settings.repo, settings.model, k=args.k,
                         languages=args.lang or (), paths=_globs(args, settings, names),
                         kinds=args.kind or (), warning=fallback,
                         max_file_bytes=settings.max_file_bytes,
                         parse_timeout=settings.parse_timeout)
    else:
        searcher = _searcher(settings, names)
        answer = partial(searcher.answer, k=args.k, languages=args.lang or (),
                         paths=_globs(args, settings, names), kinds=args.kind or (),
                         mode=args.mode)
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
        print_hits(result.hits, _roots(settings, names))
    return EXIT_OK


def cmd_similar(args: argparse.Namespace) -> int:
    from semcode.interfaces.console import print_hits

    settings = settings_of(args)
    names = repositories_of(args, settings)
    if len(names) > 1:
        print("semcode similar: name the repository PATH is in with --in (one of "
              f"{', '.join(names)})", file=sys.stderr)
        return EXIT_USAGE
    if args.across and not names:
        print("semcode similar: --across needs SEMCODE_REPOS (several repositories)",
              file=sys.stderr)
        return EXIT_USAGE
    given, at = split_line(args.target)
    path = in_repository(given, _roots(settings, names[:1])[names[0] if names else ""],
                         os.getcwd())
    searched = list(settings.repositories) if args.across else names
    searcher = _searcher(settings, searched)
    filters = partial(searcher.similar, k=args.k, languages=args.lang or (),
                      paths=_globs(args, settings, searched), kinds=args.kind or ())
    hits = filters(names[0], path, at, across=args.across) if names else filters(path, at)
    if args.json:
        print(_hits_json("target", args.target, hits))
    else:
        print_hits(hits, _roots(settings, searched))
    return EXIT_OK


def cmd_navigate(args: argparse.Namespace) -> int:
    """``semcode def|refs|callers|callees``: one navigation question, answered from the
    index's symbols and the checkout's changed files."""
    from semcode.interfaces.console import print_navigation

    settings = settings_of(args)
    names = repositories_of(args, settings)
    if len(names) > 1:
        print(f"semcode {args.command}: name the repository with --in (one of "
              f"{', '.join(names)})", file=sys.stderr)
        return EXIT_USAGE
    root = _roots(settings, names[:1])[names[0] if names else ""]
    target = args.target
    given, line = split_line(target)
    if line is not None:  # a place: its path as the index holds it
        target = f"{in_repository(given, root, os.getcwd())}:{line}"
    from semcode.search.searcher import Searcher

    navigator = Searcher.of(settings.for_repo(names[0]) if names else settings).navigator()
    answer = navigator.answer(args.relation, target, calls=getattr(args, "calls", False),
                              kind=args.kind)
    total = len(answer.results)
    answer.results = answer.results[:max(1, args.k)]
    if args.json:
        print(json.dumps({**answer.to_dict(), "total": total}))
    else:
        print_navigation(answer, root, total)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from semcode.interfaces.console import print_status
    from semcode.interfaces.status import index_status

    settings = settings_of(args)
    names = repositories_of(args, settings)
    if names:  # each repository's status, and the verdict over all of them
        from semcode.interfaces.repositories import deployment_status

        overall = deployment_status(settings, names)
        if args.json:
            print(overall.to_json())
        else:
            for name, status in overall.repositories.items():
                print_status(status, name)
        return EXIT_OK if overall.healthy else EXIT_FAILED
    status = index_status(settings.store_uri, settings.repo, settings.branch)
    if args.json:
        print(status.to_json())
    else:
        print_status(status)
    return EXIT_OK if status.healthy else EXIT_FAILED


def cmd_mcp(args: argparse.Namespace) -> int:
    from semcode.embed.embedding import warm_up_queries

    settings = settings_of(args)
    warm_up_queries(settings.model, settings.device, settings.backend)
    from semcode.interfaces.mcp_server import serve

    serve(settings, repositories_of(args, settings))
    return EXIT_OK


def cmd_ui(args: argparse.Namespace) -> int:
    from semcode.interfaces.ui import instance_home, run_ui
    from semcode_dagster.assets.local_run import open_instance

    settings = settings_of(args)
    # made (or repaired) here, by one process: dagster dev's webserver, daemon and code
    # server would otherwise each create a fresh instance's tables at once
    open_instance(instance_home(settings))
    return run_ui(settings, args.port)


def cmd_mcp_config(args: argparse.Namespace) -> int:
    from semcode.interfaces import mcp_config

    settings = settings_of(args)
    if args.write:
        target = mcp_config.write(settings, args.client, Path(settings.repo_path))
        print(f"semcode: added the `semcode` server to {target}", file=sys.stderr)
        return EXIT_OK
    if args.client == "claude" and not args.json:
        print(mcp_config.claude_command(settings))
        return EXIT_OK
    print(mcp_config.rendered(settings, args.client), end="")
    return EXIT_OK


def cmd_agents(args: argparse.Namespace) -> int:
    from semcode.interfaces.agents import agents_section

    print(agents_section(), end="")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    return cli_parser.build_parser({
        "index": cmd_index, "search": cmd_search, "similar": cmd_similar,
        "status": cmd_status, "navigate": cmd_navigate, "mcp": cmd_mcp, "ui": cmd_ui,
        "mcp-config": cmd_mcp_config, "agents": cmd_agents},
        description=__doc__.splitlines()[0])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    words = sys.argv[1:] if argv is None else argv
    if (unknown := cli_parser.unknown_command(parser, words)) is not None:
        print(unknown, file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(words)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # here, where a reader that left is caught, not at exit
        return code
    except BrokenPipeError:  # the reader went away (`| head`): end quietly, as a pipe does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except SemcodeError as exc:  # the edge: what happened and what to do, no traceback
        from semcode.interfaces.console import shown  # a path in the message may carry escapes

        print(f"semcode: {shown(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except (RuntimeError, OSError, ValueError) as exc:
        # a store out of reach or a damaged store file: say what to do, not a traceback
        said = as_store_error(exc)
        if said is None:
            raise
        print(f"semcode: {said}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
