"""The rollup reads of a period, cached until the rollups change.

Every refresh, rebuild and merge starts a new *generation* (a random token in the cache), and
cached inputs are keyed by generation, periods and filters: a refresh invalidates everything
at once, without deleting keys. The token changes as the rollups are written and again when
their transaction commits, so a reader that computed the old numbers meanwhile cannot keep
them under the new generation. The key also holds ``RollupState.refreshed_at`` (read from the
database), so with a per-process cache every process still sees a refresh made elsewhere at
once. Segment filters are not cached (a segment's members can be rebuilt between refreshes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.cache import cache

from analytics.metrics.cohorts import CohortRow
from analytics.metrics.inputs import Filters, PeriodInputs
from analytics.metrics.rollup import rollup_inputs
from analytics.periods import Period
from analytics.services.generation import rollups_generation

TIMEOUT = 24 * 60 * 60  # a refresh every 10 minutes replaces entries long before this


T = TypeVar("T")


def _cached(
    kind: str,
    shape: tuple[Any, ...],
    filters: Filters,
    refreshed_at: dt.datetime | None,
    compute: Callable[[], T],
) -> T:
    if filters.segment_id is not None:
        return compute()
    described = repr(
        (
            kind,
            refreshed_at.isoformat() if refreshed_at else None,
            shape,
            filters.country.upper(),
            filters.language,
            filters.owner_id,
        )
    )
    digest = hashlib.sha256(described.encode()).hexdigest()[:32]
    key = f"analytics:rollups:{rollups_generation()}:{digest}"
    found: T | None = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, TIMEOUT)
    return found


def cached_rollup_inputs(
    periods: Sequence[Period],
    filters: Filters,
    *,
    detail: bool = True,
    refreshed_at: dt.datetime | None = None,
) -> list[PeriodInputs]:
    """``rollup_inputs`` of the current generation, computed once per periods and filters.

    ``refreshed_at`` (the rollups' state) is part of the key too, so a cache that outlives
    the database rows (a restored database, tests) cannot serve numbers of other rollups.
    """
    shape = (tuple((p.start.isoformat(), p.end.isoformat()) for p in periods), detail)
    return _cached(
        "inputs",
        shape,
        filters,
        refreshed_at,
        lambda: rollup_inputs(periods, filters, detail=detail),
    )


def cached_cohorts(
    filters: Filters,
    *,
    end: dt.date,
    refreshed_at: dt.datetime | None,
    compute: Callable[[], list[CohortRow]],
) -> list[CohortRow]:
    """The cohort matrix ending ``end``, computed once per generation and filters."""
    return _cached("cohorts", (end.isoformat(),), filters, refreshed_at, compute)
