"""The vectors step streams chunk texts in growing windows and keeps ids in Arrow: whatever
the window, every chunk gets one vector and every distinct text is encoded once."""

import shutil

import pyarrow.compute as pc
import pytest

from semcode.embed.embedding import embedding_text
from semcode.index import vectors
from semcode.index.parse import index_shards
from semcode.index.pipeline import record_snapshot
from semcode.index.vectors import update_vectors
from semcode.store.tables import Store
from tests.conftest import FakeEmbedder, commit_all, make_repo


@pytest.fixture
def chunked(tmp_path):
    """The fixture repository with one file copied (the same texts under two paths),
    snapshotted and chunked, without vectors."""
    repo = make_repo(tmp_path / "repo")
    shutil.copy(repo / "native" / "strings.c", repo / "native" / "strings_copy.c")
    commit_all(repo, "a copy")
    uri = str(tmp_path / "store")
    record_snapshot(Store(uri), repo=str(repo), shards=4, max_file_bytes=1_000_000)
    index_shards(store_uri=uri, repo=str(repo), shards=[0, 1, 2, 3], model="all-MiniLM-L6-v2",
                 is_git=True, workers=1)
    return uri


@pytest.mark.parametrize("window", [1, 3, 7, 512])
def test_every_chunk_gets_one_vector_and_every_text_is_encoded_once(chunked, window):
    store, fake = Store(chunked), FakeEmbedder()
    result = update_vectors(store, fake, window=window)
    chunks = store.scan("chunks", ["chunk_id", "text_hash"])
    vectors = store.scan("vectors", ["chunk_id", "text_hash"])
    distinct = len(pc.unique(chunks.column("text_hash")))
    assert vectors.num_rows == chunks.num_rows == result.total
    assert sorted(vectors.column("chunk_id").to_pylist()) == \
        sorted(chunks.column("chunk_id").to_pylist())
    assert len(fake.encoded) == len(set(fake.encoded)) == distinct == result.embedded
    assert result.reused == chunks.num_rows - distinct > 0  # the copy's chunks


def test_a_windows_texts_are_encoded_shortest_first_across_its_calls(chunked, monkeypatch):
    """Sorted across the whole window, not within each call: a batch pads its texts to its
    longest, so the more texts one sort spans, the less the encoder pads."""
    monkeypatch.setattr(vectors, "CALL", 2)  # several calls in the one window
    calls: list[list[str]] = []

    class Calls(FakeEmbedder):
        def encode(self, texts):
            calls.append(list(texts))
            return super().encode(texts)

    store, fake = Store(chunked), Calls()
    result = update_vectors(store, fake, window=4096)
    lengths = [len(text) for text in fake.encoded]
    assert len(calls) > 2 and result.embedded == len(lengths)
    assert lengths == sorted(lengths)
    # the vectors still belong to their own chunks' texts
    rows = store.scan("vectors", ["text_hash", "vector"]).to_pylist()
    again = {r["text_hash"]: r["vector"] for r in rows}
    chunks = store.scan("chunks", ["symbol", "text", "text_hash"]).to_pylist()
    for row in chunks[:20]:
        expected = FakeEmbedder().encode([embedding_text(row["symbol"], row["text"])])[0]
        assert again[row["text_hash"]] == pytest.approx(expected.tolist())


def test_a_vector_is_copied_to_the_chunk_of_the_same_text(chunked):
    store = Store(chunked)
    update_vectors(store, FakeEmbedder(), window=2)
    rows = store.scan("vectors", ["text_hash", "vector"]).to_pylist()
    by_hash: dict[str, list] = {}
    for row in rows:
        by_hash.setdefault(row["text_hash"], []).append(row["vector"])
    shared = [vs for vs in by_hash.values() if len(vs) > 1]
    assert shared and all(v == vs[0] for vs in shared for v in vs)


def test_a_second_run_encodes_and_writes_nothing(chunked):
    store = Store(chunked)
    update_vectors(store, FakeEmbedder(), window=5)
    fake = FakeEmbedder()
    again = update_vectors(store, fake, window=5)
    assert (again.embedded, again.reused, again.deleted, fake.encoded) == (0, 0, 0, [])
