"""Driving `semcode mcp` with the official MCP client over stdio, for the MCP tests."""

import sys

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.dagster_helpers import index_fixture_repo


def indexed_repo(root):
    """The fixture repository under ``root``, indexed: (repo, store)."""
    repo, store, result = index_fixture_repo(root)
    assert result.success
    return repo, store


def server(repo, store, env=None) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable,
                                 args=["-m", "semcode", "mcp", "--repo", str(repo),
                                       "--store", store], env=env)


async def _session(repo, store, body, env=None):
    async with Client(server(repo, store, env)) as client:
        return await body(client)


def run(repo, store, body, env=None):
    """``body(client)`` against a server of ``repo`` and ``store``; what it returns."""
    return anyio.run(_session, repo, store, body, env)


async def until_built(client, seconds=600):
    """index_status until the build this server started is no longer running."""
    for _ in range(int(seconds / 0.5)):
        status = await client.call_tool("index_status", {})
        build = status.structured_content.get("build")
        if build is None or build["state"] != "running":
            return status
        await anyio.sleep(0.5)
    raise AssertionError("the build did not end")
