"""``vectors_match_chunks`` proven from the rows written since the last check
(``semcode/store/proof.py``): a push is proven by what it wrote, and every way the store can be
wrong after the proof — a vector lost, repeated, not finite, of another model; a chunk without
one; an id held twice — is still caught (by the full check it falls back to). Real LanceDB
stores of a real repository, indexed by the real job with the fake embedder (the property is
about ids and values, not meaning)."""

import pyarrow as pa
import pytest

from semcode.store import proof
from semcode.store.tables import Store, read_all
from tests.conftest import FakeEmbedder, commit_all
from tests.dagster_helpers import index_with_fake, indexed_with_fake

MODEL, DIM = FakeEmbedder.model_id, FakeEmbedder.dim


@pytest.fixture
def indexed(tmp_path):
    """(repo, store) after one index run, whose check kept its proof."""
    return indexed_with_fake(tmp_path)


def kept(store: str) -> dict:
    return Store(store, create=False).get_meta(proof.KEY)


def test_a_push_is_proven_from_what_it_wrote_and_chains_the_proof(indexed):
    repo, store = indexed
    first = kept(store)
    assert first is not None and first["model"] == MODEL
    with open(repo / "src" / "shop" / "cart.py", "a") as f:
        f.write("\n\ndef total_weight(items):\n    return sum(i.weight for i in items)\n")
    commit_all(repo, "one more function")
    report = index_with_fake(repo, store)
    assert report.ok, report.text()
    second = kept(store)
    opened = Store(store, create=False)
    assert second["chunks"]["version"] == opened.table("chunks").version > \
        first["chunks"]["version"]
    assert second["vectors"]["version"] == opened.table("vectors").version
    assert second["full_at"] == first["full_at"]  # proven from the push: no full check ran
    again = proof.checked(opened, MODEL, DIM)
    assert again.passed and again.evidence["proof"].startswith("incremental")


def _vectors(opened: Store) -> pa.Table:
    return opened.scan("vectors", ["chunk_id", "text_hash", "model", "path", "language",
                                   "kind", "vector"])


def _lose_a_vector(opened: Store) -> None:
    one = _vectors(opened).column("chunk_id")[0].as_py()
    opened.table("vectors").delete(f"chunk_id = '{one}'")


def _repeat_a_vector(opened: Store) -> None:
    opened.table("vectors").add(_vectors(opened).slice(0, 1))


def _spoil_a_vector(opened: Store, field: str) -> None:
    row = _vectors(opened).slice(0, 1).to_pylist()[0]
    opened.table("vectors").delete(f"chunk_id = '{row['chunk_id']}'")
    if field == "vector":
        row["vector"] = [float("inf")] + row["vector"][1:]  # LanceDB itself refuses a NaN
    else:
        row["model"] = "another-model"
    opened.table("vectors").add(pa.Table.from_pylist([row], schema=opened.table(
        "vectors").schema))


def _add_a_chunk_without_a_vector(opened: Store) -> None:
    row = opened.scan("chunks", opened.table("chunks").schema.names).slice(0, 1).to_pylist()[0]
    row["chunk_id"] = "0" * 32
    opened.table("chunks").add(pa.Table.from_pylist([row],
                                                    schema=opened.table("chunks").schema))


def _hold_an_id_twice(opened: Store) -> None:
    """A chunk and its vector added again under an id both tables already hold."""
    chunk = opened.scan("chunks", opened.table("chunks").schema.names).slice(0, 1)
    opened.table("chunks").add(chunk)
    vector = _vectors(opened)
    opened.table("vectors").add(vector.filter(pa.compute.equal(
        vector.column("chunk_id"), chunk.column("chunk_id")[0])))


