"""The vectors step streams chunk texts in growing windows and keeps ids in Arrow: whatever
the window, every chunk gets one vector and every distinct text is encoded once."""

import shutil

import pyarrow.compute as pc
import pytest

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
