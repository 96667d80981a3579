"""The static tier's vectors made by the parse from the ids it counted with
(semcode/index/parsed_vectors.py): the same vectors the static encoder makes, whatever the
text, and whatever the spool lacks is encoded."""

from pathlib import Path

import numpy as np
import pytest

from semcode.config import Settings
from semcode.embed.embedding import Embedder, embedding_text
from semcode.embed.static_model import (
    encode_static,
    load_static_model,
    static_model_path,
    static_pooler,
)
from semcode.embed.tokens import token_counter
from semcode.index import parsed_vectors
from semcode.index.parse import IN_PROCESS_FILES, index_shard
from semcode.index.pipeline import record_snapshot, record_vectors
from semcode.ingest.chunking import Chunker
from semcode.ingest.rows import VECTORS, chunk_columns
from semcode.store.checks import vectors_match_chunks
from semcode.store.tables import Store
from semcode_dagster.assets.local_run import run_index_job
from tests.conftest import ALL_PASSED, commit_all, make_repo

SHARDS = 4


def reference(store: str) -> tuple[np.ndarray, np.ndarray]:
    """The stored vectors of every chunk, and the static encoder's of the same texts."""
    s = Store(store)
    chunks = s.scan("chunks", ["chunk_id", "symbol", "text"]).to_pylist()
    stored = {r["chunk_id"]: r["vector"] for r in
              s.scan("vectors", ["chunk_id", "vector"]).to_pylist()}
    model = load_static_model(static_model_path())
    expected = encode_static(model, [embedding_text(c["symbol"], c["text"]) for c in chunks],
                             2048)
    return np.array([stored[c["chunk_id"]] for c in chunks], np.float32), expected


@pytest.mark.model
def test_a_static_index_takes_every_vector_from_the_parse(tmp_path):
    """A real run whose parse runs in its processes (more files than are parsed in-process):
    the vectors step encodes nothing, and what it stores is what the static encoder would
    have made of each chunk's text. A push of one file is parsed in-process, spools
    nothing (its parse would wait for the pooler's load) and is encoded."""
    repo = make_repo(tmp_path / "repo")
    for i in range(IN_PROCESS_FILES + 10):
        module = repo / f"pkg{i % 7}" / f"mod_{i}.py"
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text(f"def measure_{i}(value):\n    return value * {i} + len(str(value))\n")
    commit_all(repo, "more modules")
    settings = Settings(repo=str(repo), store=str(tmp_path / "store"), model="static")
    report = run_index_job(settings)
    assert report.ok and report.checks == ALL_PASSED, report.text()
    vectors = report.vectors
    assert vectors.embedded == vectors.embedded_ahead > IN_PROCESS_FILES  # all by the parse
    got, expected = reference(settings.store_uri)
    assert len(got) == report.chunks.total
    assert np.abs(got - expected).max() <= 1e-6
    (repo / "pkg0" / "mod_0.py").write_text("def measure_again(value):\n    return value\n")
    commit_all(repo, "one file")
    push = run_index_job(settings)
    assert push.ok and push.vectors.embedded == 1 and push.vectors.embedded_ahead == 0


HARD = "\n".join([
    "def tokens_of_every_kind(a, b):",
    "    x = '[CLS] and [MASK] written in the source, [unused3] too'",  # special tokens
    "    y = 'naïve café Ünïcödé 日本語のテキスト 🙂🚀 \u0007 bell'",  # accents, CJK, unknown
    "    z = " + " + ".join(f"value_number_{i}" for i in range(400)),  # cut at token edges
    "",
    "",
    "    return x, y, z",
    "",
    "class Empty:",
    "    pass",
])


@pytest.mark.model
def test_the_pooler_makes_the_encoders_vectors_on_hard_text():
    """Special tokens written in code, characters the vocabulary lacks, a line too long for
    one chunk (its pieces are tokenized on their own): the same vectors, chunk by chunk."""
    counter = token_counter("static")
    pooler = static_pooler(counter.tokenizer)
    assert pooler is not None
    file = {"path": "hard.py", "language": "python", "content_hash": "0" * 64}
    columns = chunk_columns(file, HARD, Chunker(counter, keep_ids=True), pooler=pooler)
    texts = [embedding_text(s, t) for s, t in zip(columns["symbol"], columns["text"],
                                                  strict=True)]
    assert len(texts) > 3 and any("[CLS]" in t for t in texts)
    assert any(t.count("\n") == 0 for t in columns["text"])  # a piece of the long line
    made = np.frombuffer(columns[VECTORS], np.float32).reshape(len(texts), -1)  # type: ignore[call-overload]
    expected = encode_static(load_static_model(static_model_path()), texts, 2048)
    assert np.abs(made - expected).max() <= 1e-6
    # and a chunker that keeps no ids makes none
    assert VECTORS not in chunk_columns(file, HARD, Chunker(counter), pooler=pooler)


@pytest.mark.model
def test_what_the_spool_lacks_is_encoded(tmp_path):
    """A shard's spool gone and another's cut short: those chunks are encoded, the rest
    taken, and the vectors are whole and right either way."""
    repo, store = make_repo(tmp_path / "repo"), str(tmp_path / "store")
    snapshot = record_snapshot(Store(store), repo=str(repo), shards=SHARDS,
                               max_file_bytes=1_000_000)
    spool = parsed_vectors.start("a-run", "static")
    for shard in range(SHARDS):
        index_shard(store_uri=store, repo=str(repo), shard=shard, model="static",
                    is_git=snapshot.is_git, vectors_to=spool.folder)
    files = sorted(Path(spool.folder).glob("*.arrow"))
    assert len(files) >= 3
    files[0].unlink()
    files[1].write_bytes(files[1].read_bytes()[:200])
    claimed = parsed_vectors.claim("a-run")
    assert claimed is spool and parsed_vectors.claim("a-run") is None
    report = record_vectors(Store(store), Embedder("static"), parsed=claimed)
    assert 0 < report.embedded_in_parse < report.embedded == report.total
    assert not Path(spool.folder).exists()  # discarded once read
    assert vectors_match_chunks(Store(store), report.model, report.dim).passed
    got, expected = reference(store)
    assert np.abs(got - expected).max() <= 1e-6


def test_a_spool_left_by_a_dead_process_is_removed_by_the_next():
    """A run killed between its parse and its vectors step leaves its spool (1.4 GB at the
    drivers/ size); the next spool made on the machine removes it, never a live one's."""
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    root = parsed_vectors.spool_root()
    root.mkdir(exist_ok=True)
    left = root / f"{dead}-left"
    left.mkdir(exist_ok=True)
    (left / "shard-0.arrow").write_bytes(b"x" * 1000)
    live = root / f"{os.getpid()}-live"  # a running process's: its run may still read it
    live.mkdir(exist_ok=True)
    spool = parsed_vectors.start("run-a", "static")
    assert not left.exists() and live.is_dir() and Path(spool.folder).is_dir()
    parsed_vectors.drop("run-a")
    live.rmdir()
    assert not Path(spool.folder).exists()
