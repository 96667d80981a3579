"""``semcode mcp-config``: the configuration an MCP client needs to start ``semcode mcp``.

Each client keeps it in its own file and shape: Claude Code a project's ``.mcp.json`` (or
``claude mcp add``), Cursor ``.cursor/mcp.json``, both under ``mcpServers``; VS Code
``.vscode/mcp.json`` under ``servers``, with a ``type``. The command points at the
``semcode`` that is running (an installed tool's, or a checkout's ``.venv``), and at one
repository, or at the deployment's repositories (SEMCODE_REPOS) through the environment.
"""

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from semcode.config import ENV_VARS, Settings
from semcode.errors import ConfigError

CLIENTS = ("claude", "cursor", "vscode", "generic")
FILES = {"claude": ".mcp.json", "cursor": ".cursor/mcp.json", "vscode": ".vscode/mcp.json"}
NAME = "semcode"


def executable() -> str:
    """The ``semcode`` command of this installation, as an absolute path."""
    beside = Path(sys.executable).parent / "semcode"
    if beside.is_file():
        return str(beside)
    found = shutil.which("semcode")
    if found is None:
        raise ConfigError("no `semcode` command found beside this Python or on PATH — install "
                          "semcode as a tool (README), then run this again")
    return str(Path(found).resolve())


def server_entry(settings: Settings, client: str) -> dict[str, Any]:
    """One server's entry: the command, its arguments and the settings it needs."""
    env = {"HF_HUB_OFFLINE": "1"}
    args = ["mcp"]
    if settings.repositories:
        env[ENV_VARS["repos"]] = settings.repos
    else:
        args += ["--repo", settings.repo_path]
    if settings.store:
        env[ENV_VARS["store"]] = settings.store
    entry: dict[str, Any] = {"command": executable(), "args": args, "env": env}
    return {"type": "stdio", **entry} if client == "vscode" else entry


def document(settings: Settings, client: str) -> dict[str, Any]:
    """The whole file a client reads, holding the one server."""
    key = "servers" if client == "vscode" else "mcpServers"
    return {key: {NAME: server_entry(settings, client)}}


def claude_command(settings: Settings) -> str:
    entry = server_entry(settings, "claude")
    env = " ".join(f"-e {k}={v}" for k, v in entry["env"].items())
    return f"claude mcp add {NAME} {env} -- {entry['command']} {' '.join(entry['args'])}"


def write(settings: Settings, client: str, root: Path) -> Path:
    """Add (or replace) the server in the client's project file under ``root``, keeping
    every other server and setting the file holds."""
    if client not in FILES:
        raise ConfigError(f"{client} keeps no project file semcode writes — print its "
                          "configuration without --write")
    target = root / FILES[client]
    held: dict[str, Any] = {}
    if target.is_file():
        try:
            held = json.loads(target.read_text() or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{target} is not JSON ({exc}) — fix it, or print the "
                              "configuration without --write and merge it by hand") from None
    key, servers = next(iter(document(settings, client).items()))
    held.setdefault(key, {}).update(servers)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(held, indent=2) + "\n")
    return target
