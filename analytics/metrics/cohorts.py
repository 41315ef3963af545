"""The cohort retention matrix: customers by the month they first became customers, and the
share that were customers at the end of each following month (reactivated ones count again)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from analytics.periods import _month_start, month_end


@dataclass(frozen=True)
class CohortRow:
    month: dt.date
    customers: int
    cells: list[
        Decimal | None
    ]  # % still customers k months later; None = not yet known

    def as_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.month.strftime("%Y-%m"),
            "customers": self.customers,
            "retention": [None if c is None else float(c) for c in self.cells],
        }


def _columns(end: dt.date, months: int) -> tuple[dt.date, list[dt.date]]:
    """The first cohort month and the last day of every month from it up to ``end``."""
    first = _month_start(end, months - 1)
    ends = [month_end(_month_start(first, -k)) for k in range(months)]
    return first, [e for e in ends if e <= end]


def _alive(start: dt.date, until: dt.date | None, day: dt.date) -> bool:
    return start <= day and (until is None or until > day)


def cohort_matrix(
    periods: QuerySet[Any], *, end: dt.date, months: int = 12
) -> list[CohortRow]:
    """The matrix from customer periods (``CustomerPeriod`` rows) in one grouped query.

    Row m, column k: of the customers whose first customer day (``cohort_day``) falls in
    month m, the percentage that were customers at the end of the last day of month m + k
    (in any of their customer periods: a reactivated customer counts again). Months after
    ``end`` are not known yet (None).
    """
    first, ends = _columns(end, months)
    alive = {
        f"alive_{index}": Count(
            "contact_id",
            distinct=True,
            filter=Q(start_day__lte=day)
            & (Q(end_day__isnull=True) | Q(end_day__gt=day)),
        )
        for index, day in enumerate(ends)
    }
    rows = (
        periods.filter(cohort_day__gte=first, cohort_day__lte=end)
        .annotate(cohort=TruncMonth("cohort_day"))
        .values("cohort")
        .annotate(size=Count("contact_id", distinct=True), **alive)
        .order_by()
    )
    counts: dict[dt.date, tuple[int, dict[dt.date, int]]] = {}
    for row in rows:
        per_day = {day: row[f"alive_{index}"] for index, day in enumerate(ends)}
        counts[_as_date(row["cohort"])] = (row["size"], per_day)
    return _matrix(counts, end=end, months=months)


def cohort_matrix_from_periods(
    periods: Iterable[tuple[int, dt.date, dt.date, dt.date | None]],
    *,
    end: dt.date,
    months: int = 12,
) -> list[CohortRow]:
    """The same matrix from (contact, cohort day, start day, end day) tuples, in Python."""
    first, ends = _columns(end, months)
    by_contact: dict[int, list[tuple[dt.date, dt.date, dt.date | None]]] = defaultdict(
        list
    )
    for contact_id, cohort_day, start, until in periods:
        if first <= cohort_day <= end:
            by_contact[contact_id].append((cohort_day, start, until))
    counts: dict[dt.date, tuple[int, dict[dt.date, int]]] = {}
    for spans in by_contact.values():
        cohort = _month_start(spans[0][0])
        size, per_day = counts.get(cohort, (0, dict.fromkeys(ends, 0)))
        for day in ends:
            if any(_alive(start, until, day) for _c, start, until in spans):
                per_day[day] += 1
        counts[cohort] = (size + 1, per_day)
    return _matrix(counts, end=end, months=months)


def _matrix(
    counts: dict[dt.date, tuple[int, dict[dt.date, int]]], *, end: dt.date, months: int
) -> list[CohortRow]:
    matrix = []
    for back in range(months - 1, -1, -1):
        cohort = _month_start(end, back)
        size, per_day = counts.get(cohort, (0, {}))
        cells: list[Decimal | None] = []
        for k in range(months):
            last = month_end(_month_start(cohort, -k))
            if size == 0 or last > end:
                cells.append(None)
                continue
            cells.append(
                (Decimal(per_day.get(last, 0)) * 100 / size).quantize(
                    Decimal("0.1"), ROUND_HALF_UP
                )
            )
        matrix.append(CohortRow(cohort, size, cells))
    return matrix


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
