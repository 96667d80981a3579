"""``semcode mcp``: an MCP server over stdio for AI coding assistants.

Five tools: search_code, find_similar, find_symbol and index_status read; update_index rebuilds
what changed,
in the background (``builds.py``), as the server also does on a repository's first use — while
there is no index yet, search_code answers by keyword from the working tree. Each tool returns
structured content plus readable text; search_code publishes its output schema (the others'
would cost an agent more tokens on every tool list than they tell it). The store is opened and
the model loaded once, on the first call; calls run in worker threads so several can be
answered at once.
"""

import contextlib
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp_types import (
    CallToolResult,
    ToolAnnotations,
)
from pydantic import Field

from semcode import __version__
from semcode.config import DEFAULT_LIMIT, DEFAULT_MODE, MAX_LIMIT, SearchMode, Settings
from semcode.errors import QueryError, SemcodeError, as_store_error
from semcode.ingest.languages import known_kinds, known_languages
from semcode.interfaces.builds import Build, write_problem
from semcode.interfaces.first_use import missing
from semcode.interfaces.mcp_results import (
    DEFAULT_TOKENS,
    MAX_TOKENS,
    MIN_TOKENS,
    SearchResult,
    SimilarResult,
    SymbolResult,
    UpdateResult,
    cursor_at,
    offset_of,
    page,
    page_items,
    readable,
    result,
    symbol_line,
)
from semcode.interfaces.mcp_stdio import AnswerUnreadable
from semcode.interfaces.repositories import Searchers, chosen, deployment_status
from semcode.interfaces.status import index_status
from semcode.search.grep import keyword_answer
from semcode.search.locations import (
    glob_in_repository,
    in_repository,
    repository_of,
    split_line,
)
from semcode.search.searcher import MAX_K, Searcher

T = TypeVar("T")
class _Index:
    """Opens the searcher once, on first use, shared by every call: the repository's, or
    one over the deployment's repositories (``names``)."""

    def __init__(self, settings: Settings, names: Sequence[str]):
        self.settings = settings
        self.names = list(names)
        self._searcher: Searcher | Searchers | None = None
        self._lock = anyio.Lock()
        self.build = Build(settings, deployment=bool(names))

    async def searcher(self) -> Searcher | Searchers:
        async with self._lock:
            if self._searcher is None:
                self._searcher = await _answer(self._open)
            return self._searcher

    async def open_early(self) -> None:
        """Open the searcher while the client is still saying hello, so the first call finds
        it open; with no index yet, start building it (SEMCODE_AUTO_INDEX). Another failure
        is the first call's to report, when it tries again."""
        with contextlib.suppress(Exception):
            if await self.searcher_if_indexed() is None:
                self.first_build()

    async def searcher_if_indexed(self) -> Searcher | Searchers | None:
        """The searcher, or None while there is no index to open yet and one can be built
        here (one repository; SEMCODE_AUTO_INDEX; a store this user may write)."""
        try:
            return await self.searcher()
        except ToolError:
            if self.names or not (self.build.running or self.settings.auto_index and
                                  await self._buildable()):
                raise
            return None

    async def _buildable(self) -> bool:
        """No store yet, and one this user may write: a build can make it."""
        try:
            return await anyio.to_thread.run_sync(missing, self.settings) and \
                write_problem(self.settings) is None
        except (SemcodeError, OSError, RuntimeError, ValueError):  # not even reachable:
            return False  # the searcher's own error says why

    def first_build(self) -> None:
        """Build the index of a repository that has none, in the background (a running
        build is left to run)."""
        self.build.start()

    def building(self) -> list[str]:
        """What every answer says while a build this server started runs, or just failed."""
        report = self.build.report()
        return [report.text()] if report is not None and report.state != "done" else []

    def _open(self) -> Searcher | Searchers:
        """The searcher, watching its checkouts: this server lives long, so a search asks
        git what changed only when something did (SEMCODE_WATCH=0: on every search)."""
        opened = Searchers.open(self.settings, self.names) if self.names else \
            Searcher.of(self.settings)
        if self.settings.watch:
            opened.watch_worktree()
        return opened

    def scoped(self, searcher: Searcher | Searchers,
               repository: list[str] | None) -> Searcher | Searchers:
        """The searcher over the repositories a call names (all: none named)."""
        if not repository:
            return searcher
        if not isinstance(searcher, Searchers):
            raise ToolError("this server indexes one repository: omit `repository`")
        try:
            return searcher.only(chosen(self.settings, repository))
        except SemcodeError as exc:  # a name SEMCODE_REPOS lacks, or one not indexed yet
            raise ToolError(str(exc)) from exc


