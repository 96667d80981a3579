"""Dagster assets: the index graph, thin over the semcode engine."""
