"""Dagster sensors: decide when the index needs a run; the work happens in the assets."""
