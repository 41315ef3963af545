"""Period inputs straight from the raw tables, written independently of the rollups.

The dashboard never calls this per request; it is the reference the rollups must equal
(tests compare both on random data) and what ``rollups_check`` style audits can use.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from analytics.metrics.inputs import Filters, PeriodInputs, median
from analytics.periods import Period
from analytics.services.rollups import (
    CREDIT_KINDS,
    customers_with_span,
)
from crm.models import Consent, Contact, OutboundMessage, Purchase, Refund, Segment
from crm.selectors import contact_filter
from feedback.models import Response, Survey, Ticket
from feedback.models.tickets import ticket_breached_q
from loyalty.models import LoyaltyAccount, PointsEntry


def live_contacts(filters: Filters) -> QuerySet[Contact]:
    contacts: QuerySet[Contact] = Contact.objects.all()
    if filters.segment_id is not None:
        segment = Segment.objects.get(pk=filters.segment_id)
        contacts = contact_filter(contacts, segment.filters)
    if filters.country:
        contacts = contacts.filter(country=filters.country.upper())
    if filters.language:
        contacts = contacts.filter(language=filters.language)
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

    # Tiers are a snapshot (no history): the current distribution; segments do not apply.
    accounts = LoyaltyAccount.objects.all()
    if filters.country:
        accounts = accounts.filter(contact__country=filters.country.upper())
    if filters.language:
        accounts = accounts.filter(contact__language=filters.language)
    inputs.tiers = [
        (row["tier_id"], row["n"])
        for row in accounts.order_by("tier_id")
        .values("tier_id")
        .annotate(n=Count("pk"))
    ]
    return inputs
