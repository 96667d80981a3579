"""SEMCODE_MODEL=static: a model distilled from the packaged default, end to end."""

import pytest

from semcode.embed.embedding import Embedder
from semcode.embed.model_files import model_id
from semcode.embed.static_model import STATIC_MODEL_ID, static_model_dir
from semcode.search.searcher import Searcher
from semcode.store.tables import Store
from tests.conftest import ALL_PASSED, MEANING_QUERIES, index_on


@pytest.fixture(scope="module")
def static_index(tmp_path_factory):
    return index_on(tmp_path_factory.mktemp("static"), "static")


@pytest.mark.model
def test_static_index_is_whole_and_names_its_model(static_index):
    _, store, report = static_index
    assert report.checks == ALL_PASSED
    assert report.vectors.total == report.chunks.total > 0
    vectors = Store(store).table("vectors")
    assert vectors.schema.field("vector").type.list_size == 256
    assert vectors.count_rows(f"model = '{STATIC_MODEL_ID}'") == report.vectors.total
    assert model_id("static") == STATIC_MODEL_ID


@pytest.mark.model
def test_the_distilled_model_lives_in_the_user_cache_not_the_repository(static_index):
    repo, _, _ = static_index
    assert (static_model_dir() / "modules.json").is_file()
    assert not any(p.name == "model.safetensors" for p in repo.rglob("*"))


@pytest.mark.model
@pytest.mark.parametrize("query,symbol", MEANING_QUERIES)
def test_static_search_finds_code_by_its_words(static_index, query, symbol):
    _, store, _ = static_index
    hits = Searcher(store, model="static").search(query, k=3)
    assert symbol in [h.symbol for h in hits]


@pytest.mark.model
def test_static_vectors_are_unit_length_and_differ_by_meaning():
    vectors = Embedder("static").encode(["open a file and read its lines",
                                         "read all lines of a file",
                                         "compute the checksum of a network packet"])
    norms = (vectors ** 2).sum(axis=1)
    assert norms == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.model
def test_both_tiers_cut_the_same_chunks(static_index, tmp_path):
    """The static tier chunks with the default's tokenizer: switching tiers re-embeds and
    re-parses nothing else."""
    repo, store, _ = static_index
    from semcode.index.parse import index_shard
    from semcode.index.pipeline import record_snapshot

    default_store = str(tmp_path / "default")
    snap = record_snapshot(Store(default_store), repo=str(repo), shards=8,
                           max_file_bytes=1_000_000)
    for shard in range(8):
        index_shard(store_uri=default_store, repo=str(repo), shard=shard,
                    model="all-MiniLM-L6-v2", is_git=snap.is_git)
    ids = [sorted(Store(s).scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist())
           for s in (store, default_store)]
    assert ids[0] == ids[1] and ids[0]
