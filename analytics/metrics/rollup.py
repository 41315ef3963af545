"""Period inputs from the rollup tables: a fixed handful of queries for any number of periods."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When

from analytics.metrics.inputs import Filters, PeriodInputs, median
from analytics.models import (
    ContactDay,
    CustomerSpan,
    SegmentMember,
    TicketFact,
    TierDay,
)
from analytics.periods import Period

DAY_SUMS = (
    "orders",
    "revenue",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "csat_satisfied",
    "csat_answers",
    "ces_sum",
    "ces_answers",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "outreach_sent",
    "outreach_failed",
    "unsubscribed",
)


def rollup_filter(filters: Filters, *, contact: bool = True) -> Q:
    q = Q()
    if filters.country:
        q &= Q(country=filters.country.upper())
    if filters.language:
        q &= Q(language=filters.language)
    if filters.owner_id is not None:
        q &= Q(owner_id=filters.owner_id)
    if contact and filters.segment_id is not None:
        q &= Q(
            contact_id__in=SegmentMember.objects.filter(
                segment_id=filters.segment_id
            ).values("contact_id")
        )
    return q


def span_counts(period: Period) -> dict[str, Q]:
    """S, E, N and lost as conditions on customer spans (days; see ``Period``)."""
    open_at_start = Q(end_day__isnull=True) | Q(end_day__gte=period.start)
    return {
        "customers_start": Q(start_day__lt=period.start) & open_at_start,
        "customers_end": Q(start_day__lte=period.end)
        & (Q(end_day__isnull=True) | Q(end_day__gt=period.end)),
        "customers_new": Q(start_day__gte=period.start, start_day__lte=period.end),
        "customers_lost": Q(
            start_day__lt=period.start,
            end_day__gte=period.start,
            end_day__lte=period.end,
        ),
    }


def _span_sums(periods: Sequence[Period], where: Q) -> dict[str, int]:
    """S, E, N and lost of every period from one GROUP BY over customer spans.

    Each condition compares a day with a period's start or the day after its end, so spans
    are grouped by where their start and end days fall among those boundary days (exact,
    whatever the periods), and the counts are added up per period here.
    """
    boundaries = sorted(
        {d for p in periods for d in (p.start, p.end + dt.timedelta(days=1))}
    )

    def bucket(field: str) -> Case:
        # bucket(d) = how many boundaries are <= d; so d < boundary[k] <=> bucket(d) <= k.
        return Case(
            When(**{f"{field}__isnull": True}, then=Value(-1)),
            *[
                When(**{f"{field}__lt": b}, then=Value(k))
                for k, b in enumerate(boundaries)
            ],
            default=Value(len(boundaries)),
            output_field=IntegerField(),
        )

    rows = (
        CustomerSpan.objects.filter(where)
        .annotate(sb=bucket("start_day"), eb=bucket("end_day"))
        .values("sb", "eb")
        .annotate(n=Count("pk"))
        .order_by()
    )
    grouped = [(row["sb"], row["eb"], row["n"]) for row in rows]
    totals: dict[str, int] = {}
    for i, period in enumerate(periods):
        k0 = boundaries.index(period.start)
        k1 = boundaries.index(period.end + dt.timedelta(days=1))
        counts = {
            "customers_start": 0,
            "customers_end": 0,
            "customers_new": 0,
            "customers_lost": 0,
        }
        for sb, eb, n in grouped:
            open_at_start = eb == -1 or eb > k0
            if sb <= k0 and open_at_start:
                counts["customers_start"] += n
            if sb <= k1 and (eb == -1 or eb > k1):
                counts["customers_end"] += n
            if k0 < sb <= k1:
                counts["customers_new"] += n
            if sb <= k0 and eb != -1 and k0 < eb <= k1:
                counts["customers_lost"] += n
        totals.update({f"{name}__{i}": n for name, n in counts.items()})
    return totals


def _day_sums(
    periods: Sequence[Period], where: Q, *, distinct: bool = True
) -> dict[str, Any]:
    """The contact-day sums of each period in one pass: rows are tagged with their period's
    index and grouped by it (periods that overlap are summed one query each)."""
    ordered = sorted(periods, key=lambda p: p.start)
    overlapping = any(a.end >= b.start for a, b in itertools.pairwise(ordered))
    groups = [list(enumerate(periods))]
    if overlapping:
        groups = [[(i, p)] for i, p in enumerate(periods)]
    # "t_" keeps the aggregates' names apart from the columns they sum.
    aggregates: dict[str, Any] = {f"t_{name}": Sum(name) for name in DAY_SUMS}
    if distinct:  # distinct buyers and members: the costly part, not needed for charts
        aggregates["t_purchasers"] = Count(
            "contact_id", distinct=True, filter=Q(orders__gt=0)
        )
        aggregates["t_active_members"] = Count(
            "contact_id", distinct=True, filter=Q(points_entries__gt=0)
        )
    totals: dict[str, Any] = {}
    for group in groups:
        bucket = Case(
            *[When(day__gte=p.start, day__lte=p.end, then=Value(i)) for i, p in group],
            output_field=IntegerField(),
        )
        rows = (
            ContactDay.objects.filter(
                where,
                day__gte=min(p.start for _i, p in group),
                day__lte=max(p.end for _i, p in group),
            )
            .annotate(bucket=bucket)
            .exclude(bucket=None)
            .values("bucket")
            .annotate(**aggregates)
            .order_by()
        )
        for row in rows:
            values: dict[str, Any] = dict(row)
            index = values.pop("bucket")
            totals.update({f"{name[2:]}__{index}": v for name, v in values.items()})
    return totals


def rollup_inputs(
    periods: Sequence[Period], filters: Filters, *, detail: bool = True
) -> list[PeriodInputs]:
    """Inputs for each period; without ``detail`` (charts) buyers, active members, repeat
    buyers, ticket numbers and tiers are left at zero."""
    if not periods:
        return []
    where = rollup_filter(filters)
    results = [PeriodInputs() for _ in periods]

    span_totals = _span_sums(periods, where)

    day_totals = _day_sums(periods, where, distinct=detail)
    last_day = max(p.end for p in periods)
    # The liability is every points movement ever, up to the period's end: only loyalty rows.
    day_totals.update(
        ContactDay.objects.filter(
            where, points_entries__gt=0, day__lte=last_day
        ).aggregate(
            **{
                f"points_outstanding__{i}": Sum("points_net", filter=Q(day__lte=p.end))
                for i, p in enumerate(periods)
            }
        )
    )

    for i, inputs in enumerate(results):
        for key, value in (*span_totals.items(), *day_totals.items()):
            name, _sep, index = key.rpartition("__")
            if int(index) == i:
                setattr(inputs, name, value if value is not None else _zero(name))

    if detail:
        _add_detail(periods, filters, where, results)
    return results


def _zero(name: str) -> int | Decimal:
    return Decimal(0) if name == "revenue" else 0


def _add_detail(
    periods: Sequence[Period],
    filters: Filters,
    where: Q,
    results: list[PeriodInputs],
) -> None:
    for period, inputs in zip(periods, results, strict=True):
        inputs.revenue = Decimal(inputs.revenue)
        inputs.repeat_purchasers = (
            ContactDay.objects.filter(
                where, day__gte=period.start, day__lte=period.end, orders__gt=0
            )
            .values("contact_id")
            .annotate(n=Sum("orders"))
            .filter(n__gte=2)
            .order_by()
            .count()
        )
    first, last = min(p.start for p in periods), max(p.end for p in periods)
    tickets = list(
        TicketFact.objects.filter(where, day__gte=first, day__lte=last).values_list(
            "day", "first_response_minutes", "resolution_minutes", "breached"
        )
    )
    for period, inputs in zip(periods, results, strict=True):
        rows = [t for t in tickets if period.start <= t[0] <= period.end]
        first_times = [t[1] for t in rows if t[1] is not None]
        resolution_times = [t[2] for t in rows if t[2] is not None]
        inputs.tickets = len(rows)
        inputs.tickets_breached = sum(1 for t in rows if t[3])
        inputs.first_response_median = median(first_times)
        inputs.first_responses = len(first_times)
        inputs.resolution_median = median(resolution_times)
        inputs.resolutions = len(resolution_times)
    # Members per tier at the end of the period: every tier move up to its last day.
    tier_where = rollup_filter(filters, contact=False)
    for period, inputs in zip(periods, results, strict=True):
        tier_rows = (
            TierDay.objects.filter(tier_where, day__lte=period.end)
            .values("tier_id")
            .annotate(n=Sum("members"))
            .exclude(n=0)
            .order_by(
                F("tier_id").asc(nulls_last=True)
            )  # as live_tiers, on every database
        )
        inputs.tiers = [(row["tier_id"], row["n"]) for row in tier_rows]
