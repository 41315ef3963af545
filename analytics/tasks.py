"""Rollup jobs for beat: a nightly full rebuild and a refresh every few minutes."""

from __future__ import annotations

from celery import shared_task


@shared_task
def metrics_rebuild_nightly() -> int:
    """Nightly: rebuild every rollup from the raw tables (also drops deleted rows)."""
    from analytics.services import rollups_rebuild

    return rollups_rebuild()


@shared_task
def metrics_refresh() -> int:
    """Every 10 minutes: recompute the contacts whose rows changed since the last run."""
    from analytics.services import rollups_refresh

    return rollups_refresh()
