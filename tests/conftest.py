import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "sample_repo"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def commit_all(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def init_repo(path: Path, message: str = "initial") -> str:
    """``path`` (a folder of files) made a git repository on ``main`` with one commit of
    everything in it; the commit's id."""
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "test")
    return commit_all(path, message)


def clone(repo: Path, dest: Path) -> Path:
    """A checkout of ``repo`` at ``dest``, with an identity to commit as."""
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True)
    git(dest, "config", "user.email", "test@example.com")
    git(dest, "config", "user.name", "test")
    return dest


def make_repo(dest: Path) -> Path:
    """The multi-language fixture as a real git repository with one commit."""
    shutil.copytree(FIXTURE, dest)
    init_repo(dest)
    return dest


@pytest.fixture
def sample_repo(tmp_path) -> Path:
    return make_repo(tmp_path / "repo")


class FakeEmbedder:
    """Deterministic vectors from text hashes: for tests about ordering and bookkeeping,
    never for tests about search quality."""

    model_id = "fake-hash-embedder"
    dim = 8

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded += texts
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode()).digest()[:4], "big")
            rng = np.random.default_rng(seed)
            v = rng.standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


# What every check of a whole, healthy index says.
ALL_PASSED = {"vectors_match_chunks": True, "chunks_match_manifest": True,
              "keyword_index_answers": True, "symbols_match_chunks": True}


# Queries the sample repository answers by meaning, with the function each must find: any
# model tier should rank it in its top 3.
MEANING_QUERIES = [("validate email address", "validate_email_address"),
                   ("reverse a string in place", "reverse_string")]


def index_on(root: Path, model: str) -> tuple[Path, str, object]:
    """The sample repository under ``root`` indexed end to end on ``model`` (a real Dagster
    run): (repository, store, the run's report), the report whole."""
    from semcode.config import Settings
    from semcode_dagster.assets.local_run import run_index_job

    repo, store = make_repo(root / "repo"), str(root / "store")
    report = run_index_job(Settings(repo=str(repo), store=store, model=model))
    assert report.ok, report.text()
    return repo, store, report


SEARCH_MODEL = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    """A searcher of the fixture repository's index (built once per test module)."""
    from semcode.search.searcher import Searcher
    from tests.dagster_helpers import index_fixture_repo

    _, store, result = index_fixture_repo(tmp_path_factory.mktemp("search"))
    assert result.success
    return Searcher(store, model=SEARCH_MODEL)


# -- a checkout of an indexed repository (the overlay's tests) --------------------------------

@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The fixture repository indexed at its one commit (a real run, the real model), once per
    test module: (repo, store)."""
    from tests.dagster_helpers import index_fixture_repo

    repo, store, result = index_fixture_repo(tmp_path_factory.mktemp("base"))
    assert result.success
    return repo, store


@pytest.fixture
def work(base, tmp_path):
    """A clone of the indexed repository at the indexed commit: (checkout, store). Whatever
    the test does in it, the index's tables keep their versions (nothing a checkout does
    writes to the index)."""
    repo, store = base
    checkout = clone(repo, tmp_path / "work")
    before = table_versions(store)
    yield checkout, store
    assert table_versions(store) == before


def table_versions(store: str) -> dict[str, int]:
    from semcode.store.tables import Store

    opened = Store(store, create=False)
    return {name: opened.table(name).version for name in opened.db.list_tables().tables}
