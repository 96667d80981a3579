"""The read side of the MCP server's stdio transport, answering lines that are no JSON-RPC
message instead of leaving the client waiting."""

from typing import Any

import anyio
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError


class AnswerUnreadable:
    """The read side of the stdio transport, answering each line that is not a JSON-RPC
    message as JSON-RPC 2.0 asks — a Parse error (-32700) for text that is not JSON, an
    Invalid Request (-32600) for JSON that is no message, each with id null — where the SDK
    passes the line's exception on and the client waits for an answer that never comes."""

    def __init__(self, inner: Any, write: Any):
        self._inner, self._write = inner, write

    async def receive(self) -> Any:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            await self._write.send(SessionMessage(JSONRPCError(
                jsonrpc="2.0", id=None, error=unreadable(item))))

    def __aiter__(self) -> "AnswerUnreadable":
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> "AnswerUnreadable":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.aclose()

    def __getattr__(self, name: str) -> Any:  # last_context, aclose, …
        return getattr(self._inner, name)


def unreadable(exc: Exception) -> ErrorData:
    problems = exc.errors() if isinstance(exc, ValidationError) else []
    if any(p.get("type") == "json_invalid" for p in problems):
        return ErrorData(code=PARSE_ERROR, message="Parse error: the line is not JSON")
    return ErrorData(code=INVALID_REQUEST, message="Invalid Request: the line is not a "
                     "JSON-RPC 2.0 request, notification or response")
