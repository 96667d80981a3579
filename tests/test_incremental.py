"""After every kind of change, the incremental index equals a from-scratch index at the
same commit, and re-parses and embeds exactly what the change implies."""

import subprocess
import sys

import numpy as np
import pytest

from semcode.embed.embedding import shared_embedder
from semcode.index.parse import index_shards
from semcode.index.pipeline import record_snapshot, record_vectors
from semcode.reports import ChunksReport
from semcode.store.tables import Store
from tests.conftest import commit_all, git, make_repo

pytestmark = [pytest.mark.model, pytest.mark.slow]
MODEL = "all-MiniLM-L6-v2"


def index(repo, uri, commit=""):
    store = Store(uri)
    record_snapshot(store, repo=str(repo), shards=8, max_file_bytes=1_000_000, commit=commit)
    shards = ChunksReport.from_shards(commit, index_shards(
        store_uri=uri, repo=str(repo), shards=list(range(8)), model=MODEL, is_git=True,
        workers=1))
    vectors = record_vectors(store, shared_embedder(MODEL, "cpu", 16))
    return shards, vectors


def state(uri):
    store = Store(uri)
    chunks = store.scan("chunks", ["chunk_id", "path", "symbol", "start_line", "end_line",
                                   "text", "text_hash", "kind"]).to_pylist()
    vectors = store.scan("vectors", ["chunk_id", "text_hash", "vector"]).to_pylist()
    return (sorted(chunks, key=lambda r: r["chunk_id"]),
            {v["chunk_id"]: (v["text_hash"], np.asarray(v["vector"])) for v in vectors})


def assert_equals_from_scratch(repo, uri, tmp_path, label):
    scratch = str(tmp_path / f"scratch-{label}")
    index(repo, scratch, git(repo, "rev-parse", "HEAD"))
    chunks, vectors = state(uri)
    scratch_chunks, scratch_vectors = state(scratch)
    assert chunks == scratch_chunks
    assert vectors.keys() == scratch_vectors.keys() == {c["chunk_id"] for c in chunks}
    for cid, (text_hash, vector) in vectors.items():
        assert text_hash == scratch_vectors[cid][0]
        assert float(vector @ scratch_vectors[cid][1]) > 0.999


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


NEW_FILE = '''def slugify(title):
    return "-".join(title.lower().split())


def word_count(text):
    return len(text.split())
'''

HASH_PASSWORD = '''

def hash_password(password, salt):
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)
    return digest.hex()
'''


def change_edit_function(repo):
    edit(repo / "src/shop/cart.py", 'return total / 2', 'return total * 0.5')


def change_add_file(repo):
    (repo / "src/shop/text.py").write_text(NEW_FILE)


def change_delete_file(repo):
    (repo / "native/Queue.java").unlink()


def change_rename_file(repo):
    git(repo, "mv", "go/cache/lru.go", "go/cache/lru_cache.go")


def change_move_function(repo):
    edit(repo / "src/shop/users.py", HASH_PASSWORD, "\n")
    cart = repo / "src/shop/cart.py"
    cart.write_text(cart.read_text() + HASH_PASSWORD)


def change_whitespace_only(repo):
    edit(repo / "web/router.js", "\n\nexport const debounce", "\n\n\n\nexport const debounce")


# change, files parsed, files removed, chunk ids added, removed, texts embedded, vectors reused
STEPS = [
    (change_edit_function, 1, 0, 1, 1, 1, 0),
    (change_add_file, 1, 0, 2, 0, 2, 0),
    (change_delete_file, 0, 1, 0, 5, 0, 0),
    (change_rename_file, 1, 1, 4, 4, 0, 4),
    (change_move_function, 2, 0, 1, 1, 0, 1),
    (change_whitespace_only, 1, 0, 0, 0, 0, 0),
]


def test_each_change_reindexes_exactly_what_it_implies(tmp_path):
    repo = make_repo(tmp_path / "repo")
    uri = str(tmp_path / "store")
    index(repo, uri)
    commits = [git(repo, "rev-parse", "HEAD")]
    for change, parsed, removed, added_ids, removed_ids, embedded, reused in STEPS:
        change(repo)
        commits.append(commit_all(repo, change.__name__))
        shards, vectors = index(repo, uri)
        assert (shards.parsed, shards.removed, shards.chunks_added,
                shards.chunks_removed, vectors.embedded, vectors.reused) == \
            (parsed, removed, added_ids, removed_ids, embedded, reused), change.__name__
        assert vectors.deleted == removed_ids
        assert_equals_from_scratch(repo, uri, tmp_path, change.__name__)

    # force-push an older commit: the branch goes back to the state after the second step
    before = {c["text_hash"] for c in state(uri)[0]}
    git(repo, "reset", "-q", "--hard", commits[2])
    changed = set(git(repo, "diff", "--name-only", "--no-renames", commits[-1],
                      commits[2]).splitlines())
    shards, vectors = index(repo, uri)
    scratch = str(tmp_path / "scratch-old")
    index(repo, scratch)
    old_hashes = {c["text_hash"] for c in state(scratch)[0]}
    assert shards.parsed + shards.removed == len(changed)
    assert vectors.embedded == len(old_hashes - before)
    assert_equals_from_scratch(repo, uri, tmp_path, "force-push")


def test_a_changed_model_reembeds_everything_and_never_mixes(tmp_path):
    from tests.conftest import FakeEmbedder

    repo = make_repo(tmp_path / "repo")
    uri = str(tmp_path / "store")
    index(repo, uri)
    total = Store(uri).count("chunks")
    fake = FakeEmbedder()
    result = record_vectors(Store(uri), fake)
    assert (result.embedded + result.reused, result.deleted) == (total, total)
    models = set(Store(uri).scan("vectors", ["model"]).column("model").to_pylist())
    assert models == {fake.model_id}


def test_a_newly_skipped_file_loses_its_chunks(tmp_path):
    repo = make_repo(tmp_path / "repo")
    uri = str(tmp_path / "store")
    index(repo, uri)
    (repo / ".semcodeignore").write_text("secret.py\nnative/\n")
    commit_all(repo, "exclude native/")
    shards, _ = index(repo, uri)
    paths = set(Store(uri).scan("chunks", ["path"]).column("path").to_pylist())
    assert not any(p.startswith("native/") for p in paths)
    assert shards.removed == 7  # the seven files under native/
    assert_equals_from_scratch(repo, uri, tmp_path, "skip")


def test_a_killed_run_leaves_a_readable_index_and_the_next_run_converges(tmp_path):
    repo = make_repo(tmp_path / "repo")
    uri = str(tmp_path / "store")
    index(repo, uri)
    change_add_file(repo)
    change_edit_function(repo)
    commit_all(repo, "two changes")
    script = (
        "import os, sys\n"
        "from semcode.store.tables import Store\n"
        "from semcode.index.pipeline import record_snapshot\n"
        "from semcode.index.parse import index_shard\n"
        "s = Store(sys.argv[1])\n"
        "record_snapshot(s, repo=sys.argv[2], shards=8, max_file_bytes=1_000_000)\n"
        "index_shard(store_uri=sys.argv[1], repo=sys.argv[2], shard=0,\n"
        "            model='all-MiniLM-L6-v2', is_git=True)\n"
        "os._exit(9)  # killed after one shard, before vectors\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, uri, str(repo)], capture_output=True)
    assert proc.returncode == 9
    store = Store(uri)
    assert store.count("chunks") > 0 and store.count("vectors") > 0  # still readable
    index(repo, uri)
    assert_equals_from_scratch(repo, uri, tmp_path, "killed")
