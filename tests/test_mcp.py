"""The MCP server, driven by the official MCP client over stdio."""

import json
import os
import subprocess
import sys

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.mcp_helpers import indexed_repo, run

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    return indexed_repo(tmp_path_factory.mktemp("mcp"))


def test_lists_its_tools_in_few_tokens_all_read_only_but_the_update(indexed):
    async def body(client):
        return (await client.list_tools()).tools, client.server_info

    listed, server = run(*indexed, body)
    tools = {t.name: t for t in listed}
    assert set(tools) == {"search_code", "find_similar", "find_symbol", "index_status",
                          "update_index"}
    assert server.version and server.version != "0+unknown"
    assert all(t.annotations.read_only_hint is (name != "update_index") and
               not t.annotations.destructive_hint for name, t in tools.items())
    assert tools["update_index"].annotations.idempotent_hint
    search = tools["search_code"]
    assert search.output_schema  # the hits' shape; the other two answer text an agent reads
    arguments = search.input_schema["properties"]
    assert {"query", "limit", "language", "path", "kind", "mode", "max_tokens", "cursor"} <= \
        set(arguments)
    assert (arguments["limit"]["minimum"], arguments["limit"]["maximum"]) == (1, 50)
    assert arguments["max_tokens"]["minimum"] == 500
    assert "python" in arguments["language"]["description"]
    assert "method" in arguments["kind"]["description"]
    assert {"committed", "working tree", "grep"} <= {
        w for w in ("committed", "working tree", "grep") if w in search.description}
    spent = len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True)
                            for t in listed]))
    # ~4 characters a token: what a client pays on every list (five tools: find_symbol ~250)
    assert spent / 4 <= 1_550


def test_each_tool_answers_with_structured_content_and_text(indexed):
    async def body(client):
        search = await client.call_tool("search_code", {"query": "least recently used cache",
                                                        "limit": 3, "language": ["go"]})
        similar = await client.call_tool("find_similar", {"path": "src/shop/users.py",
                                                          "line": 8, "limit": 2})
        status = await client.call_tool("index_status", {})
        return search, similar, status

    search, similar, status = run(*indexed, body)
    assert not search.is_error
    hits = search.structured_content["hits"]
    assert hits and {h["language"] for h in hits} == {"go"}
    assert "LRU.Get" in [h["symbol"] for h in hits]
    assert "go/cache/lru.go:" in search.content[0].text
    assert not similar.is_error and len(similar.structured_content["hits"]) == 2
    assert not any(h["path"] == "src/shop/users.py" and h["start_line"] <= 8 <= h["end_line"]
                   for h in similar.structured_content["hits"])  # never itself
    assert status.structured_content["freshness"]["fresh"] is True
    assert status.structured_content["chunks"] == status.structured_content["vectors"] > 0
    assert "up to date" in status.content[0].text


def test_find_symbol_navigates_by_name_in_pages_within_the_budget(indexed):
    async def body(client):
        defined = await client.call_tool("find_symbol", {"name": "LRU.Get"})
        callees = await client.call_tool("find_symbol", {"name": "go/cache/lru.go:13",
                                                         "relation": "callees"})
        pages, cursor = [], None
        while True:
            args = {"name": "LRU", "relation": "references", "max_tokens": 500}
            page = await client.call_tool("find_symbol", {**args, **(
                {"cursor": cursor} if cursor else {})})
            pages.append(page.structured_content)
            cursor = page.structured_content["next_cursor"]
            if cursor is None or len(pages) > 20:
                return defined, callees, pages

    defined, callees, pages = run(*indexed, body)
    assert not defined.is_error
    assert [(d["path"], d["line"], d["kind"]) for d in defined.structured_content["results"]] \
        == [("go/cache/lru.go", 13, "method")]
    assert "name-based" in defined.structured_content["note"]
    assert "go/cache/lru.go:13" in defined.content[0].text
    assert {c["name"] for c in callees.structured_content["results"]} == {"MoveToFront"}
    seen = [(r["path"], r["line"]) for p in pages for r in p["results"]]
    assert len(seen) == len(set(seen)) == pages[0]["total"] >= 3  # every page, none twice
    assert all(p["tokens"] <= 500 or len(p["results"]) == 1 for p in pages)


