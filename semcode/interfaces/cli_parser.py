"""The ``semcode`` command's words: its commands and their flags, ``--version``, and the
closest command to a word that is none (``semcode/interfaces/cli.py`` runs them)."""

import argparse
import difflib
from collections.abc import Callable, Mapping, Sequence

import semcode
from semcode.config import DEFAULT_LIMIT, DEFAULT_MODE, DEFAULT_SHARDS, SEARCH_MODES

# mcp_config.CLIENTS' names, here so that parsing a command imports no TOML or config library
MCP_CLIENTS = ("claude", "cursor", "vscode", "zed", "codex", "claude-desktop", "windsurf",
               "generic")

Command = Callable[[argparse.Namespace], int]


class _Version(argparse.Action):
    """``--version``, looked up only when asked (the lookup reads installed packages)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: object):
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"semcode {semcode.__version__}")  # on stdout, as argparse's own prints it
        parser.exit()


def build_parser(commands: Mapping[str, Command], description: str) -> argparse.ArgumentParser:
    """The parser of every command; each one's ``func`` is its entry in ``commands``."""
    parser = argparse.ArgumentParser(prog="semcode", description=description)
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, repo_flag: bool = True) -> None:
        if repo_flag:
            p.add_argument("--repo", help="repository (default: SEMCODE_REPO or .)")
        p.add_argument("--store", help="LanceDB URI (default: SEMCODE_STORE or "
                                       "<repo>/.semcode/lancedb)")
        p.add_argument("--in", dest="only", action="append", metavar="NAME",
                       help="with SEMCODE_REPOS: only this repository (repeatable; "
                            "default: all of them)")

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
    common(p)
    p.add_argument("--shards", type=int,
                   help=f"file shards (default: SEMCODE_SHARDS or {DEFAULT_SHARDS})")
    p.add_argument("--backend", help="how the model runs (default: SEMCODE_BACKEND or auto)")
    p.add_argument("--full", action="store_true",
                   help="run the job even when the store already indexes the branch head")
    p.add_argument("--plan", action="store_true",
                   help="say what a full index would include, skip and cost here, without "
                        "indexing or embedding anything")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.set_defaults(func=commands["index"])

    p = sub.add_parser("search", help="search the index")
    p.add_argument("query", nargs="*", help="what you are looking for")
    common(p)
    ranking_filters(p)
    p.add_argument("--mode", default=DEFAULT_MODE, choices=SEARCH_MODES,
                   help="ranking (default: hybrid = cosine and BM25 blended by score)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--stdin", action="store_true", help="one query per input line, "
                                                       "one JSON line each")
    p.add_argument("--no-index", action="store_true", help="with no index yet, say so "
                   "instead of building one first (also SEMCODE_AUTO_INDEX=0)")
    p.set_defaults(func=commands["search"])

    p = sub.add_parser("similar", help="code like the chunk at PATH[:LINE]")
    p.add_argument("target", metavar="PATH[:LINE]", help="repo-relative path, optional line")
    common(p)
    ranking_filters(p)
    p.add_argument("--across", action="store_true", help="with SEMCODE_REPOS: look in every "
                   "repository, not only the one PATH is in (--in)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=commands["similar"])

    for name, what in (("def", "where NAME is defined"),
                       ("refs", "where NAME is used: calls, imports, type uses"),
                       ("callers", "the definitions that call NAME"),
                       ("callees", "what NAME's definition calls")):
        p = sub.add_parser(name, help=f"{what} (name-based, from the index's symbols)")
        p.add_argument("target", metavar="NAME|PATH:LINE", help="a name (`route`, "
                       "`Flask.route`), or the symbol at a line of a file")
        common(p)
        p.add_argument("-k", type=int, default=50, help="at most this many results "
                                                         "(default 50)")
        p.add_argument("--kind", default="", help="only definitions of this kind (function, "
                       "method, class, …): tells a method from a function of the same name")
        if name == "refs":
            p.add_argument("--calls", action="store_true", help="calls only")
        p.add_argument("--json", action="store_true", help="one JSON object")
        p.set_defaults(func=commands["navigate"], relation={
            "def": "definition", "refs": "references"}.get(name, name))

    p = sub.add_parser("status", help="what the index holds and how fresh it is")
    common(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=commands["status"])
    p = sub.add_parser("mcp", help="serve the index to AI assistants over MCP (stdio)")
    common(p)
    p.set_defaults(func=commands["mcp"])
    p = sub.add_parser("ui", help="the Dagster UI on the index's asset graph (dagster dev)")
    common(p)
    p.add_argument("--port", type=int, default=3000, help="default 3000")
    p.set_defaults(func=commands["ui"])
    p = sub.add_parser("mcp-config", help="the configuration that plugs `semcode mcp` into "
                                          "an MCP client (Claude Code, Cursor, VS Code, Zed, "
                                          "Codex, Claude Desktop, Windsurf, any other)")
    p.add_argument("client", choices=MCP_CLIENTS)
    common(p)
    p.add_argument("--write", action="store_true", help="add it to the client's file, keeping "
                   "its other servers: the project's (.mcp.json, .cursor/mcp.json, "
                   ".vscode/mcp.json, .zed/settings.json, .codex/config.toml), or yours "
                   "(Claude Desktop, Windsurf)")
    p.add_argument("--json", action="store_true", help="claude: the .mcp.json form, not the "
                   "`claude mcp add` command")
    p.set_defaults(func=commands["mcp-config"])
    p = sub.add_parser("agents", help="a section for AGENTS.md or CLAUDE.md: when and how an "
                                      "agent should search with semcode")
    p.set_defaults(func=commands["agents"])
    return parser


def unknown_command(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """What to say when the first word is no command (with the closest one), or None."""
    commands = next(a.choices for a in parser._actions  # argparse keeps them only here
                    if isinstance(a, argparse._SubParsersAction))
    first = next((word for word in argv if not word.startswith("-")), None)
    if first is None or first in commands or argv.index(first) != 0:
        return None
    close = difflib.get_close_matches(first, list(commands), n=1)
    return (f"semcode: {first!r} is not a command" +
            (f" — did you mean {close[0]!r}?" if close else "") +
            f" (commands: {', '.join(commands)})")
