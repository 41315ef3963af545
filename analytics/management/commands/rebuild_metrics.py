"""``manage.py rebuild_metrics``: rebuild every dashboard rollup, with a progress line."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from analytics.services import rollups_rebuild


class Command(BaseCommand):
    help = "Rebuild every dashboard rollup from the raw tables (set-based SQL, one transaction)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        quiet = options["verbosity"] == 0
        self.stderr.style_func = None  # a progress line, not an error: no red

        def progress(done: int, total: int, label: str) -> None:
            if quiet:
                return
            width = 30
            filled = int(width * done / max(total, 1))
            bar = "#" * filled + "-" * (width - filled)
            elapsed = time.monotonic() - started
            line = f"\r[{bar}] {done}/{total} {label:<28} {elapsed:6.1f}s"
            self.stderr.write(line, ending="\n" if done == total else "")
            self.stderr.flush()

        chunks = rollups_rebuild(progress=progress)
        self.stdout.write(
            f"Rebuilt the rollups ({chunks} contact chunks) in {time.monotonic() - started:.1f}s."
        )