async def _answer(work: Callable[[], T]) -> T:
    """Run ``work`` in a worker thread; a SemcodeError (or a damaged store file) becomes the
    tool's error message."""
    try:
        return await anyio.to_thread.run_sync(work)
    except SemcodeError as exc:
        raise ToolError(str(exc)) from exc
    except (RuntimeError, OSError, ValueError) as exc:
        if (said := as_store_error(exc)) is None:
            raise
        raise ToolError(str(said)) from exc


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ToolError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")


def _listed(value: str | list[str] | None) -> list[str]:
    """A filter given as one value or a list of them."""
    return ([value] if value else []) if isinstance(value, str) else list(value or [])


def _in_repository(settings: Settings, path: str, glob: bool = False) -> str:
    """A path (or glob) as an agent pastes it back — absolute, ``./``-relative or relative to
    the repository — as the index holds it; one outside the repository is a ToolError."""
    top = repository_of(path, list(settings.repositories.values()) or [settings.repo])
    try:
        return (glob_in_repository if glob else in_repository)(path, top)
    except QueryError as exc:
        raise ToolError(str(exc)) from None


def _bounds(low: int, high: int) -> dict:
    """The range of a number, stated in its schema (checked by the tool, whose error says it
    plainly)."""
    return {"minimum": low, "maximum": high}


class _Server(MCPServer):
    """The SDK's server, publishing input schemas without a title per argument (its name says
    it): a client pays for every word of the tool list; ``index``: what its tools read."""

    index: _Index

    async def list_tools(self) -> list[Any]:
        tools = await super().list_tools()
        for tool in tools:
            tool.input_schema.pop("title", None)
            for argument in tool.input_schema.get("properties", {}).values():
                argument.pop("title", None)
        return tools


READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)
# update_index writes the index (never deletes what it cannot rebuild); asked twice, it runs once
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                         open_world_hint=False)
NO_INDEX_YET = ("no index yet: it is being built in the background — answering by keyword from "
                "the working tree meanwhile (index_status says how far it is)")
Names = str | list[str]  # one value or several; "" or []: no filter
Relation = Literal["definition", "references", "callers", "callees"]


