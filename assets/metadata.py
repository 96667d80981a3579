"""Reports as Dagster metadata and back: the one place that knows both shapes."""

from typing import Any, TypeVar

import dagster as dg
import pandas as pd

from semcode.reports import ChunksReport, Report, ShardReport

R = TypeVar("R", bound=Report)
# Keys added for the UI only; they are not fields of the report.
SHARD_TABLE = "shard_table"
TEXTS_PER_S, STORE_BYTES = "texts_per_s", "store_bytes"
UI_ONLY = {SHARD_TABLE, TEXTS_PER_S, STORE_BYTES}


def to_metadata(report: Report) -> dict[str, Any]:
    """Numbers stay numbers (the UI plots them); dicts and lists become JSON."""
    metadata: dict[str, Any] = {
        key: dg.MetadataValue.json(value) if isinstance(value, dict | list) else value
        for key, value in report.metadata().items() if value is not None}
    changed = [r.to_dict() for r in report.per_shard if r.changed] \
        if isinstance(report, ChunksReport) else []
    if changed:  # the shards this run changed (each partition's own figures follow it)
        table = pd.DataFrame(changed).drop(columns=["new_skips", "line_windows"])
        metadata[SHARD_TABLE] = dg.MetadataValue.md(table.to_markdown(index=False))
    return metadata


def from_metadata(kind: type[R], metadata: dict[str, dg.MetadataValue]) -> R:
    """The report a materialization carried (fails loudly on a missing or renamed key)."""
    values = {k: v.value for k, v in metadata.items() if k not in UI_ONLY}
    return kind.from_metadata(values)


def materialized(result: dg.ExecuteInProcessResult, asset: str,
                 kind: type[R]) -> R | None:
    """The report of ``asset``'s materialization in a run, or None if it did not happen."""
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key.to_user_string() == asset:
            return from_metadata(kind, dict(materialization.metadata))
    return None


def shard_metadata(report: ShardReport, skips: dict[str, int]) -> dict[str, Any]:
    """One shard's own figures, for its partition: ``files`` (indexed files in the shard)
    and ``chunks`` (its rows), what this run did to it, and its skips by reason — numbers,
    so the UI plots them per partition."""
    return {"files": report.files_seen - report.skipped, "chunks": report.chunks_total,
            "parsed": report.parsed, "unchanged": report.unchanged,
            "skipped": report.skipped, "removed": report.removed,
            "chunks_added": report.chunks_added, "chunks_removed": report.chunks_removed,
            "parse_seconds": report.seconds,
            **{f"skipped_{reason}": n for reason, n in sorted(skips.items())}}
