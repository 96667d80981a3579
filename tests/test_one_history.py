"""One Dagster history for every door: `semcode index` records into the index's own instance
(beside the store), the one `semcode ui` opens, so the UI shows the CLI's runs, their
materializations and check results; a second repository's history is its own; and the
history stops growing. Real Dagster runs on real repositories."""

import dagster as dg
import pytest

from semcode.config import Settings
from semcode.interfaces import cli
from semcode.interfaces.ui import instance_home
from semcode.store.tables import Store
from semcode_dagster.assets.local_run import prune_runs
from tests.conftest import commit_all, make_repo

pytestmark = [pytest.mark.slow, pytest.mark.model]


@pytest.fixture
def plain_env(monkeypatch, tmp_path):
    """No DAGSTER_HOME: each index chooses its own instance."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def _instance(repo) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(repo / ".semcode" / "dagster"))


def test_semcode_index_records_its_runs_where_the_ui_looks(plain_env, tmp_path, capsys):
    repo = make_repo(tmp_path / "repo")
    assert cli.main(["index", str(repo)]) == 0
    (repo / "added.py").write_text("def freshly_added(x):\n    return x * 2\n")
    commit_all(repo, "one more file")
    assert cli.main(["index", str(repo)]) == 0
    capsys.readouterr()
    home = instance_home(Settings(repo=str(repo)))
    assert home == repo / ".semcode" / "dagster"  # what `semcode ui` opens too
    instance = _instance(repo)
    runs = instance.get_runs()
    assert [r.job_name for r in runs] == ["index_job", "index_job"]
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    shards = {f"shard-{n:02d}" for n in range(Settings().shards)}
    assert instance.get_materialized_partitions(dg.AssetKey("code_chunks")) == shards
    vectors = instance.get_latest_materialization_event(dg.AssetKey("code_vectors"))
    store = Store(str(repo / ".semcode" / "lancedb"), create=False)
    assert vectors.asset_materialization.metadata["total"].value == store.count("vectors")
    checks = [r.event_log_entry.dagster_event.event_specific_data for r in
              instance.get_records_for_run(
                  runs[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records]
    assert {c.check_name for c in checks} >= {"vectors_match_chunks", "chunks_match_manifest"}
    assert all(c.passed for c in checks)


def test_a_second_repository_keeps_a_history_of_its_own(plain_env, tmp_path, capsys):
    first, second = make_repo(tmp_path / "first"), make_repo(tmp_path / "second")
    assert cli.main(["index", str(first)]) == 0
    assert cli.main(["index", str(second)]) == 0
    capsys.readouterr()
    assert len(_instance(first).get_runs()) == len(_instance(second).get_runs()) == 1
    assert _instance(first).get_run_ids() != _instance(second).get_run_ids()


@pytest.mark.parametrize("store,under", [("", "repo/.semcode/dagster"),
                                         ("elsewhere/index", "elsewhere/index.dagster"),
                                         ("s3://bucket/team-index", "data/semcode/instances"),
                                         ("DAGSTER_HOME", "deployment")])
def test_where_an_index_s_instance_lives(plain_env, tmp_path, monkeypatch, store, under):
    if store == "DAGSTER_HOME":
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "deployment"))
        store = ""
    settings = Settings(repo=str(tmp_path / "repo"),
                        store=str(tmp_path / store) if store and "://" not in store else store)
    home = instance_home(settings)
    assert str(home).startswith(str(tmp_path / under))
    assert "semcode/index" in (home / "dagster.yaml").read_text()  # the run queue's limits


def test_the_history_stops_growing(plain_env, tmp_path):
    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
    job = dg.define_asset_job("j", selection="*")

    @dg.asset
    def thing() -> None:
        return None

    resolved = dg.Definitions(assets=[thing], jobs=[job]).resolve_job_def("j")
    ran = [resolved.execute_in_process(instance=instance).run_id for _ in range(4)]
    assert prune_runs(instance, keep=2) == 2
    assert set(instance.get_run_ids()) == set(ran[2:])  # the newest kept, with their events
    assert instance.all_logs(ran[3]) and not instance.all_logs(ran[0])


OPEN = ("import sys; from pathlib import Path; "
        "from semcode_dagster.assets.local_run import open_instance; "
        "open_instance(Path(sys.argv[1])).get_run_ids(limit=1)")


def test_index_runs_starting_at_once_make_one_instance_that_stays_readable(tmp_path):
    """Without the lock, 4 processes opening a fresh instance at once failed in 6 rounds of
    6 here ("table runs already exists"), and left 4 of 6 unreadable ("more than one head")."""
    import subprocess
    import sys

    for round_ in range(3):
        home = tmp_path / f"home{round_}"
        home.mkdir()
        procs = [subprocess.Popen([sys.executable, "-c", OPEN, str(home)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        errors = [p.communicate(timeout=600)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, errors
        again = subprocess.run([sys.executable, "-c", OPEN, str(home)], capture_output=True,
                               text=True, timeout=600)
        assert again.returncode == 0, again.stderr


def test_a_history_that_cannot_be_opened_is_set_aside_and_begun_anew(tmp_path, capsys):
    import sqlite3

    from semcode_dagster.assets.local_run import open_instance

    home = tmp_path / "home"
    home.mkdir()
    open_instance(home)
    with sqlite3.connect(home / "history" / "runs.db") as db:  # what the race left behind
        db.execute("INSERT INTO alembic_version VALUES ('0000000000ab')")
    with pytest.raises(Exception, match="more than one head"):
        dg.DagsterInstance.from_config(str(home))
    instance = open_instance(home)
    assert instance.get_run_ids() == []
    aside = [p for p in home.iterdir() if p.name.startswith("unreadable-")]
    assert len(aside) == 1 and (aside[0] / "history" / "runs.db").is_file()
    assert "set it aside" in capsys.readouterr().err
