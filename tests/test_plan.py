"""`semcode index --plan`: what a full index would include, skip and cost, with nothing
written or embedded into a store."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from semcode.config import Settings
from semcode.interfaces import plan as plan_module
from semcode.interfaces.plan import plan_index
from semcode.store.tables import Store
from tests.conftest import commit_all, make_repo
from tests.dagster_helpers import index_with_fake

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("plan") / "repo")
    (repo / "vendor").mkdir(exist_ok=True)
    (repo / "vendor" / "big.js").write_text("var x = 1;\n" * 30_000)
    (repo / "build.min.js").write_text("var a=1;" * 2_000)
    (repo / "data.bin").write_bytes(bytes(range(256)) * 40)
    commit_all(repo, "vendored, minified and binary files")
    return repo


def test_a_small_repository_is_counted_exactly_and_nothing_is_written(repo, tmp_path):
    store = tmp_path / "store"
    plan = plan_index(Settings(repo=str(repo), store=str(store)))
    assert not store.exists()
    assert plan.exact and plan.sampled_files == plan.indexed
    assert plan.texts_per_s > 0 and plan.seconds >= plan.embed_seconds > 0
    report = index_with_fake(repo, str(store))
    assert report.ok and plan.chunks == Store(str(store)).count("chunks")
    assert plan.indexed == report.files.seen - report.files.skipped
    assert sum(lang.chunks for lang in plan.languages.values()) == plan.chunks


def test_skips_are_listed_by_reason_and_the_largest_first(repo, tmp_path):
    plan = plan_index(Settings(repo=str(repo), store=str(tmp_path / "store")))
    sizes = [f.size for f in plan.largest_skipped]
    assert sizes == sorted(sizes, reverse=True)
    reasons = {f.path: f.reason.split(":")[0] for f in plan.largest_skipped}
    assert reasons["vendor/big.js"] == "vendored"
    assert reasons["data.bin"] == "binary"
    assert plan.skip_reasons["vendored"] >= 1 and plan.skipped == sum(plan.skip_reasons.values())


def test_a_sample_estimates_the_chunks_of_the_rest(repo, tmp_path, monkeypatch):
    exact = plan_index(Settings(repo=str(repo), store=str(tmp_path / "s"))).chunks
    monkeypatch.setattr(plan_module, "SAMPLE_BYTES", 4_000)
    sampled = plan_index(Settings(repo=str(repo), store=str(tmp_path / "s")))
    assert not sampled.exact and sampled.sampled_files < sampled.indexed
    assert abs(sampled.chunks - exact) <= 0.5 * exact  # a tiny sample: a rough estimate


def test_the_cli_prints_the_plan_as_json(repo, tmp_path):
    out = subprocess.run([sys.executable, "-m", "semcode", "index", str(repo), "--plan",
                          "--json", "--store", str(tmp_path / "store")],
                         capture_output=True, text=True, check=True)
    plan = json.loads(out.stdout)
    assert plan["indexed"] > 0 and plan["chunks"] > 0 and "python" in plan["languages"]
    assert not (tmp_path / "store").exists()
