"""Self-repair: whatever a run finds in the store, it converges to the index a fresh run
builds at the same commit, and says what it repaired. A fake embedder is enough here (these
are tests about bookkeeping); search over a repaired index is tested with the real model."""

from collections import Counter

import numpy as np
import pytest

from semcode.embed.embedding import model_dimension
from semcode.store.tables import Store, sql_str
from tests.conftest import ALL_PASSED, FakeEmbedder
from tests.dagster_helpers import FakeEmbedderResource, copy_store, indexed_with_fake
from tests.dagster_helpers import index_with_fake as index

pytestmark = pytest.mark.slow
VECTOR_COLUMNS = ["chunk_id", "text_hash", "model", "path", "language", "kind", "vector"]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    return indexed_with_fake(tmp_path_factory.mktemp("repair"))




def ids(store: str, table: str) -> list[str]:
    return Store(store).scan(table, ["chunk_id"]).column("chunk_id").to_pylist()


def assert_whole(repo, store, tmp_path):
    """vectors == chunks, every id once, and the same ids a fresh run builds."""
    chunk_ids, vector_ids = ids(store, "chunks"), ids(store, "vectors")
    assert len(chunk_ids) == len(set(chunk_ids))
    assert len(vector_ids) == len(set(vector_ids))
    assert set(chunk_ids) == set(vector_ids)
    fresh = str(tmp_path / "fresh")
    assert index(repo, fresh).ok
    assert sorted(chunk_ids) == sorted(ids(fresh, "chunks"))


def test_duplicate_vector_rows_are_gone_after_the_next_run(indexed, tmp_path):
    """The probe: three rows appended again (what two writers inserting the same new ids at
    once leave) failed every later run until the store was deleted by hand."""
    repo, store = copy_store(indexed, tmp_path)
    table = Store(store).table("vectors")
    table.add(table.search().select(VECTOR_COLUMNS).limit(3).to_arrow())
    assert len(ids(store, "vectors")) == len(set(ids(store, "vectors"))) + 3
    report = index(repo, store)
    assert report.ok, report.text()
    assert report.repairs == {"duplicate_vectors": 3}
    assert report.checks == ALL_PASSED
    assert_whole(repo, store, tmp_path)


def test_duplicate_chunk_rows_are_repaired(indexed, tmp_path):
    repo, store = copy_store(indexed, tmp_path)
    table = Store(store).table("chunks")
    doubled = table.search().where("path = 'src/shop/cart.py'").to_arrow()
    table.add(doubled)
    report = index(repo, store)
    assert report.ok, report.text()
    assert report.repairs == {"duplicate_chunks": doubled.num_rows}
    assert_whole(repo, store, tmp_path)


def test_orphans_missing_vectors_and_chunks_of_files_that_left_converge(indexed, tmp_path):
    repo, store = copy_store(indexed, tmp_path)
    s = Store(store)
    victim = ids(store, "vectors")[0]
    s.delete("vectors", f"chunk_id = {sql_str(victim)}")
    row = s.scan("vectors", VECTOR_COLUMNS).slice(0, 1).to_pylist()[0]
    s.table("vectors").add([{**row, "chunk_id": "orphan-1"}])
    stray = s.scan("chunks", s.table("chunks").schema.names, "path = 'src/shop/cart.py'")
    s.table("chunks").add(stray.to_pylist()[:1] and [{**stray.to_pylist()[0],
                                                      "chunk_id": "stray-1",
                                                      "path": "gone/file.py"}])
    report = index(repo, store)
    assert report.ok, report.text()
    assert "orphan-1" not in ids(store, "vectors") and "stray-1" not in ids(store, "chunks")
    assert_whole(repo, store, tmp_path)


class _BrokenModel(FakeEmbedder):
    """A new model that fails part-way through (the probe: a model whose Dense layer was
    misread)."""

    model_id = "broken-model"

    def encode(self, texts):
        raise RuntimeError("the new model cannot encode")


class _BrokenResource(FakeEmbedderResource):
    def get(self):
        return _BrokenModel()


class _OtherModel(FakeEmbedder):
    model_id = "other-model"
    dim = 16


class _OtherResource(FakeEmbedderResource):
    def get(self):
        return _OtherModel()


def test_a_failed_model_switch_keeps_the_old_vectors_searchable(indexed, tmp_path):
    repo, store = copy_store(indexed, tmp_path)
    before = Counter(Store(store).scan("vectors", ["model"]).column("model").to_pylist())
    report = index(repo, store, _BrokenResource())
    assert not report.ok and "cannot encode" in (report.error or "")
    after = Counter(Store(store).scan("vectors", ["model"]).column("model").to_pylist())
    assert after == before  # the old model's vectors, all of them, still there
    assert Store(store).last_vectors().model == FakeEmbedder.model_id


def test_a_model_switch_builds_the_new_vectors_then_swaps(indexed, tmp_path):
    repo, store = copy_store(indexed, tmp_path)
    chunks = len(ids(store, "chunks"))
    report = index(repo, store, _OtherResource())
    assert report.ok, report.text()
    vectors = Store(store).table("vectors")
    assert vectors.schema.field("vector").type.list_size == _OtherModel.dim
    assert set(vectors.search().select(["model"]).to_arrow().column("model").to_pylist()) \
        == {"other-model"}
    assert report.vectors.total == chunks and report.vectors.deleted == chunks
    assert not Store(store).has("vectors_next")


def test_a_models_dimension_comes_from_its_dense_layer(tmp_path):
    """The probe: a model with a Dense layer (384 → 128) was read as 384 from its pooling."""
    from sentence_transformers import SentenceTransformer, models

    from semcode.embed.model_files import model_path

    base = SentenceTransformer(model_path("all-MiniLM-L6-v2"), device="cpu")
    dense = models.Dense(in_features=384, out_features=128)
    SentenceTransformer(modules=[*base, dense], device="cpu").save(str(tmp_path / "dense"))
    assert model_dimension(str(tmp_path / "dense")) == 128
    vector = SentenceTransformer(str(tmp_path / "dense"), device="cpu").encode(["x"])
    assert np.asarray(vector).shape[1] == 128
    assert model_dimension("all-MiniLM-L6-v2") == 384
