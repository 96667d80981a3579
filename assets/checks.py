"""Blocking checks: a failed one fails the run, so nobody searches a broken index."""

import dagster as dg

from assets.index import code_vectors
from resources import EmbedderResource, RepoResource, StoreResource
from semcode import checks
from semcode.reports import CheckReport
from semcode.status import freshness


def _result(report: CheckReport) -> dg.AssetCheckResult:
    if not report.passed:  # in the run's log too: what `dagster job execute` in CI prints
        dg.get_dagster_logger().error(f"check {report.name} failed: {report.description}")
    return dg.AssetCheckResult(passed=report.passed, description=report.description,
                               metadata=report.evidence)


@dg.asset_check(asset=code_vectors, blocking=True)
def vectors_match_chunks(store: StoreResource,
                         embedder: EmbedderResource) -> dg.AssetCheckResult:
    """Exactly one vector per chunk: equal counts, equal id sets, no duplicates, the model's
    dimension and finite values."""
    handle, model = store.open(), embedder.get()
    return _result(checks.vectors_match_chunks(handle, model.model_id, model.dim))


@dg.asset_check(asset=code_vectors, blocking=True)
def chunks_match_manifest(store: StoreResource) -> dg.AssetCheckResult:
    """Every indexed file has chunks of its current content; no chunk outlives its file."""
    handle = store.open()
    return _result(checks.chunks_match_manifest(handle))


@dg.asset_check(asset=code_vectors, blocking=True)
def keyword_index_answers(store: StoreResource) -> dg.AssetCheckResult:
    """Keyword and hybrid search can answer: the full-text index exists, covers every chunk,
    and a query through it returns."""
    handle = store.open()
    return _result(checks.keyword_index_answers(handle))


def freshness_report(repo: RepoResource, store: StoreResource) -> CheckReport:
    """The indexed commit (of the last complete vectors run) against the branch head now."""
    last = store.open().last_vectors()
    indexed = last.commit if last else None
    return checks.index_matches_head(freshness(repo.path, repo.tracked_ref(), indexed), indexed)


@dg.asset_check(asset=code_vectors, blocking=False)
def index_matches_branch_head(repo: RepoResource, store: StoreResource) -> dg.AssetCheckResult:
    """Warns while the index lags the tracked branch's head (commits since the indexed one).
    Evaluated after every index run and, between runs, by index_freshness_sensor."""
    report = freshness_report(repo, store)
    return dg.AssetCheckResult(passed=report.passed, description=report.description,
                               metadata=report.evidence, severity=dg.AssetCheckSeverity.WARN)