def test_malformed_arguments_get_a_clear_error_and_the_server_keeps_serving(indexed):
    async def body(client):
        bad_type = await client.call_tool("search_code", {"query": "x", "limit": "many"})
        bad_limit = await client.call_tool("search_code", {"query": "x", "limit": 0})
        missing = await client.call_tool("search_code", {})
        unknown = await client.call_tool("find_similar", {"path": "src/shop/nowhere.py"})
        hostile = await client.call_tool("search_code", {"query": "user",
                                                         "path": ["*'); DROP"]})
        unknown_kind = await client.call_tool("search_code", {
            "query": "user", "kind": ["function' OR '1'='1"]})
        unknown_language = await client.call_tool("search_code", {
            "query": "user", "language": ["python' OR '1'='1"]})
        good = await client.call_tool("search_code", {"query": "send a welcome email"})
        return bad_type, bad_limit, missing, unknown, unknown_language, unknown_kind, hostile, \
            good

    bad_type, bad_limit, missing, unknown, unknown_language, unknown_kind, hostile, good = \
        run(*indexed, body)
    for result in (bad_type, bad_limit, missing, unknown, unknown_language, unknown_kind):
        assert result.is_error
        assert result.content[0].text
    assert "limit" in bad_limit.content[0].text
    assert "no indexed chunk" in unknown.content[0].text
    assert "unknown language" in unknown_language.content[0].text
    assert "unknown kind" in unknown_kind.content[0].text  # and the kinds there are:
    assert "function, impl" in unknown_kind.content[0].text
    assert not hostile.is_error and hostile.structured_content["hits"] == []
    assert "matches the path filter" in hostile.structured_content["warnings"][0]
    assert not good.is_error
    assert good.structured_content["hits"][0]["symbol"] == "Mailer.sendWelcomeEmail"


def test_concurrent_calls_are_all_answered(indexed):
    queries = ["reverse a string", "matrix determinant", "retry policy", "email address",
               "shopping cart total", "route http requests"]

    async def body(client):
        results = {}

        async def one(q):
            results[q] = await client.call_tool("search_code", {"query": q, "limit": 1})

        async with anyio.create_task_group() as tg:
            for q in queries:
                tg.start_soon(one, q)
        return results

    results = run(*indexed, body)
    assert set(results) == set(queries)
    assert all(not r.is_error and len(r.structured_content["hits"]) == 1
               for r in results.values())
    assert json.dumps(results["matrix determinant"].structured_content).count("determinant")


def test_hostile_requests_get_clear_errors_and_the_server_keeps_serving(indexed):
    hostile = [{"query": "x" * 100_000}, {"query": "user\x00name"},
               {"query": "user", "limit": 10**9}, {"query": "user", "kind": ["function\x00"]},
               {"query": '"unterminated AND OR ((('}, {"query": "user", "path": ["[z-a]"]},
               {"query": "user", "mode": "telepathy"}]

    async def body(client):
        answers = [await client.call_tool("search_code", args) for args in hostile]
        return answers, await client.call_tool("search_code", {"query": "reverse a string"})

    answers, good = run(*indexed, body)
    for args, answer in zip(hostile, answers, strict=True):
        text = answer.content[0].text
        assert "Traceback" not in text and text, args
        if answer.is_error:
            assert "Error executing tool" not in text or ":" in text, text
    assert answers[0].is_error and "characters" in answers[0].content[0].text
    assert answers[2].is_error and "limit" in answers[2].content[0].text
    assert answers[3].is_error and "NUL" in answers[3].content[0].text
    assert not answers[4].is_error
    assert not good.is_error and good.structured_content["hits"][0]["symbol"] == \
        "reverse_string"


