"""``semcode mcp``: an MCP server over stdio for AI coding assistants.

Three tools: search_code, find_similar, index_status. Each returns structured content (its
output schema is published) plus readable text. The store is opened and the model loaded
once, on the first call; calls run in worker threads so several can be answered at once.
Only the index is read: no tool opens a file of the repository.
"""

from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from semcode.config import Settings
from semcode.search import Hit, Searcher
from semcode.status import index_status

Mode = Literal["hybrid", "vector", "keyword"]
MAX_LIMIT = 50


class CodeHit(BaseModel):
    path: str = Field(description="Path relative to the repository root")
    start_line: int = Field(description="First line, 1-based")
    end_line: int = Field(description="Last line, inclusive")
    symbol: str
    language: str
    kind: str
    score: float
    text: str


class SearchResult(BaseModel):
    query: str
    mode: str
    hits: list[CodeHit]


class SimilarResult(BaseModel):
    target: str
    hits: list[CodeHit]


class StatusResult(BaseModel):
    exists: bool
    store: str
    indexed_commit: str | None = None
    branch: str | None = None
    branch_head: str | None = None
    commits_behind: int | None = None
    fresh: bool | None = None
    files_indexed: int = 0
    files_skipped: int = 0
    skip_reasons: dict[str, int] = {}
    chunks: int = 0
    vectors: int = 0
    model: str | None = None
    checks: dict[str, bool | None] = {}


def _readable(hits: list[Hit]) -> str:
    if not hits:
        return "no results"
    blocks = []
    for h in hits:
        name = f" {h.symbol}" if h.symbol else ""
        blocks.append(f"{h.path}:{h.start_line}-{h.end_line}{name} ({h.kind}, {h.language}, "
                      f"score {h.score:.3f})\n```{h.language}\n{h.text.rstrip()}\n```")
    return "\n\n".join(blocks)


def _code_hits(hits: list[Hit]) -> list[CodeHit]:
    return [CodeHit(**h.as_dict()) for h in hits]


def _result(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=model.model_dump(mode="json"))


class _Index:
    """Opens the searcher once, on first use, shared by every call."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._searcher: Searcher | None = None
        self._lock = anyio.Lock()

    async def searcher(self) -> Searcher:
        async with self._lock:
            if self._searcher is None:
                try:
                    self._searcher = await anyio.to_thread.run_sync(
                        Searcher, self.settings.store_uri, self.settings.model,
                        self.settings.device)
                except (FileNotFoundError, ValueError) as exc:
                    raise ToolError(str(exc)) from exc
            return self._searcher


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ToolError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")


def build_server(settings: Settings) -> MCPServer:
    index = _Index(settings)
    server = MCPServer("semcode", instructions=(
        "Semantic and keyword search over one indexed git repository. Use search_code to find "
        "code by what it does or by identifier, find_similar for code like a given place, "
        "and index_status to see how fresh the index is."))

    @server.tool(description="Find code by meaning or identifier (hybrid: embeddings + BM25).")
    async def search_code(
        query: Annotated[str, Field(description="What the code does, or an identifier")],
        limit: Annotated[int, Field(description="Number of results, 1-50")] = 10,
        language: Annotated[list[str] | None, Field(description="Only these languages")] = None,
        path: Annotated[list[str] | None, Field(description="Only paths matching these "
                                                "gitignore-style globs")] = None,
        kind: Annotated[list[str] | None, Field(description="Only these chunk kinds "
                                                "(function, method, class, …)")] = None,
        mode: Annotated[Mode, Field(description="hybrid, vector or keyword")] = "hybrid",
    ) -> Annotated[CallToolResult, SearchResult]:
        _check_limit(limit)
        if not query.strip():
            raise ToolError("query is empty")
        searcher = await index.searcher()
        hits = await anyio.to_thread.run_sync(lambda: searcher.search(
            query, k=limit, languages=language or (), paths=path or (), kinds=kind or (),
            mode=mode))
        return _result(SearchResult(query=query, mode=mode, hits=_code_hits(hits)),
                       _readable(hits))

    @server.tool(description="Find code similar to the chunk at a path and line of the index.")
    async def find_similar(
        path: Annotated[str, Field(description="Repo-relative path of an indexed file")],
        line: Annotated[int | None, Field(description="A line inside the chunk; omit for "
                                          "the whole file")] = None,
        limit: Annotated[int, Field(description="Number of results, 1-50")] = 10,
    ) -> Annotated[CallToolResult, SimilarResult]:
        _check_limit(limit)
        searcher = await index.searcher()
        try:
            hits = await anyio.to_thread.run_sync(lambda: searcher.similar(path, line, k=limit))
        except FileNotFoundError as exc:
            raise ToolError(str(exc)) from exc
        target = f"{path}:{line}" if line is not None else path
        return _result(SimilarResult(target=target, hits=_code_hits(hits)), _readable(hits))

    @server.tool(name="index_status", description="What the index holds and whether it is "
                                                  "up to date with the branch head.")
    async def index_status_tool() -> Annotated[CallToolResult, StatusResult]:
        raw = await anyio.to_thread.run_sync(
            index_status, settings.store_uri, settings.repo, settings.branch)
        result = _status_result(raw)
        return _result(result, _status_text(result))

    return server


def _status_result(raw: dict) -> StatusResult:
    if not raw.get("exists"):
        return StatusResult(exists=False, store=raw["store"])
    fresh = raw["freshness"]
    return StatusResult(
        exists=True, store=raw["store"], indexed_commit=raw["indexed_commit"],
        branch=fresh["branch"], branch_head=fresh["head"], commits_behind=fresh["behind"],
        fresh=fresh["fresh"], files_indexed=raw["files"]["indexed"],
        files_skipped=raw["files"]["skipped"], skip_reasons=raw["files"]["skip_reasons"],
        chunks=raw["chunks"], vectors=raw["vectors"], model=raw["model"], checks=raw["checks"])


def _status_text(s: StatusResult) -> str:
    if not s.exists:
        return f"no index at {s.store} — run `semcode index` first"
    freshness = ("up to date" if s.fresh else f"{s.commits_behind} commit(s) behind"
                 if s.commits_behind is not None else "freshness unknown")
    checks = ", ".join(f"{k} {'passed' if v else 'FAILED'}" for k, v in s.checks.items())
    return (f"indexed {s.indexed_commit} ({freshness}; branch {s.branch} at {s.branch_head})\n"
            f"{s.files_indexed} files indexed, {s.files_skipped} skipped, {s.chunks} chunks, "
            f"{s.vectors} vectors, model {s.model}\nchecks: {checks or 'not run'}")


def serve(settings: Settings) -> None:
    build_server(settings).run("stdio")
