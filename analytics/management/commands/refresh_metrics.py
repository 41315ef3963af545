"""``manage.py refresh_metrics``: bring the dashboard rollups up to date now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from analytics.services import rollups_refresh


class Command(BaseCommand):
    help = (
        "Recompute the rollups of every contact whose rows changed since the last run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = rollups_refresh()
        self.stdout.write(f"Refreshed the rollups: {count} contacts recomputed.")
