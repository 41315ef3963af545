"""Dashboard reads: metrics of a period from the rollups, charts, cohorts, drill-downs, exports.

Everything here reads the rollup tables (``analytics.models``), never the raw tables, except
drill-down contact lists (a page of contacts) and points about to expire (open lots).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.metrics import (
    MONEY_METRICS,
    Filters,
    Metric,
    metrics_for,
)
from analytics.metrics.cache import cached_cohorts, cached_rollup_inputs
from analytics.metrics.cohorts import CohortRow, cohort_matrix
from analytics.metrics.rollup import rollup_filter, span_counts
from analytics.models import (
    ContactDay,
    CustomerPeriod,
    CustomerSpan,
    RollupState,
    SegmentMember,
    TicketFact,
)
from analytics.periods import DEFAULT_PRESET, Period, months_ending, preset_period
from crm.currencies import quantize
from crm.models import Contact, Segment, User
from crm.roles import MANAGER_ROLES, role_of
from crm.services.exports import csv_lines
from loyalty.models import PointsEntry, Program, Tier

CHART_MONTHS = 12
DRILLDOWN_LIMIT = 500
EXPIRY_HORIZON_DAYS = 30


def sees_money(user: User) -> bool:
    """Managers and admins see revenue, AOV and CLTV; agents get the reduced view."""
    return role_of(user) in MANAGER_ROLES


def hidden_metrics(user: User) -> frozenset[str]:
    return frozenset() if sees_money(user) else MONEY_METRICS


@dataclass
class Dashboard:
    period: Period
    previous: Period
    filters: Filters
    metrics: dict[str, Metric]
    charts: dict[str, Any] = field(default_factory=dict)
    cohorts: list[CohortRow] = field(default_factory=list)
    refreshed_at: dt.datetime | None = None
    liability: Decimal | None = None


def period_metrics(
    *,
    user: User,
    period: Period,
    filters: Filters,
    refreshed: dt.datetime | None = None,
) -> dict[str, Metric]:
    """Every metric of ``period`` with the previous equal period's value, from the rollups
    (``refreshed``: the rollups' refresh time, when the caller has read it already)."""
    before = period.previous()
    current, previous = cached_rollup_inputs(
        [period, before],
        filters,
        refreshed_at=refreshed if refreshed is not None else refreshed_at(),
    )
    metrics = metrics_for(
        current,
        period.days,
        previous,
        previous_days=before.days,
        hide=hidden_metrics(user),
    )
    _name_tiers(metrics)
    outstanding = metrics["points_outstanding"]
    outstanding.inputs["liability"] = liability(int(outstanding.value or 0))
    outstanding.inputs["currency"] = settings.BASE_CURRENCY
    return metrics


def _name_tiers(metrics: dict[str, Metric]) -> None:
    tiers = metrics.get("tier_distribution")
    if tiers is None or not tiers.details:
        return
    names = {str(t.pk): str(t.name) for t in Tier.objects.all()}
    no_tier = _("No tier")
    tiers.details = [(names.get(key, no_tier), n) for key, n in tiers.details]
    tiers.inputs = {"tiers": dict(tiers.details)}


def refreshed_at() -> dt.datetime | None:
    return (
        RollupState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
    )


def liability(points: int) -> Decimal | None:
    """Outstanding points valued at the earn rate, in the base currency (as loyalty does)."""
    program = Program.load()
    if program.points_per_unit <= 0:
        return None
    return quantize(
        Decimal(max(points, 0)) / program.points_per_unit, settings.BASE_CURRENCY
    )


def dashboard(*, user: User, period: Period, filters: Filters) -> Dashboard:
    refreshed = refreshed_at()
    metrics = period_metrics(
        user=user, period=period, filters=filters, refreshed=refreshed
    )
    months = months_ending(period.end, CHART_MONTHS)
    series = cached_rollup_inputs(months, filters, detail=False, refreshed_at=refreshed)
    monthly = [
        metrics_for(inputs, month.days)
        for inputs, month in zip(series, months, strict=True)
    ]

    def values(key: str) -> list[float | None]:
        return [_float(m[key].value) for m in monthly]

    charts: dict[str, Any] = {
        "labels": [m.start.strftime("%Y-%m") for m in months],
        "retention": values("retention_rate"),
        "churn": values("churn_rate"),
        "nps": values("nps"),
        "csat": values("csat"),
        "tiers": {
            "labels": [name for name, _n in metrics["tier_distribution"].details],
            "values": [n for _name, n in metrics["tier_distribution"].details],
        },
        "text": {
            "retention": _("Retention %"),
            "churn": _("Churn %"),
            "nps": _("NPS"),
            "csat": _("CSAT %"),
            "revenue": _("Revenue (%(currency)s)")
            % {"currency": settings.BASE_CURRENCY},
            "members": _("Members"),
        },
    }
    if sees_money(user):
        charts["revenue"] = [str(m["revenue"].value) for m in monthly]
    return Dashboard(
        period=period,
        previous=period.previous(),
        filters=filters,
        metrics=metrics,
        charts=charts,
        cohorts=cohorts(period=period, filters=filters, refreshed=refreshed),
        refreshed_at=refreshed,
        liability=metrics["points_outstanding"].inputs["liability"],
    )


def dashboard_cache_warm() -> None:
    """Compute what the dashboard opens with (this month, unfiltered) into the cache, so
    the first visitor after a refresh does not wait for it (the jobs call this after commit).
    """
    period = preset_period(DEFAULT_PRESET)
    refreshed = refreshed_at()
    filters = Filters()
    cached_rollup_inputs([period, period.previous()], filters, refreshed_at=refreshed)
    cached_rollup_inputs(
        months_ending(period.end, CHART_MONTHS),
        filters,
        detail=False,
        refreshed_at=refreshed,
    )
    cohorts(period=period, filters=filters, refreshed=refreshed)


def _float(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


def cohorts(
    *, period: Period, filters: Filters, refreshed: dt.datetime | None = None
) -> list[CohortRow]:
    return cached_cohorts(
        filters,
        end=period.end,
        refreshed_at=refreshed if refreshed is not None else refreshed_at(),
        compute=lambda: cohort_matrix(
            CustomerPeriod.objects.filter(rollup_filter(filters)), end=period.end
        ),
    )


# --- Drill-downs ------------------------------------------------------------------------------

DRILLDOWNS = {
    "lost": gettext_lazy("Customers lost in the period"),
    "new": gettext_lazy("New customers in the period"),
    "detractors": gettext_lazy("NPS detractors in the period"),
    "sla_breaches": gettext_lazy("Contacts with SLA breaches in the period"),
    "expiring_points": gettext_lazy("Members with points about to expire"),
}


def drilldown_contact_ids(
    *, kind: str, period: Period, filters: Filters
) -> QuerySet[Any]:
    """The ids of the contacts behind a number (a subquery, for ``Contact.objects``)."""
    where = rollup_filter(filters)
    in_period = Q(day__gte=period.start, day__lte=period.end)
    if kind in ("lost", "new"):
        condition = span_counts(period)[f"customers_{kind}"]
        return CustomerSpan.objects.filter(where, condition).values("contact_id")
    if kind == "detractors":
        return ContactDay.objects.filter(where, in_period, nps_detractors__gt=0).values(
            "contact_id"
        )
    if kind == "sla_breaches":
        return TicketFact.objects.filter(where, in_period, breached=True).values(
            "contact_id"
        )
    if kind == "expiring_points":
        now = timezone.now()
        lots = PointsEntry.objects.filter(
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=now + dt.timedelta(days=EXPIRY_HORIZON_DAYS),
        )
        contacts = Contact.objects.filter(pk__in=lots.values("account__contact_id"))
        if filters.country:
            contacts = contacts.filter(country=filters.country.upper())
        if filters.language:
            contacts = contacts.filter(language=filters.language)
        if filters.owner_id is not None:
            contacts = contacts.filter(owner_id=filters.owner_id)
        if filters.segment_id is not None:
            contacts = contacts.filter(pk__in=_segment_ids(filters.segment_id))
        return contacts.values("pk")
    raise KeyError(kind)


def _segment_ids(segment_id: int) -> QuerySet[Any]:
    return SegmentMember.objects.filter(segment_id=segment_id).values("contact_id")


def drilldown_contacts(
    *, kind: str, period: Period, filters: Filters
) -> QuerySet[Contact]:
    ids = drilldown_contact_ids(kind=kind, period=period, filters=filters)
    return (
        Contact.objects.filter(pk__in=ids)
        .select_related("owner", "company")
        .order_by("family_name", "given_name", "pk")
    )


def drilldown_export_csv(
    *, kind: str, period: Period, filters: Filters
) -> Iterator[str]:
    contacts = drilldown_contacts(kind=kind, period=period, filters=filters)
    header = [
        "contact_id",
        "given_name",
        "family_name",
        "email",
        "country",
        "language",
        "owner",
        "customer_since",
        "last_purchase_at",
        "churned_at",
    ]
    erased = _("Erased contact")
    rows = (
        [
            c.pk,
            # An erased contact stays in the numbers, anonymous: no name, no address.
            erased if c.erased_at else c.given_name,
            "" if c.erased_at else c.family_name,
            "" if c.erased_at else c.email,
            str(c.country),
            c.language,
            c.owner.email if c.owner else "",
            c.customer_since.isoformat() if c.customer_since else "",
            c.last_purchase_at.isoformat() if c.last_purchase_at else "",
            c.churned_at.isoformat() if c.churned_at else "",
        ]
        for c in contacts.iterator(chunk_size=2000)
    )
    return csv_lines(header, rows)


# --- Card exports: the rollup rows behind each group of cards -------------------------------

EXPORTS: dict[str, tuple[str, ...]] = {
    "customers": (
        "contact_id",
        "country",
        "language",
        "start_day",
        "end_day",
        "status",
    ),
    "revenue": ("contact_id", "day", "country", "language", "orders", "revenue"),
    "feedback": (
        "contact_id",
        "day",
        "country",
        "language",
        "nps_promoters",
        "nps_passives",
        "nps_detractors",
        "csat_satisfied",
        "csat_answers",
        "ces_sum",
        "ces_answers",
    ),
    "loyalty": (
        "contact_id",
        "day",
        "country",
        "language",
        "points_issued",
        "points_redeemed",
        "points_expired",
        "points_net",
    ),
    "outreach": (
        "contact_id",
        "day",
        "country",
        "language",
        "outreach_sent",
        "outreach_failed",
        "unsubscribed",
    ),
    "support": (
        "ticket_id",
        "contact_id",
        "day",
        "country",
        "language",
        "first_response_minutes",
        "resolution_minutes",
        "breached",
    ),
}
ACTIVITY = {
    "revenue": Q(orders__gt=0) | ~Q(revenue=0),
    "feedback": Q(nps_promoters__gt=0)
    | Q(nps_passives__gt=0)
    | Q(nps_detractors__gt=0)
    | Q(csat_answers__gt=0)
    | Q(ces_answers__gt=0),
    "loyalty": Q(points_entries__gt=0),
    "outreach": Q(outreach_sent__gt=0)
    | Q(outreach_failed__gt=0)
    | Q(unsubscribed__gt=0),
}


def export_csv(
    *, user: User, group: str, period: Period, filters: Filters
) -> Iterator[str]:
    """The rollup rows behind a group of cards, as CSV (formula cells neutralised)."""
    if group not in EXPORTS:
        raise KeyError(group)
    if group == "revenue" and not sees_money(user):
        raise PermissionDenied
    columns = EXPORTS[group]
    where = rollup_filter(filters)
    if group == "customers":
        conditions = span_counts(period)
        spans = CustomerSpan.objects.filter(
            where,
            conditions["customers_start"]
            | conditions["customers_new"]
            | conditions["customers_end"],
        ).order_by("contact_id")

        def status(span: CustomerSpan) -> str:
            if span.start_day >= period.start:
                return "new"
            if span.end_day is not None and span.end_day <= period.end:
                return "lost"
            return "retained"

        rows: Iterator[list[Any]] = (
            [
                s.contact_id,
                s.country,
                s.language,
                s.start_day,
                s.end_day or "",
                status(s),
            ]
            for s in spans.iterator(chunk_size=5000)
        )
        return csv_lines(columns, rows)
    model = TicketFact if group == "support" else ContactDay
    qs = model.objects.filter(where, day__gte=period.start, day__lte=period.end)
    if group in ACTIVITY:
        qs = qs.filter(ACTIVITY[group])
    values = qs.order_by("day", "contact_id").values_list(*columns)
    return csv_lines(columns, (list(row) for row in values.iterator(chunk_size=5000)))


def cohorts_export_csv(*, period: Period, filters: Filters) -> Iterator[str]:
    matrix = cohorts(period=period, filters=filters)
    months = len(matrix[0].cells) if matrix else 0
    header = ["cohort", "customers", *[f"month_{k}" for k in range(months)]]
    rows = (
        [
            row.month.strftime("%Y-%m"),
            row.customers,
            *["" if c is None else c for c in row.cells],
        ]
        for row in matrix
    )
    return csv_lines(header, rows)


def segment_choices() -> QuerySet[Segment]:
    return Segment.objects.order_by("name", "pk")