DAMAGE = {
    "a vector lost": (_lose_a_vector, "missing_vectors"),
    "a vector repeated": (_repeat_a_vector, "duplicate_vector_ids"),
    "a vector not finite": (lambda s: _spoil_a_vector(s, "vector"), "non_finite_values"),
    "a vector of another model": (lambda s: _spoil_a_vector(s, "model"), "other_models"),
    "a chunk without a vector": (_add_a_chunk_without_a_vector, "missing_vectors"),
    "an id held twice": (_hold_an_id_twice, "duplicate_chunk_ids"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_whatever_goes_wrong_after_the_proof_is_caught(indexed, damage):
    _, store = indexed
    opened = Store(store, create=False)
    assert proof.proven_since(opened, MODEL, DIM) is not None  # nothing written yet: proven
    spoil, evidence = DAMAGE[damage]
    spoil(opened)
    assert proof.proven_since(opened, MODEL, DIM) is None
    report = proof.checked(opened, MODEL, DIM)
    assert not report.passed and report.evidence["proof"] == "full"
    assert report.evidence[evidence], report.evidence
    last = kept(store)  # the failed state is not kept as proven
    assert (last["chunks"]["version"], last["vectors"]["version"]) != \
        (opened.table("chunks").version, opened.table("vectors").version)


def test_a_chunk_rewritten_with_its_own_id_is_proven(indexed):
    _, store = indexed
    opened = Store(store, create=False)
    chunk = opened.scan("chunks", opened.table("chunks").schema.names).slice(0, 3)
    opened.table("chunks").merge_insert("chunk_id").when_matched_update_all() \
        .when_not_matched_insert_all().execute(chunk)
    since = proof.proven_since(opened, MODEL, DIM)
    assert since is not None and since[0].evidence["rows_added"] == 3


def test_rows_deleted_from_a_large_fragment_cost_only_themselves(indexed, monkeypatch):
    """A push deletes a file's rows from a fragment a full index wrote (a million rows at
    the drivers/ size): what it changed is those rows, not the fragment."""
    _, store = indexed
    opened = Store(store, create=False)
    counts = kept(store)["chunks"]["counts"]
    largest = max(counts, key=counts.get)
    monkeypatch.setattr(proof, "MAX_SHARE", 0.0)
    monkeypatch.setattr(proof, "MAX_ROWS_ANYWAY", 2)  # below that fragment's rows
    assert counts[largest] > 2
    rows = read_all(opened.table("chunks").search().with_row_id(True).select(["chunk_id"]))
    one = next(c for c, r in zip(rows.column("chunk_id").to_pylist(),
                                 rows.column("_rowid").to_pylist(), strict=True)
               if r >> proof.FRAGMENT == int(largest))
    for table in ("chunks", "vectors"):
        opened.table(table).delete(f"chunk_id = '{one}'")
    since = proof.proven_since(opened, MODEL, DIM)
    assert since is not None and since[0].evidence["rows_deleted"] == 1
    opened.table("vectors").delete(f"chunk_id = '{_vectors(opened).column('chunk_id')[0]}'")
    assert proof.proven_since(opened, MODEL, DIM) is None  # a vector alone lost: not proven


def test_a_table_made_again_or_an_old_proof_gets_the_full_check(indexed, monkeypatch):
    _, store = indexed
    opened = Store(store, create=False)
    rows = _vectors(opened)
    opened.db.drop_table("vectors")
    opened.db.create_table("vectors", rows)  # same rows: a new table, versions from 1 again
    assert proof.proven_since(opened, MODEL, DIM) is None
    report = proof.checked(opened, MODEL, DIM)
    assert report.passed and report.evidence["proof"] == "full"
    assert proof.proven_since(opened, MODEL, DIM) is not None  # the new proof
    monkeypatch.setattr(proof, "FULL_EVERY_S", 0.0)
    assert proof.proven_since(opened, MODEL, DIM) is None


def test_a_compaction_is_proven_from_the_rows_it_moved_unless_it_moved_too_many(
        indexed, monkeypatch):
    _, store = indexed
    opened = Store(store, create=False)
    opened.table("chunks").add(opened.scan("chunks", opened.table("chunks").schema.names)
                               .slice(0, 0))  # (nothing: a version, no rows)
    assert opened.table("chunks").stats()["fragment_stats"]["num_fragments"] > 1
    opened.table("chunks").optimize()  # every row to a new fragment: deleted and added
    since = proof.proven_since(opened, MODEL, DIM)
    assert since is not None and since[0].evidence["rows_added"] == opened.count("chunks")
    monkeypatch.setattr(proof, "MAX_ROWS_ANYWAY", 0)
    assert proof.proven_since(opened, MODEL, DIM) is None
    report = proof.checked(opened, MODEL, DIM)
    assert report.passed and report.evidence["proof"] == "full"


def test_a_run_with_nothing_to_do_trusts_the_proof_and_not_a_damaged_store(indexed,
                                                                          monkeypatch):
    from semcode.config import Settings
    from semcode.index import pipeline

    repo, store = indexed
    settings = Settings(repo=str(repo), store=store, model=MODEL)
    full = []
    real = proof.vectors_match_chunks
    monkeypatch.setattr(proof, "vectors_match_chunks",
                        lambda *args: full.append(args) or real(*args))
    monkeypatch.setattr(pipeline, "model_id", lambda name: name)
    report = pipeline.nothing_to_do(settings)
    assert report is not None and report.up_to_date and full == []  # from the proof
    _lose_a_vector(Store(store, create=False))
    assert pipeline.nothing_to_do(settings) is None and len(full) == 1  # checked in full


@pytest.mark.parametrize("garbage", ["not a proof", {"model": MODEL, "dim": DIM},
                                     {"model": MODEL, "dim": DIM, "full_at": 7, "chunks": []}])
def test_a_proof_that_cannot_be_read_gets_the_full_check(indexed, garbage):
    _, store = indexed
    opened = Store(store, create=False)
    opened.set_meta(**{proof.KEY: garbage})
    assert proof.proven_since(opened, MODEL, DIM) is None
    report = proof.checked(opened, MODEL, DIM)
    assert report.passed and report.evidence["proof"] == "full"
    assert proof.proven_since(opened, MODEL, DIM) is not None  # and a good one is kept


def test_a_vectors_step_plans_a_push_from_the_proof(indexed):
    """After a push's parse, what the chunks gained and lost since the proof is exactly what
    comparing both tables in full finds — chunks without a vector, vectors without a chunk —
    and the vectors step, planning from it, leaves the property proven."""
    from semcode.index.parse import index_shard
    from semcode.index.pipeline import record_snapshot
    from semcode.index.vectors import update_vectors
    from tests.conftest import FakeEmbedder

    repo, store = indexed
    cart = repo / "src" / "shop" / "cart.py"
    kept_lines = cart.read_text().splitlines()[: len(cart.read_text().splitlines()) // 2]
    cart.write_text("\n".join(kept_lines) + "\n\n\ndef total_weight(items):\n"
                    "    return sum(i.weight for i in items)\n")
    commit_all(repo, "half a file gone, a function added")
    opened = Store(store, create=False)
    snapshot = record_snapshot(opened, repo=str(repo), shards=opened.last_snapshot().shards,
                               max_file_bytes=1_000_000)
    for shard in range(snapshot.shards):
        index_shard(store_uri=store, repo=str(repo), shard=shard, model="all-MiniLM-L6-v2",
                    is_git=snapshot.is_git)
    since = proof.changes_since(opened, MODEL, DIM)
    assert since is not None
    missing, orphans = since
    chunks = set(opened.scan("chunks", ["chunk_id"]).column("chunk_id").to_pylist())
    vectors = set(opened.scan("vectors", ["chunk_id"]).column("chunk_id").to_pylist())
    assert set(missing.column("chunk_id").to_pylist()) == chunks - vectors != set()
    assert set(orphans.to_pylist()) == vectors - chunks != set()
    report = update_vectors(opened, FakeEmbedder())
    assert report.deleted == len(vectors - chunks) and report.total == len(chunks)
    assert proof.checked(opened, MODEL, DIM).passed
    again = proof.changes_since(opened, MODEL, DIM)  # the check kept a proof of this state
    assert again is not None and again[0].num_rows == 0 and len(again[1]) == 0
    _lose_a_vector(opened)  # vectors written since the proof: compared in full
    assert proof.changes_since(opened, MODEL, DIM) is None
