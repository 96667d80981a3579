"""index_freshness_sensor: the UI says when the index lags the branch head, between runs."""

import dagster as dg

from assets.checks import freshness_report, index_matches_branch_head
from assets.index import code_vectors
from resources import RepoResource, StoreResource

CHECK_NAME = index_matches_branch_head.check_key.name


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def index_freshness_sensor(context: dg.SensorEvaluationContext, repo: RepoResource,
                           store: StoreResource) -> dg.SensorResult:
    """Once a minute, compares the tracked branch's head with the indexed commit and records
    the verdict as the `index_matches_branch_head` check (a warning) when it changes. It
    reads git and the store's metadata only; it launches nothing."""
    report = freshness_report(repo, store)
    state = f"{report.evidence['head']}:{report.evidence['indexed_commit']}"
    if state == context.cursor:
        return dg.SensorResult(skip_reason=dg.SkipReason(report.description))
    evaluation = dg.AssetCheckEvaluation(
        asset_key=code_vectors.key, check_name=CHECK_NAME, passed=report.passed,
        description=report.description, severity=dg.AssetCheckSeverity.WARN,
        metadata=report.evidence)
    return dg.SensorResult(asset_events=[evaluation], cursor=state)
