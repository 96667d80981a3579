"""index_freshness_sensor: the UI says when the index lags the branch head, between runs."""

import dagster as dg

from semcode_dagster.assets.checks import freshness_report, index_matches_branch_head
from semcode_dagster.assets.scope import ONLY, Scope

CHECK_NAME = index_matches_branch_head.check_key.name


def build_freshness_sensor(scope: Scope = ONLY) -> dg.SensorDefinition:
    """The freshness sensor of one repository's index."""

    @dg.sensor(name=scope.named("index_freshness_sensor"), minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               required_resource_keys=scope.resource_keys)
    def index_freshness_sensor(context: dg.SensorEvaluationContext,
                               **_called_with: object) -> dg.SensorResult:
        """Once a minute, compares the tracked branch's head with the indexed commit and
        records the verdict as the `index_matches_branch_head` check (a warning) when it
        changes. It reads git and the store's metadata only; it launches nothing."""
        report = freshness_report(scope.repo(context.resources), scope.store(context.resources))
        state = f"{report.evidence['head']}:{report.evidence['indexed_commit']}"
        if state == context.cursor:
            return dg.SensorResult(skip_reason=dg.SkipReason(report.description))
        evaluation = dg.AssetCheckEvaluation(
            asset_key=scope.key("code_vectors"), check_name=CHECK_NAME, passed=report.passed,
            description=report.description, severity=dg.AssetCheckSeverity.WARN,
            metadata=report.evidence)
        return dg.SensorResult(asset_events=[evaluation], cursor=state)

    return index_freshness_sensor


index_freshness_sensor = build_freshness_sensor()
