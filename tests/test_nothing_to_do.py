"""A run with nothing to do: answered from the store (no Dagster run) only when the store
already indexes the branch head with the same settings and its checks pass as it is now."""

from semcode.config import Settings
from semcode.index.pipeline import nothing_to_do
from semcode.store.tables import Store
from tests.conftest import ALL_PASSED, FakeEmbedder, commit_all, make_repo
from tests.dagster_helpers import index_with_fake

FAKE = FakeEmbedder.model_id


def indexed(tmp_path):
    repo, store = make_repo(tmp_path / "repo"), str(tmp_path / "store")
    assert index_with_fake(repo, store).ok
    return repo, store, Settings(repo=str(repo), store=store, model=FAKE)


def test_an_indexed_head_is_up_to_date_with_live_counts(tmp_path):
    repo, store, settings = indexed(tmp_path)
    report = nothing_to_do(settings)
    assert report is not None and report.up_to_date and report.ok
    assert report.checks == ALL_PASSED
    assert report.chunks.total == report.vectors.total == Store(store).count("chunks") > 0
    assert report.vectors.embedded == 0 and report.files.parsed == 0


def test_a_new_commit_other_settings_or_no_store_mean_a_run(tmp_path):
    repo, store, settings = indexed(tmp_path)
    assert nothing_to_do(settings.with_overrides(shards=4)) is None
    assert nothing_to_do(settings.with_overrides(model="all-MiniLM-L6-v2")) is None
    assert nothing_to_do(settings.with_overrides(max_file_bytes=10)) is None
    assert nothing_to_do(settings.with_overrides(store=str(tmp_path / "none"))) is None
    (repo / "new.py").write_text("def added():\n    return 1\n")
    commit_all(repo, "add a file")
    assert nothing_to_do(settings) is None
    assert index_with_fake(repo, store).ok
    assert nothing_to_do(settings) is not None


def test_a_damaged_store_is_not_up_to_date_and_the_run_repairs_it(tmp_path):
    repo, store, settings = indexed(tmp_path)
    one = Store(store).scan("vectors", ["chunk_id"]).column("chunk_id")[0].as_py()
    Store(store).delete("vectors", f"chunk_id = '{one}'")
    assert nothing_to_do(settings) is None  # the checks, run now, fail
    report = index_with_fake(repo, store)
    assert report.ok and report.vectors.embedded == 1
    assert nothing_to_do(settings) is not None


def test_outside_git_every_run_does_the_work(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("def f():\n    return 1\n")
    store = str(tmp_path / "store")
    assert index_with_fake(plain, store).ok
    assert nothing_to_do(Settings(repo=str(plain), store=store, model=FAKE)) is None


def test_a_full_reparse_re_embeds_nothing(tmp_path):
    """Another shard count drops and re-parses every chunk row; the vectors stay cached."""
    from semcode_dagster.assets.local_run import run_index_job
    from tests.dagster_helpers import FakeEmbedderResource

    repo, store, settings = indexed(tmp_path)
    before = Store(store).count("vectors")
    report = run_index_job(settings.with_overrides(shards=3, model="all-MiniLM-L6-v2"),
                           embedder=FakeEmbedderResource())
    assert report.ok and report.files.parsed > 0
    assert report.vectors.embedded == 0 and report.vectors.total == before


def test_a_store_cut_by_an_older_chunker_is_re_chunked_and_re_embeds_only_new_texts(tmp_path):
    repo, store, settings = indexed(tmp_path)
    s = Store(store)
    before = s.count("chunks")
    old = s.last_snapshot()
    s.set_meta(snapshot=old.model_copy(update={"chunker": old.chunker - 1}).to_dict())
    assert nothing_to_do(settings) is None
    report = index_with_fake(repo, store)
    assert report.ok and report.files.parsed == report.files.seen - report.files.skipped
    assert report.vectors.embedded == 0  # same chunks, same texts: every vector reused
    assert Store(store).count("chunks") == before
    assert nothing_to_do(settings) is not None
