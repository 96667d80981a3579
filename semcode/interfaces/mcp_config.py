"""``semcode mcp-config``: the configuration an MCP client needs to start ``semcode mcp``.

Each client keeps servers in its own file and shape (checked against each client's documentation;
docs/mcp.md cites them). A *project* file is one a team commits: its entry runs ``semcode`` from
PATH on the project's own folder (the client's variable for it, else the folder the client starts
the server in), so it holds no path of this machine. A *user* file belongs to one person on one
machine: its entry pins this installation's ``semcode`` and the repository's absolute path.
Written files keep every other server and setting they hold.
"""

import json
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from platformdirs import user_config_dir

from semcode.config import ENV_VARS, Settings
from semcode.errors import ConfigError

NAME = "semcode"


@dataclass(frozen=True)
class Client:
    title: str
    key: str  # where the file keeps its servers
    file: str  # relative to the project (a project file), else ~-relative or absolute
    project: bool
    folder: str | None = None  # the client's own variable for the project's folder
    typed: bool = False  # VS Code's entries say their transport
    app: str | None = None  # a user file in this app's folder of the platform's config folders

    @property
    def toml(self) -> bool:
        return self.file.endswith(".toml")

    def path(self, root: Path) -> Path:
        if self.project:
            return root / self.file
        if self.app:
            return Path(user_config_dir(self.app, appauthor=False, roaming=True)) / self.file
        return Path(self.file).expanduser()


CLIENTS = {
    "claude": Client("Claude Code", "mcpServers", ".mcp.json", project=True),
    "cursor": Client("Cursor", "mcpServers", ".cursor/mcp.json", project=True,
                     folder="${workspaceFolder}"),
    "vscode": Client("VS Code", "servers", ".vscode/mcp.json", project=True,
                     folder="${workspaceFolder}", typed=True),
    "zed": Client("Zed", "context_servers", ".zed/settings.json", project=True),
    "codex": Client("Codex", "mcp_servers", ".codex/config.toml", project=True),
    "claude-desktop": Client("Claude Desktop", "mcpServers", "claude_desktop_config.json",
                             project=False, app="Claude"),
    "windsurf": Client("Windsurf", "mcpServers", "~/.codeium/windsurf/mcp_config.json",
                       project=False),
    "generic": Client("any MCP client", "mcpServers", "", project=False),
}


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
    spec = CLIENTS[client]
    env = {"HF_HUB_OFFLINE": "1"}
    args = ["mcp"]
    if settings.repositories:
        env[ENV_VARS["repos"]] = settings.repos
    elif not spec.project:
        args += ["--repo", settings.repo_path]
    elif spec.folder:
        args += ["--repo", spec.folder]
    if settings.store:
        env[ENV_VARS["store"]] = settings.store
    entry: dict[str, Any] = {"command": NAME if spec.project else executable(), "args": args,
                             "env": env}
    return {"type": "stdio", **entry} if spec.typed else entry


def document(settings: Settings, client: str) -> dict[str, Any]:
    """What the client's file holds for the one server."""
    return {CLIENTS[client].key: {NAME: server_entry(settings, client)}}


def rendered(settings: Settings, client: str) -> str:
    """The document as the client's file writes it (JSON, or Codex's TOML)."""
    held = document(settings, client)
    return tomlkit.dumps(held) if CLIENTS[client].toml else json.dumps(held, indent=2) + "\n"


def claude_command(settings: Settings) -> str:
    """``claude mcp add`` for the project's ``.mcp.json``, quoted for a shell."""
    entry = server_entry(settings, "claude")
    env = [word for key, value in entry["env"].items() for word in ("-e", f"{key}={value}")]
    return shlex.join(["claude", "mcp", "add", NAME, "--scope", "project", *env, "--",
                       entry["command"], *entry["args"]])


def write(settings: Settings, client: str, root: Path) -> Path:
    """Add (or replace) the server in the client's file — under ``root`` for a project file —
    keeping every other server and setting the file holds (and, in TOML, its comments)."""
    spec = CLIENTS[client]
    if not spec.file:
        raise ConfigError(f"{client} keeps no file semcode knows — print its configuration "
                          "without --write and add it to your client's settings")
    target = spec.path(root)
    text = target.read_text() if target.is_file() else ""
    servers = document(settings, client)[spec.key]
    if spec.toml:
        held = _parsed_toml(text, target)
        if spec.key not in held:
            held[spec.key] = tomlkit.table(is_super_table=True)
        held[spec.key].update(servers)
        out = tomlkit.dumps(held)
    else:
        loaded = _parsed_json(text, target)
        loaded.setdefault(spec.key, {}).update(servers)
        out = json.dumps(loaded, indent=2) + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(out)
    return target


def _parsed_json(text: str, target: Path) -> dict[str, Any]:
    try:
        held = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{target} is not plain JSON ({exc}; comments are not kept) — print "
                          "the configuration without --write and merge it by hand") from None
    if not isinstance(held, dict):
        raise ConfigError(f"{target} does not hold a JSON object — fix it, or print the "
                          "configuration without --write and merge it by hand")
    return held


def _parsed_toml(text: str, target: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{target} is not TOML ({exc}) — fix it, or print the "
                          "configuration without --write and merge it by hand") from None
