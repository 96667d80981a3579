"""SEMCODE_MODEL=code: the shipped low-rank deltas, merged into the packaged model offline."""

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file

from semcode.embed import tuned_model
from semcode.embed.embedding import Embedder
from semcode.embed.model_files import model_id, model_path, require_model
from semcode.errors import ConfigError
from semcode.search.searcher import Searcher
from semcode.store.tables import Store
from tests.conftest import ALL_PASSED, MEANING_QUERIES, index_on


def test_the_adapter_ships_small_with_its_manifest():
    adapter = tuned_model.TUNED_DIR / "adapter_model.safetensors"
    assert adapter.stat().st_size < 8 * 2**20  # a few MB, not the 90 MB of full weights
    manifest = json.loads((tuned_model.TUNED_DIR / "manifest.json").read_text())
    assert set(manifest["sources"]) == {"cpython", "go", "node", "typescript"}
    assert all(len(sha) == 64 for sha in manifest["files"].values())
    assert manifest["settings"]["seed"] == 0


@pytest.fixture
def adapter_in(monkeypatch):
    """Point the tuned model at another adapter folder for one test (its id is cached)."""
    def use(folder):
        monkeypatch.setattr(tuned_model, "TUNED_DIR", folder)
        tuned_model.tuned_model_id.cache_clear()

    yield use
    tuned_model.tuned_model_id.cache_clear()


def test_the_model_id_names_the_adapter_by_content(tmp_path, adapter_in):
    shipped = model_id("code")
    assert shipped.startswith("semcode/all-MiniLM-L6-v2-code-")
    copy = tmp_path / "adapter"
    shutil.copytree(tuned_model.TUNED_DIR, copy)
    weights = copy / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes() + b" ")  # any change is another model
    adapter_in(copy)
    assert model_id("code") != shipped


def test_a_missing_adapter_is_a_clear_error(tmp_path, adapter_in):
    adapter_in(tmp_path)
    with pytest.raises(ConfigError, match="SEMCODE_MODEL=code.*unset SEMCODE_MODEL"):
        require_model("code")


@pytest.mark.model
def test_the_merged_weights_are_the_base_plus_the_deltas():
    """One attention matrix of the merged model equals the packaged one plus B·A·alpha/r:
    the deltas were applied, once, at the scale they were trained with."""
    from semcode.config import DEFAULT_MODEL

    merged = load_file(f"{model_path('code')}/model.safetensors")
    base = load_file(f"{model_path(DEFAULT_MODEL)}/model.safetensors")
    adapter = load_file(str(tuned_model.TUNED_DIR / "adapter_model.safetensors"))
    config = json.loads((tuned_model.TUNED_DIR / "adapter_config.json").read_text())
    name = "encoder.layer.3.attention.self.query"
    a = next(v for k, v in adapter.items() if f"{name}.lora_A" in k)
    b = next(v for k, v in adapter.items() if f"{name}.lora_B" in k)
    key = next(k for k in base if k.endswith(f"{name}.weight"))
    expected = base[key] + (b @ a) * config["lora_alpha"] / config["r"]
    assert np.abs(merged[key] - base[key]).max() > 1e-4
    np.testing.assert_allclose(merged[key], expected, atol=1e-5)


@pytest.fixture(scope="module")
def tuned_index(tmp_path_factory):
    return index_on(tmp_path_factory.mktemp("tuned"), "code")


@pytest.mark.model
def test_an_index_on_the_tuned_model_is_whole_and_names_it(tuned_index):
    repo, store, report = tuned_index
    assert report.checks == ALL_PASSED
    vectors = Store(store).table("vectors")
    assert vectors.count_rows(f"model = '{model_id('code')}'") == report.vectors.total > 0
    assert not any(p.name == "model.safetensors" for p in repo.rglob("*"))


@pytest.mark.model
@pytest.mark.parametrize("query,symbol", MEANING_QUERIES)
def test_tuned_search_finds_code_by_meaning(tuned_index, query, symbol):
    _, store, _ = tuned_index
    hits = Searcher(store, model="code").search(query, k=3, mode="vector")
    assert symbol in [h.symbol for h in hits]


@pytest.mark.model
def test_tuned_vectors_differ_from_the_packaged_models():
    text = ["def read_lines(path):\n    return open(path).read().splitlines()"]
    tuned, plain = Embedder("code").encode(text)[0], Embedder("all-MiniLM-L6-v2").encode(text)[0]
    assert 0.5 < float(tuned @ plain) < 0.9999
