"""The engine's layers are a contract the linter keeps (pyproject.toml, `make lint`): each stage
imports only the stages below it, and the engine never imports Dagster."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter not installed")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config",
                           str(tree / "pyproject.toml")], cwd=tree, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin"})


@pytest.fixture
def tree(tmp_path):
    """A copy of the engine and its wiring (the wiring's links followed), to break."""
    shutil.copytree(ROOT / "semcode", tmp_path / "semcode",
                    ignore=shutil.ignore_patterns("__pycache__", "models"))
    shutil.copytree(ROOT / "semcode_dagster", tmp_path / "semcode_dagster",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_tree_keeps_its_layers(tree):
    proc = _lint(tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("store/tables.py", "from semcode.search import searcher", "each imports only the stages"),
    ("embed/tokens.py", "from semcode.ingest import chunking", "each imports only the stages"),
    ("search/ranking.py", "from semcode.index import parse", "each imports only the stages"),
    ("reports.py", "from semcode.ingest import discovery", "each imports only the stages"),
    ("search/hits.py", "import dagster", "never imports Dagster"),
    ("ingest/rows.py", "from semcode.ingest import sandbox", "no circle"),
])
def test_an_import_against_the_layers_fails_the_lint(tree, module, line, contract):
    path = tree / "semcode" / module
    path.write_text(f"{line}  # noqa\n{path.read_text()}")
    proc = _lint(tree)
    assert proc.returncode != 0
    broken = proc.stdout.split("Broken contracts", 1)[1]
    assert contract in broken and Path(module).stem in broken, broken


def test_a_module_with_no_layer_fails_the_lint(tree):
    (tree / "semcode" / "helpers.py").write_text('"""A new module, not yet placed."""\n')
    proc = _lint(tree)
    assert proc.returncode != 0 and "semcode.helpers" in proc.stdout
