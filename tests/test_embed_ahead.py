"""Embedding while the shards parse (semcode/index/ahead.py): what the vectors step takes
from the thread is exactly what it would have encoded itself — the same vectors, each text
encoded once, nothing written before the vectors step — and a run's overlap is only ever
used by that run."""

import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from semcode.embed.embedding import embedding_text
from semcode.index import ahead as embed_ahead
from semcode.index.ahead import EmbedAhead
from semcode.index.parse import IN_PROCESS_FILES, index_shards
from semcode.index.pipeline import record_snapshot
from semcode.index.vectors import embedded_hashes, update_vectors
from semcode.store.tables import Store
from tests.conftest import ALL_PASSED, FakeEmbedder, commit_all, init_repo, make_repo
from tests.dagster_helpers import index_with_fake

SHARDS = [0, 1, 2, 3]
NOTHING = pa.array([], pa.string())  # no text has a vector yet


@pytest.fixture
def chunked(tmp_path):
    """The fixture repository with one file copied (one text under two paths), snapshotted
    and chunked into four shards, without vectors."""
    repo = make_repo(tmp_path / "repo")
    shutil.copy(repo / "native" / "strings.c", repo / "native" / "strings_copy.c")
    commit_all(repo, "a copy")
    uri = str(tmp_path / "store")
    record_snapshot(Store(uri), repo=str(repo), shards=len(SHARDS), max_file_bytes=1_000_000)
    index_shards(store_uri=uri, repo=str(repo), shards=SHARDS, model="all-MiniLM-L6-v2",
                 is_git=True, workers=1)
    return uri


def run_ahead(ahead: EmbedAhead, shards: list[int] = SHARDS) -> EmbedAhead:
    """``ahead`` told of ``shards`` as committed, closed, and its thread finished."""
    for shard in shards:
        ahead.add_shard(shard)
    ahead.close()
    ahead.thread.join(timeout=60)
    return ahead


def vectors_by_chunk(store: Store) -> dict[str, list[float]]:
    rows = store.scan("vectors", ["chunk_id", "vector"]).to_pylist()
    return {r["chunk_id"]: r["vector"] for r in rows}