def test_search_pages_within_a_token_budget_and_continues_by_cursor(indexed):
    ask = {"query": "user name", "limit": 10, "max_tokens": 500}

    async def body(client):
        first = await client.call_tool("search_code", ask)
        second = await client.call_tool("search_code", {**ask,
                                                        "cursor": first.structured_content[
                                                            "next_cursor"]})
        whole = await client.call_tool("search_code", {**ask, "max_tokens": 20_000})
        wrong = await client.call_tool("search_code", {**ask, "query": "cache",
                                                       "cursor": first.structured_content[
                                                           "next_cursor"]})
        forged = await client.call_tool("search_code", {**ask, "cursor": "bm90IGEgY3Vyc29y"})
        return first, second, whole, wrong, forged

    first, second, whole, wrong, forged = run(*indexed, body)
    page1, page2 = first.structured_content, second.structured_content
    assert 1 <= len(page1["hits"]) < 10 and page1["next_cursor"]
    assert page1["tokens"] <= 500 or len(page1["hits"]) == 1
    everything = [(h["path"], h["start_line"]) for h in whole.structured_content["hits"]]
    pages = [(h["path"], h["start_line"]) for h in page1["hits"] + page2["hits"]]
    assert pages == everything[:len(pages)]  # the second page goes on where the first ended
    assert all({"score", "matched_by", "part_of"} <= set(h) for h in page1["hits"])
    assert wrong.is_error and "another query" in wrong.content[0].text
    assert forged.is_error and "cursor" in forged.content[0].text


def _cursor_at(cursor: str, offset: int) -> str:
    """A cursor the server gave, with its offset changed (what a confused client sends)."""
    import base64

    state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    return base64.urlsafe_b64encode(json.dumps({**state, "o": offset}).encode()).decode()


def test_a_cursor_whose_offset_was_changed_out_of_range_is_an_error(indexed):
    ask = {"query": "user name", "limit": 2}

    async def body(client):
        first = await client.call_tool("search_code", ask)
        cursor = first.structured_content["next_cursor"]
        return [await client.call_tool("search_code", {**ask, "cursor": _cursor_at(cursor, o)})
                for o in (-1, -3, -50, 10**6)]

    for answer in run(*indexed, body):
        assert answer.is_error and "cursor" in answer.content[0].text
        assert "k must be" not in answer.content[0].text


def test_find_similar_past_any_line_says_why(indexed):
    async def body(client):
        return await client.call_tool("find_similar", {"path": "src/shop/users.py",
                                                       "line": 2**31})

    answer = run(*indexed, body)
    assert answer.is_error and "line 2147483648 is not a line" in answer.content[0].text


@pytest.mark.parametrize("line, code, words", [
    ("not json", -32700, "Parse error"),
    ('{"neither": "request nor response"}', -32600, "Invalid Request"),
])
def test_a_line_that_is_not_json_rpc_gets_the_error_the_spec_asks_for(indexed, line, code,
                                                                      words):
    import subprocess

    repo, store = indexed
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}
    proc = subprocess.run([sys.executable, "-m", "semcode", "mcp", "--repo", str(repo),
                           "--store", store], input=f"{line}\n{json.dumps(init)}\n",
                          capture_output=True, text=True, timeout=900)
    replies = [json.loads(r) for r in proc.stdout.splitlines() if r.strip()]
    assert replies[0] == {"jsonrpc": "2.0", "id": None,
                          "error": {"code": code, "message": replies[0]["error"]["message"]}}
    assert words in replies[0]["error"]["message"]
    assert replies[1]["id"] == 1 and "result" in replies[1]  # and it keeps serving


def test_a_long_lived_server_sees_each_edit_and_says_where_hits_come_from(indexed, tmp_path):
    repo, store = indexed
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    cart = work / "src" / "shop" / "cart.py"

    async def body(client):
        before = await client.call_tool("search_code", {"query": "kelvin", "mode": "keyword"})
        with open(cart, "a") as f:
            f.write("\n\ndef convert_kelvin_to_celsius(kelvin):\n    return kelvin - 273.15\n")
        after = await client.call_tool("search_code", {"query": "kelvin", "mode": "keyword"})
        status = await client.call_tool("index_status", {})
        return before, after, status

    before, after, status = run(work, store, body)
    assert before.structured_content["hits"] == []
    hit = after.structured_content["hits"][0]
    assert (hit["symbol"], hit["source"]) == ("convert_kelvin_to_celsius", "worktree")
    assert "from the working tree" in after.content[0].text
    assert status.structured_content["worktree"]["state"] == "current"
    assert status.structured_content["up_to_date"] is False
    assert "overlay of 1 changed file(s) (current)" in status.content[0].text


