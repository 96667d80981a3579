"""`semcode mcp-config`: what each MCP client needs to start `semcode mcp`, in its own shape."""

import json
import sys
from pathlib import Path

import pytest

from semcode.config import Settings
from semcode.errors import ConfigError
from semcode.interfaces import mcp_config


def test_each_client_gets_its_own_shape_pointing_at_this_semcode(tmp_path):
    settings = Settings(repo=str(tmp_path))
    for client, key in (("cursor", "mcpServers"), ("generic", "mcpServers"),
                        ("claude", "mcpServers"), ("vscode", "servers")):
        entry = mcp_config.document(settings, client)[key]["semcode"]
        assert Path(entry["command"]).name == "semcode"
        assert Path(entry["command"]).parent == Path(sys.executable).parent
        assert entry["args"] == ["mcp", "--repo", str(tmp_path.resolve())]
        assert entry["env"]["HF_HUB_OFFLINE"] == "1"
        assert (entry.get("type") == "stdio") is (client == "vscode")
    assert mcp_config.claude_command(settings).startswith("claude mcp add semcode -e ")


def test_several_repositories_go_through_the_environment(tmp_path):
    settings = Settings(repos=f"api={tmp_path}/api web={tmp_path}/web", store=str(tmp_path))
    entry = mcp_config.document(settings, "cursor")["mcpServers"]["semcode"]
    assert entry["args"] == ["mcp"]
    assert entry["env"]["SEMCODE_REPOS"] == settings.repos
    assert entry["env"]["SEMCODE_STORE"] == str(tmp_path)


def test_writing_keeps_the_other_servers_of_the_file(tmp_path):
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "mcp.json").write_text(json.dumps(
        {"servers": {"other": {"command": "x"}}, "inputs": []}))
    target = mcp_config.write(Settings(repo=str(tmp_path)), "vscode", tmp_path)
    held = json.loads(target.read_text())
    assert set(held["servers"]) == {"other", "semcode"} and held["inputs"] == []
    (tmp_path / ".cursor").mkdir()
    (tmp_path / ".cursor" / "mcp.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        mcp_config.write(Settings(repo=str(tmp_path)), "cursor", tmp_path)
    with pytest.raises(ConfigError, match="no project file"):
        mcp_config.write(Settings(repo=str(tmp_path)), "generic", tmp_path)
