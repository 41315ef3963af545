"""The cohort retention matrix: customers by the month they became customers, and the share
still customers at the end of each following month."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, QuerySet
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


def cohort_matrix(
    spans: QuerySet[Any], *, end: dt.date, months: int = 12
) -> list[CohortRow]:
    """``spans`` has ``start_day``/``end_day`` (rollup rows, or annotated contacts when live).

    Row m, column k: of the customers whose customer_since falls in month m, the percentage
    whose customer period had not ended by the last day of month m + k. Months after ``end``
    are not known yet (None).
    """
    first = _month_start(end, months - 1)
    rows = (
        spans.filter(start_day__gte=first, start_day__lte=end)
        .annotate(cohort=TruncMonth("start_day"), ended=TruncMonth("end_day"))
        .values("cohort", "ended")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[dt.date, dict[dt.date | None, int]] = defaultdict(dict)
    for row in rows:
        cohort = _as_date(row["cohort"])
        counts[cohort][_as_date(row["ended"]) if row["ended"] else None] = row["n"]
    matrix = []
    for back in range(months - 1, -1, -1):
        cohort = _month_start(end, back)
        ends = counts.get(cohort, {})
        size = sum(ends.values())
        cells: list[Decimal | None] = []
        for k in range(months):
            month = _month_start(cohort, -k)
            if size == 0 or month_end(month) > end:
                cells.append(None)
                continue
            alive = sum(
                n for ended, n in ends.items() if ended is None or ended > month
            )
            cells.append(
                (Decimal(alive) * 100 / size).quantize(Decimal("0.1"), ROUND_HALF_UP)
            )
        matrix.append(CohortRow(cohort, size, cells))
    return matrix


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
