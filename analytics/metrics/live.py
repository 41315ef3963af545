"""Period inputs straight from the raw tables, written independently of the rollups.

The dashboard never calls this per request; it is the reference the rollups must equal
(tests compare both on random data) and what ``rollups_check`` style audits can use.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from analytics.metrics.cohorts import CohortRow, cohort_matrix_from_periods
from analytics.metrics.inputs import Filters, PeriodInputs, median
from analytics.periods import Period
from analytics.services.rollups import (
    CREDIT_KINDS,
    company_tz,
    customers_with_span,
)
from crm.models import Consent, Contact, OutboundMessage, Purchase, Refund, Segment
from crm.selectors import contact_filter
from feedback.models import Response, Survey, Ticket
from feedback.models.tickets import ticket_breached_q
from loyalty.models import LoyaltyAccount, PointsEntry, TierChange


def live_contacts(filters: Filters) -> QuerySet[Contact]:
    contacts: QuerySet[Contact] = Contact.objects.all()
    if filters.segment_id is not None:
        segment = Segment.objects.get(pk=filters.segment_id)
        contacts = contact_filter(contacts, segment.filters)
    if filters.country:
        contacts = contacts.filter(country=filters.country.upper())
    if filters.language:
        contacts = contacts.filter(language=filters.language)
    if filters.owner_id is not None:
        contacts = contacts.filter(owner_id=filters.owner_id)
    return contacts


def live_inputs(period: Period, filters: Filters, *, now: dt.datetime) -> PeriodInputs:
    """Every input of ``period`` computed from crm, loyalty and feedback rows as they are."""
    t0, t1 = period.start_moment, period.end_moment
    contacts = live_contacts(filters)
    ids = contacts.values("pk")
    inputs = PeriodInputs()

    spans: QuerySet[Any] = customers_with_span().filter(pk__in=ids)
    open_at = lambda t: Q(churn_at__isnull=True) | Q(churn_at__gte=t)  # noqa: E731
    inputs.customers_start = spans.filter(open_at(t0), customer_since__lt=t0).count()
    inputs.customers_end = spans.filter(open_at(t1), customer_since__lt=t1).count()
    inputs.customers_new = spans.filter(
        customer_since__gte=t0, customer_since__lt=t1
    ).count()
    inputs.customers_lost = spans.filter(
        customer_since__lt=t0, churn_at__gte=t0, churn_at__lt=t1
    ).count()

    purchases = Purchase.objects.filter(
        contact__in=ids, occurred_at__gte=t0, occurred_at__lt=t1
    )
    gross = purchases.aggregate(s=Sum("amount_base"))["s"] or Decimal(0)
    refunded = Refund.objects.filter(purchase__in=purchases.values("pk")).aggregate(
        s=Sum("amount_base")
    )["s"] or Decimal(0)
    inputs.revenue = Decimal(gross) - Decimal(refunded)
    orders = purchases.filter(refunded_amount__lt=F("amount"))
    inputs.orders = orders.count()
    per_contact = orders.order_by().values("contact_id").annotate(n=Count("pk"))
    inputs.purchasers = per_contact.count()
    inputs.repeat_purchasers = per_contact.filter(n__gte=2).count()

    kind = Survey.Kind
    scores = Response.objects.filter(
        contact__in=ids, submitted_at__gte=t0, submitted_at__lt=t1, score__isnull=False
    ).aggregate(
        nps_promoters=Count("pk", filter=Q(survey__kind=kind.NPS, score__gte=9)),
        nps_passives=Count("pk", filter=Q(survey__kind=kind.NPS, score__in=[7, 8])),
        nps_detractors=Count("pk", filter=Q(survey__kind=kind.NPS, score__lte=6)),
        csat_satisfied=Count("pk", filter=Q(survey__kind=kind.CSAT, score__gte=4)),
        csat_answers=Count("pk", filter=Q(survey__kind=kind.CSAT)),
        ces_sum=Sum("score", filter=Q(survey__kind=kind.CES)),
        ces_answers=Count("pk", filter=Q(survey__kind=kind.CES)),
    )
    for name, value in scores.items():
        setattr(inputs, name, value or 0)

    entry = PointsEntry.Kind
    entries = PointsEntry.objects.filter(account__contact__in=ids)
    points = entries.filter(created_at__gte=t0, created_at__lt=t1).aggregate(
        issued=Sum("points", filter=Q(kind__in=CREDIT_KINDS)),
        redeemed=Sum(
            "points",
            filter=Q(kind=entry.REDEEM)
            | Q(kind=entry.REVERSE, source_type="loyalty.redemption"),
        ),
        expired=Sum("points", filter=Q(kind=entry.EXPIRE)),
        members=Count("account__contact_id", distinct=True),
    )
    inputs.points_issued = points["issued"] or 0
    inputs.points_redeemed = -(points["redeemed"] or 0)
    inputs.points_expired = -(points["expired"] or 0)
    inputs.active_members = points["members"]
    inputs.points_outstanding = (
        entries.filter(created_at__lt=t1).aggregate(s=Sum("points"))["s"] or 0
    )

    status = OutboundMessage.Status
    outbox = (
        OutboundMessage.objects.filter(contact__in=ids)
        .annotate(moment=Coalesce("sent_at", "scheduled_for"))
        .filter(moment__gte=t0, moment__lt=t1)
        .aggregate(
            sent=Count("pk", filter=Q(status=status.SENT)),
            failed=Count("pk", filter=Q(status=status.FAILED)),
        )
    )
    inputs.outreach_sent, inputs.outreach_failed = outbox["sent"], outbox["failed"]
    inputs.unsubscribed = Consent.objects.filter(
        contact__in=ids,
        source=Consent.Source.UNSUBSCRIBE,
        granted=False,
        changed_at__gte=t0,
        changed_at__lt=t1,
    ).count()

    tickets = Ticket.objects.filter(
        contact__in=ids, created_at__gte=t0, created_at__lt=t1
    )
    inputs.tickets = tickets.count()
    inputs.tickets_breached = tickets.filter(ticket_breached_q(now)).count()
    times = list(tickets.values_list("first_response_minutes", "resolution_minutes"))
    first = [f for f, _r in times if f is not None]
    resolution = [r for _f, r in times if r is not None]
    inputs.first_response_median, inputs.first_responses = median(first), len(first)
    inputs.resolution_median, inputs.resolutions = median(resolution), len(resolution)

    inputs.tiers = live_tiers(filters, t1)
    return inputs


def live_tiers(filters: Filters, moment: dt.datetime) -> list[tuple[int | None, int]]:
    """Members per tier just before ``moment``: each account's latest tier change before it
    (an account without changes is in its current tier from its creation). Segments do not
    apply (the tier history is not kept per segment)."""
    accounts = LoyaltyAccount.objects.all()
    if filters.country:
        accounts = accounts.filter(contact__country=filters.country.upper())
    if filters.language:
        accounts = accounts.filter(contact__language=filters.language)
    if filters.owner_id is not None:
        accounts = accounts.filter(contact__owner_id=filters.owner_id)
    latest: dict[int, int | None] = {}
    changed: set[int] = set()
    for account_id, tier_id, created_at in (
        TierChange.objects.filter(account__in=accounts)
        .order_by("created_at", "id")
        .values_list("account_id", "to_tier_id", "created_at")
    ):
        changed.add(account_id)
        if created_at < moment:
            latest[account_id] = tier_id
    counts: Counter[int | None] = Counter(latest.values())
    for account_id, tier_id, created_at in accounts.values_list(
        "pk", "tier_id", "created_at"
    ):
        if account_id not in changed and created_at < moment:
            counts[tier_id] += 1
    return sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or 0))


def live_cohorts(
    filters: Filters, *, end: dt.date, months: int = 12
) -> list[CohortRow]:
    """The cohort matrix from contacts and purchases as they are, computed in Python.

    A contact's cohort is the month of the earlier of its customer_since and its first
    purchase; it is a customer at the end of a day during its current period
    (customer_since to effective churn) and, before it, within the churn window after a
    purchase.
    """
    tz = company_tz()
    window = dt.timedelta(days=settings.CHURN_WINDOW_DAYS)
    customers: QuerySet[Any] = customers_with_span().filter(
        pk__in=live_contacts(filters).values("pk")
    )
    spans = {
        pk: (since, churn)
        for pk, since, churn in customers.values_list(
            "pk", "customer_since", "churn_at"
        )
    }
    bought: dict[int, list[dt.datetime]] = {}
    for contact_id, moment in Purchase.objects.filter(
        contact_id__in=list(spans)
    ).values_list("contact_id", "occurred_at"):
        bought.setdefault(contact_id, []).append(moment)

    def day(moment: dt.datetime) -> dt.date:
        return moment.astimezone(tz).date()

    periods: list[tuple[int, dt.date, dt.date, dt.date | None]] = []
    for pk, (since, churn) in spans.items():
        moments = bought.get(pk, [])
        cohort = min([day(since), *(day(m) for m in moments)])
        periods.append((pk, cohort, day(since), day(churn) if churn else None))
        periods.extend(
            (pk, cohort, day(m), day(m + window)) for m in moments if m < since
        )
    return cohort_matrix_from_periods(periods, end=end, months=months)