def test_the_vectors_taken_are_the_ones_the_step_would_have_encoded(chunked, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(chunked, plain)
    alone = update_vectors(Store(str(plain)), FakeEmbedder(), window=3)

    store, fake = Store(chunked), FakeEmbedder()
    ahead = run_ahead(EmbedAhead(store, fake, known=NOTHING))
    assert not store.has("vectors")  # the thread writes nothing: the vectors step does
    result = update_vectors(store, fake, window=3, ahead=ahead)

    distinct = len(pc.unique(store.scan("chunks", ["text_hash"]).column("text_hash")))
    assert result.embedded == alone.embedded == distinct
    assert result.embedded_ahead == distinct  # every text came from the thread
    assert len(fake.encoded) == len(set(fake.encoded)) == distinct  # each encoded once
    assert vectors_by_chunk(store) == vectors_by_chunk(Store(str(plain)))
    assert not ahead.vectors  # taken, or let go


def test_texts_that_already_have_a_vector_are_not_encoded_ahead(chunked):
    store = Store(chunked)
    update_vectors(store, FakeEmbedder())
    known = embedded_hashes(store, FakeEmbedder.model_id, FakeEmbedder.dim)
    assert len(known) == len(pc.unique(store.scan("chunks", ["text_hash"])
                                       .column("text_hash")))
    fake = FakeEmbedder()
    ahead = run_ahead(EmbedAhead(store, fake, known=known))
    assert fake.encoded == [] and ahead.encoded == 0
    # another model's vectors are not this one's: nothing is known for it
    assert len(embedded_hashes(store, "another-model", FakeEmbedder.dim)) == 0


def test_a_shard_past_the_limit_is_left_to_the_vectors_step(chunked):
    store, fake = Store(chunked), FakeEmbedder()
    ahead = run_ahead(EmbedAhead(store, fake, known=NOTHING, limit=5))
    assert 0 < ahead.encoded <= 5  # nothing taken yet: at most five held
    result = update_vectors(store, fake, ahead=ahead)
    distinct = len(pc.unique(store.scan("chunks", ["text_hash"]).column("text_hash")))
    assert result.embedded == distinct and 0 < result.embedded_ahead < distinct
    assert len(fake.encoded) == len(set(fake.encoded)) == distinct


def test_another_encoders_work_is_never_taken(chunked):
    store, other = Store(chunked), FakeEmbedder()
    ahead = run_ahead(EmbedAhead(store, other, known=NOTHING))
    fake = FakeEmbedder()
    result = update_vectors(store, fake, ahead=ahead)
    assert result.embedded_ahead == 0 and len(fake.encoded) == result.embedded > 0


def test_a_failing_thread_leaves_the_texts_to_the_vectors_step(chunked):
    class Broken(FakeEmbedder):
        def encode(self, texts):
            raise RuntimeError("the encoder broke")

    store = Store(chunked)
    broken = Broken()
    ahead = run_ahead(EmbedAhead(store, broken, known=NOTHING), [0])
    assert isinstance(ahead.error, RuntimeError)
    texts = store.scan("chunks", ["symbol", "text", "text_hash"], "shard = 0").to_pylist()
    assert ahead.take([r["text_hash"] for r in texts]) == {}  # nothing, and no wait
    expected = FakeEmbedder().encode([embedding_text(texts[0]["symbol"], texts[0]["text"])])
    assert expected.shape == (1, FakeEmbedder.dim) and np.isfinite(expected).all()


def test_one_run_at_a_time_holds_an_overlap(chunked):
    store = Store(chunked)
    first = embed_ahead.start("run-1", store, FakeEmbedder(), NOTHING)
    second = embed_ahead.start("run-2", store, FakeEmbedder(), NOTHING)
    assert first.dropped and not second.dropped  # the older run's is let go
    assert embed_ahead.claim("run-1") is None
    assert embed_ahead.claim("run-2") is second and second.closed
    assert embed_ahead.claim("run-2") is None  # claimed once
    embed_ahead.start("run-3", store, FakeEmbedder(), NOTHING)
    embed_ahead.drop("run-3")
    assert embed_ahead.claim("run-3") is None


def test_a_first_index_embeds_while_it_parses_and_proves_the_same_index(tmp_path,
                                                                       monkeypatch):
    """Through the real graph (`semcode index`'s path): a first index of more files than
    are parsed in-process starts the parse processes during the snapshot, embeds each shard
    as it is committed, and ends with the index — and the checks — that the same run
    without the overlap makes."""
    repo = tmp_path / "repo"
    for i in range(IN_PROCESS_FILES + 10):
        module = repo / f"pkg{i % 7}" / f"mod_{i}.py"
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text(f"def measure_{i}(value):\n    return value * {i} + len(str(value))\n")
    init_repo(repo)
    monkeypatch.setattr(embed_ahead, "FORCED", True)  # this machine may have 2 cores
    overlapped = index_with_fake(repo, str(tmp_path / "overlapped"))
    assert overlapped.ok and overlapped.checks == ALL_PASSED, overlapped.text()
    assert overlapped.vectors.embedded == overlapped.vectors.embedded_ahead > IN_PROCESS_FILES
    monkeypatch.setattr(embed_ahead, "FORCED", False)
    plain = index_with_fake(repo, str(tmp_path / "plain"))
    assert plain.ok and plain.vectors.embedded_ahead == 0
    assert plain.vectors.embedded == overlapped.vectors.embedded
    assert vectors_by_chunk(Store(str(tmp_path / "overlapped"))) == \
        vectors_by_chunk(Store(str(tmp_path / "plain")))