def test_a_server_finishes_what_a_search_left_pending_in_the_background(indexed, tmp_path):
    """A search answers within its budget, naming the file it has not searched yet; the
    server embeds the rest between calls, and a later search finds that file's code."""
    repo, store = indexed
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    (work / "readings.py").write_text("".join(
        f'def scale_reading_{i}(value):\n    """Scale sensor reading {i}."""\n'
        f"    return value * {i}\n\n" for i in range(600)) +
        "def convert_kelvin_to_celsius(kelvin):\n    return kelvin - 273.15\n")
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "semcode", "mcp", "--repo", str(work),
                                      "--store", store],
        env={**os.environ, "SEMCODE_OVERLAY_SECONDS": "0.05"})  # one batch a search

    async def body(client):
        first = await client.call_tool("search_code", {"query": "kelvin to celsius"})
        for _ in range(600):  # the server works while nobody asks; status reads its file
            status = await client.call_tool("index_status", {})
            if not status.structured_content["worktree"]["pending"]:
                break
            await anyio.sleep(0.5)
        later = await client.call_tool("search_code", {"query": "kelvin to celsius"})
        return first, status, later

    async def session():
        async with Client(server) as client:
            return await body(client)

    first, status, later = anyio.run(session)
    assert any("readings.py" in w and "not searched yet" in w
               for w in first.structured_content["warnings"])
    assert status.structured_content["worktree"]["pending"] == 0
    hit = later.structured_content["hits"][0]
    assert (hit["symbol"], hit["source"]) == ("convert_kelvin_to_celsius", "worktree")
    assert not later.structured_content["warnings"]


def test_filters_take_one_value_or_several_and_paths_may_be_absolute(indexed):
    repo, _ = indexed

    async def body(client):
        one = await client.call_tool("search_code", {"query": "least recently used cache",
                                                     "language": "go", "limit": 3})
        absolute = await client.call_tool("search_code", {
            "query": "user", "path": f"{repo}/src/**", "limit": 3})
        similar = await client.call_tool("find_similar", {"path": f"{repo}/src/shop/users.py",
                                                          "line": 8, "limit": 2})
        outside = await client.call_tool("find_similar", {"path": "/etc/passwd"})
        unclosed = await client.call_tool("search_code", {"query": "user", "path": "[unclosed"})
        return one, absolute, similar, outside, unclosed

    one, absolute, similar, outside, unclosed = run(*indexed, body)
    assert not one.is_error and {h["language"] for h in one.structured_content["hits"]} == {"go"}
    assert absolute.structured_content["hits"] and all(
        h["path"].startswith("src/") for h in absolute.structured_content["hits"])
    assert not similar.is_error and len(similar.structured_content["hits"]) == 2
    assert outside.is_error and "outside the repository" in outside.content[0].text
    assert unclosed.is_error and "'[' without its ']'" in unclosed.content[0].text


def test_every_path_the_server_gives_is_taken_back(indexed):
    repo, _ = indexed

    async def body(client):
        found = await client.call_tool("search_code", {"query": "send a welcome email",
                                                       "limit": 1})
        hit = found.structured_content["hits"][0]
        given = f"{hit['path']}:{hit['start_line']}"
        answers = {form: await client.call_tool("find_similar", {"path": form, "limit": 2})
                   for form in (given, f"./{given}", f"{repo}/{given}",
                                f"{repo.resolve()}/{hit['path']}:{hit['start_line']}:5")}
        globbed = {str(glob): await client.call_tool("search_code", {
            "query": "user", "path": glob, "limit": 5})
            for glob in ("./src/**", f"{repo}/src/**", ["**", "!./src/**"],
                         ["**", f"!{repo}/src/**"])}
        outside = [await client.call_tool("find_similar", {"path": path})
                   for path in ("../../etc/passwd", "/etc/passwd:3")]
        outside.append(await client.call_tool("search_code", {"query": "user",
                                                              "path": "/etc/**"}))
        return hit, answers, globbed, outside

    hit, answers, globbed, outside = run(*indexed, body)
    for form, answer in answers.items():
        assert not answer.is_error, (form, answer.content[0].text)
        assert answer.structured_content["target"] == f"{hit['path']}:{hit['start_line']}"
        assert len(answer.structured_content["hits"]) == 2
    for glob, answer in globbed.items():
        paths = {h["path"] for h in answer.structured_content["hits"]}
        inside = "!" not in glob
        assert paths and all(p.startswith("src/") == inside for p in paths), (glob, paths)
    for answer in outside:
        assert answer.is_error and "outside the repository" in answer.content[0].text
