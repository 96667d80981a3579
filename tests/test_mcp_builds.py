"""The MCP server builds the index itself: on a repository's first use, in the background,
answering by keyword from the working tree meanwhile; and when an agent asks (update_index),
one build at a time, never on a store this user may only read."""

import subprocess
import sys

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import ALL_PASSED
from tests.dagster_helpers import index_fixture_repo
from tests.mcp_helpers import indexed_repo, run, until_built

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    return indexed_repo(tmp_path_factory.mktemp("mcp-builds"))


def test_a_server_started_before_its_index_answers_once_the_index_exists(indexed, tmp_path):
    import shutil

    repo, store = indexed
    later = tmp_path / "store"  # the server opens it early, while the client says hello

    async def body(client):
        await anyio.sleep(1.0)  # past the early open, which finds no index
        before = await client.call_tool("search_code", {"query": "reverse a string"})
        shutil.copytree(store, later)
        after = await client.call_tool("search_code", {"query": "reverse a string"})
        return before, after

    before, after = run(repo, str(later), body, env={"SEMCODE_AUTO_INDEX": "0"})
    assert before.is_error and "semcode index" in before.content[0].text
    assert not after.is_error and after.structured_content["hits"]


def test_a_repository_with_no_index_is_answered_at_once_while_it_builds(tmp_path):
    from tests.conftest import make_repo

    repo = make_repo(tmp_path / "repo")

    async def body(client):
        ask = {"query": "send a welcome email", "limit": 3}
        first = await client.call_tool("search_code", ask)
        similar = await client.call_tool("find_similar", {"path": "src/shop/users.py:8"})
        during = []  # answers while it builds: snapshot written, chunks, no vectors yet
        for _ in range(1200):
            status = await client.call_tool("index_status", {})
            if status.structured_content["build"]["state"] != "running":
                break
            during.append(await client.call_tool("search_code", ask))
            await anyio.sleep(0.2)
        later = await client.call_tool("search_code", ask)
        return first, similar, during, status, later

    first, similar, during, status, later = run(repo, str(tmp_path / "store"), body)
    assert not any(answer.is_error for answer in during), \
        [a.content[0].text for a in during if a.is_error]
    assert not first.is_error
    hits = first.structured_content["hits"]
    assert hits[0]["symbol"] == "Mailer.sendWelcomeEmail"
    assert {(h["source"], h["matched_by"]) for h in hits} == {("worktree", "keyword")}
    warnings = first.structured_content["warnings"]
    assert "no index yet" in warnings[0]
    assert any(w.startswith("index build running") for w in warnings), warnings
    assert similar.is_error and "no index yet" in similar.content[0].text
    assert status.structured_content["build"]["state"] == "done", status.content[0].text
    assert status.structured_content["checks"] == ALL_PASSED
    assert later.structured_content["hits"][0]["source"] == "index"
    assert not later.structured_content["warnings"]


def test_update_index_builds_in_the_background_one_build_at_a_time(tmp_path):
    from tests.conftest import commit_all

    repo, store, result = index_fixture_repo(tmp_path)
    assert result.success
    (repo / "src" / "shop" / "refunds.py").write_text(
        "def refund_an_order_to_the_original_card(order):\n    return order.total\n")
    commit_all(repo, "refunds")

    async def body(client):
        first = await client.call_tool("update_index", {})
        again = await client.call_tool("update_index", {})
        status = await until_built(client)
        found = await client.call_tool("search_code", {
            "query": "refund an order to the original card", "limit": 1})
        return first, again, status, found

    first, again, status, found = run(repo, store, body)
    assert not first.is_error and first.structured_content["started"] is True
    assert first.structured_content["build"]["state"] == "running"
    assert again.structured_content["started"] is False  # never two builds at once
    assert "already running" in again.content[0].text
    assert status.structured_content["build"]["state"] == "done"
    assert status.structured_content["freshness"]["fresh"] is True
    hit = found.structured_content["hits"][0]
    assert (hit["symbol"], hit["source"]) == ("refund_an_order_to_the_original_card", "index")


def test_update_index_refuses_a_store_this_user_may_only_read(indexed):
    """As another user (root writes everywhere): the team's index, readable, not writable."""
    import shutil
    import tempfile
    from pathlib import Path

    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if subprocess.run([*nobody, sys.executable, "-c", "import semcode"],
                      capture_output=True).returncode != 0:
        pytest.skip("this Python or checkout cannot be run by another user here")
    repo, store = indexed
    home = Path(tempfile.mkdtemp(prefix="semcode-read-only-"))
    try:
        home.chmod(0o755)
        shutil.copytree(store, home / "store")
        shutil.copytree(repo, home / "repo")
        subprocess.run(["chmod", "-R", "a+rX,go-w", str(home)], check=True)
        server = StdioServerParameters(
            command=nobody[0], args=[*nobody[1:], sys.executable, "-m", "semcode", "mcp",
                                     "--repo", str(home / "repo"), "--store",
                                     str(home / "store")],
            env={"HOME": str(home), "HF_HUB_OFFLINE": "1", "GIT_CONFIG_COUNT": "1",
                 "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"})

        async def body():
            async with Client(server) as client:
                update = await client.call_tool("update_index", {})
                search = await client.call_tool("search_code", {"query": "reverse a string"})
                return update, search

        update, search = anyio.run(body)
    finally:
        shutil.rmtree(home)
    assert update.is_error and "read-only here" in update.content[0].text
    assert not search.is_error and search.structured_content["hits"]  # it still searches


def test_an_index_whose_first_run_stopped_before_its_vectors_is_answered_and_finished(
        indexed, tmp_path):
    """What a search sees in the middle of a first build, held still: the snapshot and the
    chunks written, no vectors yet."""
    import shutil

    from semcode.store.tables import Store

    repo, store = indexed
    shutil.copytree(store, tmp_path / "store")
    Store(str(tmp_path / "store")).drop("vectors")

    async def body(client):
        first = await client.call_tool("search_code", {"query": "send a welcome email"})
        status = await until_built(client)
        return first, status

    first, status = run(repo, str(tmp_path / "store"), body)
    assert not first.is_error, first.content[0].text
    assert first.structured_content["hits"][0]["matched_by"] == "keyword"
    assert status.structured_content["build"]["state"] == "done"
    assert status.structured_content["chunks"] == status.structured_content["vectors"] > 0
