"""Blocking checks: a failed one fails the run, so nobody searches a broken index.

Each repository's ``code_vectors`` has its own five checks (``build_checks``); the module's
names are the one-repository deployment's."""

import dagster as dg

from semcode.interfaces.status import freshness
from semcode.reports import CheckReport
from semcode.store import checks, proof
from semcode_dagster.assets.scope import ONLY, Scope
from semcode_dagster.resources import EmbedderResource, RepoResource, StoreResource


def _result(report: CheckReport) -> dg.AssetCheckResult:
    if not report.passed:  # in the run's log too: what `dagster job execute` in CI prints
        dg.get_dagster_logger().error(f"check {report.name} failed: {report.description}")
    return dg.AssetCheckResult(passed=report.passed, description=report.description,
                               metadata=report.evidence)


def freshness_report(repo: RepoResource, store: StoreResource) -> CheckReport:
    """The indexed commit (of the last complete vectors run) against the branch head now."""
    last = store.open().last_vectors()
    indexed = last.commit if last else None
    return checks.index_matches_head(freshness(repo.path, repo.tracked_ref(), indexed), indexed)


def build_checks(scope: Scope = ONLY) -> list[dg.AssetChecksDefinition]:
    """The checks on one repository's ``code_vectors``."""
    vectors = scope.key("code_vectors")

    @dg.asset_check(asset=vectors, blocking=True,
                    required_resource_keys={scope.store_key, "embedder"})
    def vectors_match_chunks(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Exactly one vector per chunk: equal counts, equal id sets, no duplicates, the
        model's dimension and finite values — proven from the rows written since the last
        check when it can (``semcode/store/proof.py``), in full at least once a day."""
        embedder: EmbedderResource = context.resources.embedder
        model = embedder.get()
        return _result(proof.checked(scope.store(context.resources).open(), model.model_id,
                                     model.dim))

    @dg.asset_check(asset=vectors, blocking=True, required_resource_keys={scope.store_key})
    def chunks_match_manifest(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Every indexed file has chunks of its current content; no chunk outlives its
        file."""
        return _result(checks.chunks_match_manifest(scope.store(context.resources).open()))

    @dg.asset_check(asset=vectors, blocking=True, required_resource_keys={scope.store_key})
    def symbols_match_chunks(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Every indexed file has its symbols (definitions and references, read in the same
        pass as its chunks), and each points at a chunk that exists."""
        return _result(checks.symbols_match_chunks(scope.store(context.resources).open()))

    @dg.asset_check(asset=vectors, blocking=True, required_resource_keys={scope.store_key})
    def keyword_index_answers(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Keyword and hybrid search can answer: the full-text index exists, covers every
        chunk, and a query through it returns."""
        return _result(checks.keyword_index_answers(scope.store(context.resources).open()))

    @dg.asset_check(asset=vectors, blocking=False, required_resource_keys=scope.resource_keys)
    def index_matches_branch_head(context: dg.AssetCheckExecutionContext,
                                  ) -> dg.AssetCheckResult:
        """Warns while the index lags the tracked branch's head (commits since the indexed
        one). Evaluated after every index run and, between runs, by the freshness sensor."""
        report = freshness_report(scope.repo(context.resources), scope.store(context.resources))
        return dg.AssetCheckResult(passed=report.passed, description=report.description,
                                   metadata=report.evidence,
                                   severity=dg.AssetCheckSeverity.WARN)

    return [vectors_match_chunks, chunks_match_manifest, keyword_index_answers,
            symbols_match_chunks, index_matches_branch_head]


(vectors_match_chunks, chunks_match_manifest, keyword_index_answers, symbols_match_chunks,
 index_matches_branch_head) = build_checks()
