"""`semcode mcp-config`: what each MCP client needs to start `semcode mcp`, in its own shape."""

import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from semcode.config import Settings
from semcode.errors import ConfigError
from semcode.interfaces import cli_parser, mcp_config

PROJECT = {"claude": ("mcpServers", ".mcp.json"), "cursor": ("mcpServers", ".cursor/mcp.json"),
           "vscode": ("servers", ".vscode/mcp.json"), "zed": ("context_servers",
                                                              ".zed/settings.json"),
           "codex": ("mcp_servers", ".codex/config.toml")}
USER = ("claude-desktop", "windsurf", "generic")


def test_the_command_line_offers_every_client():
    assert set(cli_parser.MCP_CLIENTS) == set(mcp_config.CLIENTS) == {*PROJECT, *USER}


@pytest.mark.parametrize("client", sorted(PROJECT))
def test_a_project_file_holds_no_path_of_this_machine(tmp_path, client):
    key, _ = PROJECT[client]
    text = mcp_config.rendered(Settings(repo=str(tmp_path)), client)
    held = tomllib.loads(text) if client == "codex" else json.loads(text)
    entry = held[key]["semcode"]
    assert entry["command"] == "semcode"  # from PATH
    assert str(tmp_path) not in text and sys.prefix not in text
    assert entry["args"][0] == "mcp" and entry["env"]["HF_HUB_OFFLINE"] == "1"
    if client in ("cursor", "vscode"):  # the client's own name for the project's folder
        assert entry["args"][1:] == ["--repo", "${workspaceFolder}"]
    else:  # started in the project's folder, which is the repository
        assert entry["args"] == ["mcp"]
    assert (entry.get("type") == "stdio") is (client == "vscode")


@pytest.mark.parametrize("client", USER)
def test_a_user_file_pins_this_semcode_and_the_repository(tmp_path, client):
    entry = mcp_config.document(Settings(repo=str(tmp_path)), client)["mcpServers"]["semcode"]
    assert Path(entry["command"]).name == "semcode"
    assert Path(entry["command"]).parent == Path(sys.executable).parent
    assert entry["args"] == ["mcp", "--repo", str(tmp_path.resolve())]


def test_the_claude_line_is_quoted_for_a_shell(tmp_path):
    settings = Settings(repo=str(tmp_path), store=str(tmp_path / "my store"))
    line = mcp_config.claude_command(settings)
    words = shlex.split(line)
    assert words[:6] == ["claude", "mcp", "add", "semcode", "--scope", "project"]
    assert f"SEMCODE_STORE={tmp_path}/my store" in words  # one word, its space kept
    assert words[words.index("--") + 1:] == ["semcode", "mcp"]


def test_several_repositories_go_through_the_environment(tmp_path):
    settings = Settings(repos=f"api={tmp_path}/api web={tmp_path}/web", store=str(tmp_path))
    for client in ("cursor", "windsurf"):
        entry = mcp_config.document(settings, client)["mcpServers"]["semcode"]
        assert entry["args"] == ["mcp"]
        assert entry["env"]["SEMCODE_REPOS"] == settings.repos
        assert entry["env"]["SEMCODE_STORE"] == str(tmp_path)


@pytest.mark.parametrize("client", ["claude", "cursor", "vscode", "zed"])
def test_writing_a_json_file_keeps_its_other_servers_and_settings(tmp_path, client):
    key, name = PROJECT[client]
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({key: {"other": {"command": "x"}}, "theme": "dark"}))
    assert mcp_config.write(Settings(repo=str(tmp_path)), client, tmp_path) == target
    held = json.loads(target.read_text())
    assert set(held[key]) == {"other", "semcode"} and held["theme"] == "dark"


def test_writing_codex_toml_keeps_its_comments_and_servers(tmp_path):
    target = tmp_path / ".codex" / "config.toml"
    target.parent.mkdir()
    target.write_text('# my settings\nmodel = "o4"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"'
                      "  # the docs server\n")
    mcp_config.write(Settings(repo=str(tmp_path)), "codex", tmp_path)
    text = target.read_text()
    assert "# my settings" in text and "# the docs server" in text
    held = tomllib.loads(text)
    assert held["model"] == "o4" and set(held["mcp_servers"]) == {"docs", "semcode"}
    assert held["mcp_servers"]["semcode"]["args"] == ["mcp"]


def test_user_files_are_written_where_the_client_reads_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    repo = tmp_path / "repo"
    desktop = mcp_config.write(Settings(repo=str(repo)), "claude-desktop", repo)
    windsurf = mcp_config.write(Settings(repo=str(repo)), "windsurf", repo)
    if sys.platform.startswith("linux"):
        assert desktop == tmp_path / "home/.config/Claude/claude_desktop_config.json"
    assert windsurf == tmp_path / "home/.codeium/windsurf/mcp_config.json"
    for target in (desktop, windsurf):
        assert json.loads(target.read_text())["mcpServers"]["semcode"]["args"][-1] == \
            str(repo.resolve())


def test_a_file_semcode_cannot_merge_is_left_as_it_is(tmp_path):
    (tmp_path / ".cursor").mkdir()
    (tmp_path / ".cursor" / "mcp.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not plain JSON"):
        mcp_config.write(Settings(repo=str(tmp_path)), "cursor", tmp_path)
    assert (tmp_path / ".cursor" / "mcp.json").read_text() == "{not json"
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "config.toml").write_text("[broken\n")
    with pytest.raises(ConfigError, match="not TOML"):
        mcp_config.write(Settings(repo=str(tmp_path)), "codex", tmp_path)
    with pytest.raises(ConfigError, match="no file semcode knows"):
        mcp_config.write(Settings(repo=str(tmp_path)), "generic", tmp_path)


def test_the_agents_section_names_every_tool_the_server_has(tmp_path):
    import anyio

    from semcode.interfaces.mcp_server import build_server

    proc = subprocess.run([sys.executable, "-m", "semcode", "agents"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    tools = anyio.run(build_server(Settings(repo=str(tmp_path))).list_tools)
    assert len(tools) == 5
    for tool in tools:
        assert f"`{tool.name}" in proc.stdout, tool.name
    assert "grep" in proc.stdout and "!tests/**" in proc.stdout
