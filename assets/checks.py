"""Blocking checks: a failed one fails the run, so nobody searches a broken index."""

import dagster as dg

from assets.index import code_vectors
from resources import EmbedderResource, StoreResource
from semcode import checks
from semcode.reports import CheckReport


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
