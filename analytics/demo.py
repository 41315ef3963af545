"""Demo data: build the rollups after every other app has seeded, so the dashboard has numbers."""

from __future__ import annotations

from collections.abc import Callable

from analytics.services import rollups_rebuild


def seed_analytics(*, write: Callable[[str], None]) -> None:
    """Rebuild the rollups from the demo data (idempotent: a rebuild replaces them)."""
    chunks = rollups_rebuild()
    write(f"Dashboard rollups built ({chunks} contact chunks).")
