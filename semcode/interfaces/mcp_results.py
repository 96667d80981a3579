"""What the MCP tools answer: the results' shapes, their readable text, pages of whole hits
within a token budget, and the cursors that continue them."""

import base64
import hashlib
import json

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field

from semcode.reports import untitled
from semcode.search.searcher import MAX_K, Hit
from semcode.status_reports import BuildReport

# Claude Code refuses tool output over 25,000 tokens; a page stays well under it.
DEFAULT_TOKENS = 8_000
MIN_TOKENS, MAX_TOKENS = 500, 20_000


class SearchResult(BaseModel):
    model_config = ConfigDict(json_schema_extra=untitled)

    query: str
    mode: str
    hits: list[Hit]
    warnings: list[str] = Field(default=[], description="What makes these results partial "
                                "(e.g. an incomplete index), with what to run")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor`, with the "
                                    "same query and filters, for the next page; null: no more")
    tokens: int = Field(default=0, description="Estimated tokens of this page")


class SimilarResult(BaseModel):
    target: str
    hits: list[Hit]


class SymbolResult(BaseModel):
    model_config = ConfigDict(json_schema_extra=untitled)

    name: str = Field(description="The name asked about (the symbol at PATH:LINE, if given)")
    relation: str
    note: str = Field(description="How names were matched: by name, ranked by scope")
    resolved: list[dict] = Field(description="The definitions the name resolved to")
    results: list[dict]
    total: int = Field(description="Results in all, over every page")
    warnings: list[str] = []
    next_cursor: str | None = Field(default=None, description="Pass as `cursor`, with the "
                                    "same arguments, for the next page; null: no more")
    tokens: int = 0


class UpdateResult(BaseModel):
    started: bool  # false: a build this server started is still running
    build: BuildReport


def readable(hits: list[Hit]) -> str:
    if not hits:
        return "no results"
    blocks = []
    for h in hits:
        name = f" {h.symbol}" if h.symbol else ""
        source = ", from the working tree" if h.source == "worktree" else ""
        blocks.append(f"{h.path}:{h.start_line}-{h.end_line}{name} ({h.kind}, {h.language}, "
                      f"score {h.score:.3f}, matched by {h.matched_by}{source})\n"
                      f"```{h.language}\n"
                      f"{h.text.rstrip()}\n```")
    return "\n\n".join(blocks)


def symbol_line(item: dict) -> str:
    """One navigation result as a line an assistant reads."""
    if "caller" in item:
        return (f"{item['path']}:{item['line']} {item['caller']} ({item['kind']}) calls at "
                f"{', '.join(map(str, item['calls']))}"
                + (f" [{item['scope']}]" if item.get("scope") else ""))
    if "defined_at" in item:
        there = item["defined_at"][0] if item["defined_at"] else None
        receiver = f"{item['receiver']}." if item["receiver"] else ""
        return (f"line {item['line']}: {receiver}{item['name']}() → " +
                (f"{there['path']}:{there['line']} ({there['kind']})" if there
                 else "not indexed"))
    label = item.get("qualified") or item["name"]
    inside = f" in {item['enclosing']}" if item.get("enclosing") and not \
        item.get("qualified") else ""
    return (f"{item['path']}:{item['line']} {label} ({item['kind']}{inside})"
            + (f" [{item['scope']}]" if item.get("scope") else ""))


def page_items(items: list[dict], max_tokens: int) -> tuple[list[dict], int]:
    """Whole results, in order, while their line and their structure fit in ``max_tokens``;
    at least one."""
    taken: list[dict] = []
    used = 0
    for item in items:
        cost = tokens(symbol_line(item)) + tokens(json.dumps(item))
        if taken and used + cost > max_tokens:
            break
        taken.append(item)
        used += cost
    return taken, used


def tokens(text: str) -> int:
    """A cautious estimate of an assistant's tokens for text (code runs ~3-4 characters a
    token; 3 errs toward smaller pages)."""
    return -(-len(text) // 3)


def page(hits: list[Hit], max_tokens: int) -> tuple[list[Hit], int]:
    """Whole hits, best first, while their text (readable and structured) fits in
    ``max_tokens``; at least one, so a page always moves on."""
    taken: list[Hit] = []
    used = 0
    for hit in hits:
        cost = tokens(readable([hit])) + tokens(hit.model_dump_json())
        if taken and used + cost > max_tokens:
            break
        taken.append(hit)
        used += cost
    return taken, used


def cursor_at(query: str, filters: list, offset: int) -> str:
    """Where the next page starts, tied to the query and filters it continues."""
    key = hashlib.blake2b(json.dumps([query, filters]).encode(), digest_size=6).hexdigest()
    return base64.urlsafe_b64encode(json.dumps({"k": key, "o": offset}).encode()).decode()


def offset_of(cursor: str | None, query: str, filters: list, most: int = MAX_K) -> int:
    if not cursor:
        return 0
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        offset = int(state["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolError("cursor is not one this server gave — start again without it") \
            from exc
    if not 0 <= offset < most:
        raise ToolError("cursor is not one this server gave (its offset is out of range) — "
                        "start again without it")
    if cursor_at(query, filters, offset) != cursor:
        raise ToolError("cursor belongs to another query or other filters — pass the same "
                        "query and filters as the page it came from, or start without it")
    return offset


def result(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=model.model_dump(mode="json"))