def build_server(settings: Settings, names: Sequence[str] = ()) -> _Server:
    """The server of one repository, or of the deployment's repositories ``names``: then
    hits say which repository they are in and every tool takes ``repository``."""
    index = _Index(settings, names)
    where = (f"the git repositories {', '.join(names)}" if names else "a git repository")
    server = _Server("semcode", version=__version__, instructions=(
        f"Search {where} by meaning or identifier: its verified index of the committed branch "
        "plus the checkout's uncommitted changes (hit `source`: index | worktree). Prefer it "
        "to grep for where something is done or defined, find_symbol for who calls what; "
        "grep for exact strings."))
    server.index = index

    @server.tool(annotations=READ_ONLY, description=(
        "Find code by what it does or by identifier (embeddings + BM25) in the committed "
        "branch and the uncommitted working tree; use it over grep when the exact words are "
        "unknown. Hits are whole definitions: path, lines, score, source."))
    async def search_code(
        query: Annotated[str, Field(description="What the code does, or an identifier")],
        limit: Annotated[int, Field(json_schema_extra=_bounds(1, MAX_LIMIT))] = DEFAULT_LIMIT,
        language: Annotated[Names, Field(description=", ".join(known_languages()))] = "",
        path: Annotated[Names, Field(description="gitignore-style globs, e.g. src/**")] = "",
        kind: Annotated[Names, Field(description=", ".join(known_kinds()))] = "",
        mode: SearchMode = DEFAULT_MODE,
        max_tokens: Annotated[int, Field(description="Page budget: whole hits until spent",
                                         json_schema_extra=_bounds(MIN_TOKENS, MAX_TOKENS))]
        = DEFAULT_TOKENS,
        cursor: Annotated[str | None, Field(description="next_cursor of the last page")] = None,
        repository: Annotated[Names, Field(description="(several repositories)")] = "",
    ) -> Annotated[CallToolResult, SearchResult]:
        _check_limit(limit)
        if not query.strip():
            raise ToolError("query is empty")
        if not MIN_TOKENS <= max_tokens <= MAX_TOKENS:
            raise ToolError(f"max_tokens must be between {MIN_TOKENS} and {MAX_TOKENS}")
        languages, kinds, repositories = _listed(language), _listed(kind), _listed(repository)
        paths = [_in_repository(settings, glob, glob=True) for glob in _listed(path)]
        filters = [sorted(languages), sorted(paths), sorted(kinds), mode, sorted(repositories)]
        offset = offset_of(cursor, query, filters)
        opened = await index.searcher_if_indexed()
        k = min(offset + limit + 1, MAX_K)
        if opened is None:  # no index yet: by keyword from the working tree, while it builds
            index.first_build()
            answer = await _answer(lambda: keyword_answer(
                settings.repo, settings.model, query, k=k, languages=languages, paths=paths,
                kinds=kinds, warning=NO_INDEX_YET, max_file_bytes=settings.max_file_bytes,
                parse_timeout=settings.parse_timeout))
        else:
            searcher = index.scoped(opened, repositories)
            answer = await _answer(lambda: searcher.answer(
                query, k=k, languages=languages, paths=paths, kinds=kinds, mode=mode))
            searcher.finish_worktree()  # what the budget left pending, while the agent reads
        answer.warnings += index.building()
        rest = answer.hits[offset:]
        hits, used = page(rest[:limit], max_tokens)
        more = len(rest) > len(hits) and offset + len(hits) < MAX_K
        text = "\n".join([*(f"warning: {w}" for w in answer.warnings), readable(hits)])
        if more:
            text += "\n\n(more results: call again with the cursor in next_cursor)"
        return result(SearchResult(
            query=query, mode=mode, hits=hits, warnings=answer.warnings, tokens=used,
            next_cursor=cursor_at(query, filters, offset + len(hits)) if more else None), text)

    @server.tool(annotations=READ_ONLY, structured_output=False,
                 description="Find code like the definition at a file's line (or the file).")
    async def find_similar(
        path: Annotated[str, Field(description="File path (or path:line), as search gives")],
        line: Annotated[int | None, Field(description="A line inside the definition")] = None,
        limit: Annotated[int, Field(json_schema_extra=_bounds(1, MAX_LIMIT))] = DEFAULT_LIMIT,
        repository: Annotated[str | None, Field(description="(several repositories)")] = None,
        across: Annotated[bool, Field(description="(several) look in all")] = False,
    ) -> CallToolResult:
        _check_limit(limit)
        if line is None:
            path, line = split_line(path)
        path = _in_repository(settings, path)
        searcher = await index.searcher_if_indexed()
        if searcher is None:
            index.first_build()
            raise ToolError("no index yet: find_similar needs one — " +
                            "; ".join(index.building() or ["run update_index"]) +
                            " (search_code answers by keyword meanwhile)")
        if isinstance(searcher, Searchers):
            indexed = list(searcher.searchers)
            name = repository or (indexed[0] if len(indexed) == 1 else None)
            if name is None:
                raise ToolError(f"name the repository the path is in: one of "
                                f"{', '.join(indexed)}")
            hits = await _answer(lambda: searcher.similar(name, path, line, k=limit,
                                                          across=across))
        else:
            if repository or across:
                raise ToolError("this server indexes one repository: omit `repository` "
                                "and `across`")
            hits = await _answer(lambda: searcher.similar(path, line, k=limit))
        target = f"{path}:{line}" if line is not None else path
        return result(SimilarResult(target=target, hits=hits), readable(hits))

    @server.tool(annotations=READ_ONLY, structured_output=False, description=(
        "Where a name is defined, used (calls, imports, types), who calls it, what it calls; "
        "by name, ranked same file > imported > elsewhere; index + working tree."))
    async def find_symbol(
        name: Annotated[str, Field(description="name, Class.method, or path:line")],
        relation: Relation = "definition",
        calls_only: bool = False,
        kind: Annotated[str, Field(description="definition kind: function, method…")] = "",
        max_tokens: Annotated[int, Field(json_schema_extra=_bounds(MIN_TOKENS, MAX_TOKENS))]
        = DEFAULT_TOKENS,
        cursor: str | None = None,
        repository: Annotated[str | None, Field(description="(several repositories)")] = None,
    ) -> CallToolResult:
        if not name.strip():
            raise ToolError("name is empty")
        if not MIN_TOKENS <= max_tokens <= MAX_TOKENS:
            raise ToolError(f"max_tokens must be between {MIN_TOKENS} and {MAX_TOKENS}")
        given, line = split_line(name.strip())
        asked = f"{_in_repository(settings, given)}:{line}" if line is not None else given
        filters = [relation, calls_only, kind, repository or ""]
        offset = offset_of(cursor, asked, filters, most=1 << 30)
        opened = await index.searcher_if_indexed()
        if opened is None:
            index.first_build()
            raise ToolError("no index yet: find_symbol needs one — " +
                            "; ".join(index.building() or ["run update_index"]))
        if isinstance(opened, Searchers):
            indexed = list(opened.searchers)
            chosen_name = repository or (indexed[0] if len(indexed) == 1 else None)
            if chosen_name not in opened.searchers:
                raise ToolError(f"name the repository: one of {', '.join(indexed)}")
            searcher = opened.searchers[chosen_name]
        else:
            searcher = opened
        answer = await _answer(lambda: searcher.navigator().answer(
            relation, asked, calls=calls_only, kind=kind))
        found = answer.to_dict()
        rest = found["results"][offset:]
        items, used = page_items(rest, max_tokens)
        more = len(rest) > len(items)
        text = "\n".join([*(f"warning: {w}" for w in answer.warnings),
                          f"{len(found['results'])} {relation} result(s) for {answer.name} "
                          f"({answer.note})", *map(symbol_line, items)])
        if more:
            text += "\n\n(more results: call again with the cursor in next_cursor)"
        return result(SymbolResult(
            name=answer.name, relation=relation, note=answer.note, resolved=found["resolved"],
            results=items, total=len(found["results"]), warnings=answer.warnings, tokens=used,
            next_cursor=cursor_at(asked, filters, offset + len(items)) if more else None), text)

    @server.tool(annotations=WRITES, structured_output=False, description=(
        "Bring the index up to date with the tracked branch (what is new since it was "
        "built): runs `semcode index` in the background and returns at once; index_status "
        "and search answers say how far it is."))
    async def update_index() -> CallToolResult:
        if (problem := write_problem(settings)) is not None:
            raise ToolError(problem)
        started = await anyio.to_thread.run_sync(index.build.start)
        report = index.build.report()
        assert report is not None
        said = "started" if started else "already running (one build at a time)"
        return result(UpdateResult(started=started, build=report),
                       f"index build {said}: {report.text()}")

    if names:
        @server.tool(name="index_status", annotations=READ_ONLY, structured_output=False,
                     description="Each repository's index: commit, freshness, what the "
                                 "working tree adds, checks; healthy when all are.")
        async def deployment_status_tool() -> CallToolResult:
            status = await _answer(lambda: deployment_status(settings, names))
            return result(status, status.text())
        return server

    @server.tool(name="index_status", annotations=READ_ONLY, structured_output=False,
                 description="The index: commit vs branch head, what the working tree adds, "
                             "file and chunk counts, checks, a build in progress.")
    async def index_status_tool() -> CallToolResult:
        status = await _answer(lambda: index_status(settings.store_uri, settings.repo,
                                                    settings.branch))
        status = status.model_copy(update={"build": index.build.report()})
        return result(status, status.text())

    return server


async def _serve_stdio(server: _Server) -> None:
    async with anyio.create_task_group() as early, stdio_server() as (read_stream, write_stream):
        early.start_soon(server.index.open_early)
        low = server._lowlevel_server
        await low.run(AnswerUnreadable(read_stream, write_stream), write_stream,
                      low.create_initialization_options())


def serve(settings: Settings, names: Sequence[str] = ()) -> None:
    server = build_server(settings, names)
    try:
        anyio.run(_serve_stdio, server)
    finally:  # the client left: a build still running stops (the next run goes on from it)
        server.index.build.stop()
