"""Nothing from the repository reaches a terminal raw (invariant 12): control characters in a
path, a symbol or a chunk's text are shown escaped, on a terminal and piped, and rich markup
in them is text, never a tag. A real git repository, indexed with the real model."""

import io
import json
import re

import pytest
from rich.console import Console

from semcode.config import Settings
from semcode.interfaces import cli, console
from semcode_dagster.assets.local_run import run_index_job
from tests.conftest import init_repo

pytestmark = [pytest.mark.model]

# ESC ] 0 ; title BEL: sets the window title; ESC [ 2 J: clears the screen
RETITLE = "\x1b]0;pwned\x07\x1b[2J"
SGR = re.compile("\x1b\\[[0-9;]*m")
FILES = {
    "banner.py": f'def print_terminal_banner():\n    """Print the banner to the terminal."""\n'
                 f'    return "{RETITLE}"\n',
    "docs/markup.md": "# [/] closing a tag that was never opened\n\nThe banner guide: "
                      "[link=https://evil.example]click the terminal banner[/link].\n",
    "lib[/util]s.py": 'def terminal_banner_width():\n    """Width of the terminal banner."""\n'
                      '    return 80\n',
    "esc\x1b[31mred.py": 'def banner_colour_for_terminal():\n    """Colour of the terminal '
                         'banner."""\n    return "red"\n',
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("terminal")
    repo = root / "repo"
    for name, text in FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / "img[/b]").mkdir(parents=True)
    (repo / "img[/b]" / "logo\x1b]0;x\x07.png").write_bytes(b"\x89PNG\r\n\x1a\n" * 200)
    init_repo(repo, "banners")
    store = str(root / "store")
    report = run_index_job(Settings(repo=str(repo), store=store))
    assert report.ok, report.text()
    return repo, store


def _search(indexed, capsys, monkeypatch, *, terminal: bool) -> tuple[int, str]:
    repo, store = indexed
    screen = io.StringIO()
    if terminal:
        monkeypatch.setattr(console, "out", Console(file=screen, force_terminal=True,
                                                    width=200, color_system="truecolor"))
    code = cli.main(["search", "terminal banner", "--repo", str(repo), "--store", store,
                     "-k", "10"])
    # rich's own colours (SGR) taken out: any escape left came from the repository
    return code, SGR.sub("", screen.getvalue()) + capsys.readouterr().out


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
def test_escape_sequences_from_the_repository_are_shown_escaped(indexed, capsys, monkeypatch,
                                                              terminal):
    code, shown = _search(indexed, capsys, monkeypatch, terminal=terminal)
    assert code == 0
    assert "\x1b" not in shown and "\x07" not in shown
    if terminal:  # the code is printed: its escape is visible as text
        assert "\\e]0;pwned\\x07\\e[2J" in shown
    assert "esc\\e[31mred.py" in shown
    if not terminal:  # one line per hit, whatever a name holds
        assert all(line.count(": ") >= 1 for line in shown.splitlines())


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
def test_markup_in_names_and_text_is_text_not_a_tag(indexed, capsys, monkeypatch, terminal):
    code, shown = _search(indexed, capsys, monkeypatch, terminal=terminal)
    assert code == 0  # a `[/]` never crashes the print (it was a MarkupError, exit 1)
    assert "lib[/util]s.py" in shown
    assert "\x1b]8;" not in shown  # no hidden hyperlink
    if terminal:
        assert "[link=https://evil.example]" in shown


@pytest.mark.parametrize("command", [["index", "--plan"], ["status"], ["index"]])
def test_plan_status_and_summary_show_names_as_text(indexed, monkeypatch, command):
    repo, store = indexed
    screen = io.StringIO()
    monkeypatch.setattr(console, "out", Console(file=screen, force_terminal=True, width=200))
    code = cli.main([*command, str(repo) if command[0] == "index" else f"--repo={repo}",
                     "--store", store])
    shown = SGR.sub("", screen.getvalue())
    assert code == 0 and "\x1b" not in shown and "\x07" not in shown
    if "--plan" in command:
        assert "img[/b]/logo\\e]0;x\\x07.png" in shown


def test_json_keeps_the_exact_bytes(indexed, capsys):
    repo, store = indexed
    assert cli.main(["search", "terminal banner", "--repo", str(repo), "--store", store,
                     "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert any(RETITLE in h["text"] for h in hits)  # JSON escapes it itself, losing nothing


@pytest.mark.parametrize("raw,one_line,expected", [
    ("a\x1b[2Jb", False, "a\\e[2Jb"),
    ("tab\tand\nline", False, "tab\tand\nline"),
    ("tab\tand\nline", True, "tab\\tand\\nline"),
    ("crlf\r\nend", False, "crlf\nend"),
    ("lone\rreturn", False, "lone\\rreturn"),
    ("del\x7f c1\x9b", False, "del\\x7f c1\\x9b"),
    ("bidi\u202eevil", False, "bidi\\u202eevil"),
    ("plain [bold]text[/]", False, "plain [bold]text[/]"),
])
def test_shown_escapes_control_characters(raw, one_line, expected):
    assert console.shown(raw, one_line=one_line) == expected
