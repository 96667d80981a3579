"""The UI says when the index lags the branch head: a warning check, evaluated by every
index run and, between runs, by index_freshness_sensor when the verdict changes."""

import dagster as dg

from semcode.config import Settings
from semcode_dagster.definitions import build_defs
from tests.conftest import commit_all
from tests.dagster_helpers import FakeEmbedderResource, index_fixture_repo


def evaluate(defs: dg.Definitions, cursor: str | None = None) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def("index_freshness_sensor")
    with dg.build_sensor_context(cursor=cursor, resources=defs.resources) as context:
        return sensor(context)


def test_a_lagging_index_warns_and_says_how_far_behind(tmp_path):
    repo, store, result = index_fixture_repo(tmp_path, FakeEmbedderResource())
    assert result.success
    fresh = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert fresh["index_matches_branch_head"].passed  # just indexed: the head
    defs = build_defs(Settings(repo=str(repo), store=store))
    first = evaluate(defs)
    assert first.asset_events[0].passed
    assert evaluate(defs, first.cursor).skip_reason is not None  # no change, no new event
    for n in range(2):
        (repo / f"new_{n}.py").write_text(f"def added_{n}():\n    return {n}\n")
        commit_all(repo, f"commit {n}")
    lagging = evaluate(defs, first.cursor)
    (warning,) = lagging.asset_events
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.check_name == "index_matches_branch_head"
    assert warning.metadata["commits_behind"].value == 2
    assert "2 commit(s) behind" in warning.description and "semcode index" in warning.description
