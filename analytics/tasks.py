"""Rollup jobs for beat: a nightly full rebuild and a refresh every few minutes."""

from __future__ import annotations

from celery import shared_task


@shared_task
def metrics_rebuild_nightly() -> int:
    """Nightly: rebuild every rollup from the raw tables (also drops deleted rows)."""
    from analytics.selectors import dashboard_cache_warm
    from analytics.services import rollups_rebuild

    chunks = rollups_rebuild()
    dashboard_cache_warm()
    return chunks


@shared_task
def metrics_refresh() -> int:
    """Every 10 minutes: recompute the contacts whose rows changed since the last run."""
    from analytics.selectors import dashboard_cache_warm
    from analytics.services import rollups_refresh

    count = rollups_refresh()
    dashboard_cache_warm()
    return count
