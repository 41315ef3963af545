"""Rows for the dashboard's fixtures, written straight to the tables where a service would
insist on "now" (surveys answered, tickets opened and points earned on past dates)."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

from django.conf import settings

from crm.models import Consent, Contact, OutboundMessage
from crm.services import exchange_rate_set, purchase_record
from feedback.models import Invitation, Response, Survey, Ticket
from feedback.services.surveys import survey_create
from loyalty.models import LoyaltyAccount, PointsEntry
from tests.crm.factories import ContactFactory

_seq = itertools.count(1)


def at(day: str, time: str = "12:00") -> dt.datetime:
    """An aware moment on ``day`` (YYYY-MM-DD) at ``time`` in the company's time zone."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(
        tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )


def customer(
    *,
    since: dt.datetime | None,
    last_purchase: dt.datetime | None = None,
    churned: dt.datetime | None = None,
    **fields: object,
) -> Contact:
    contact = ContactFactory(**fields)
    Contact.objects.filter(pk=contact.pk).update(
        customer_since=since, last_purchase_at=last_purchase, churned_at=churned
    )
    contact.refresh_from_db()
    return contact


def set_dates(
    contact: Contact,
    *,
    since: dt.datetime | None,
    last_purchase: dt.datetime | None = None,
    churned: dt.datetime | None = None,
) -> None:
    Contact.objects.filter(pk=contact.pk).update(
        customer_since=since, last_purchase_at=last_purchase, churned_at=churned
    )


def rate(currency: str, day: str, value: str) -> None:
    exchange_rate_set(
        currency=currency, date=dt.date.fromisoformat(day), rate=Decimal(value)
    )


def buy(contact: Contact, amount: str, currency: str, when: dt.datetime):  # type: ignore[no-untyped-def]
    purchase, _created = purchase_record(
        contact=contact, amount=Decimal(amount), currency=currency, occurred_at=when
    )
    return purchase


_surveys: dict[str, Survey] = {}


def survey(kind: str) -> Survey:
    found = Survey.objects.filter(kind=kind, title=f"Test {kind}").first()
    return found or survey_create(title=f"Test {kind}", kind=kind)


def respond(contact: Contact, kind: str, score: int, when: dt.datetime) -> Response:
    chosen = survey(kind)
    invitation = Invitation.objects.create(
        survey=chosen,
        contact=contact,
        expires_at=when + dt.timedelta(days=30),
        send_at=when - dt.timedelta(days=1),
        sent_at=when - dt.timedelta(days=1),
        responded_at=when,
    )
    return Response.objects.create(
        invitation=invitation,
        survey=chosen,
        contact=contact,
        submitted_at=when,
        language="en",
        score=score,
    )


def ticket(
    contact: Contact,
    *,
    opened: dt.datetime,
    first_response_minutes: int | None = None,
    resolution_minutes: int | None = None,
    breached: bool = False,
) -> Ticket:
    """A ticket answered (and resolved) in time, or late when ``breached``."""
    due = opened + dt.timedelta(days=3650)
    first_at = (
        opened + dt.timedelta(minutes=first_response_minutes)
        if first_response_minutes is not None
        else None
    )
    resolved_at = (
        opened + dt.timedelta(minutes=resolution_minutes)
        if resolution_minutes is not None
        else None
    )
    return Ticket.objects.create(
        contact=contact,
        subject=f"Ticket {next(_seq)}",
        created_at=opened,
        first_response_at=first_at,
        resolved_at=resolved_at,
        status=Ticket.Status.RESOLVED if resolved_at else Ticket.Status.OPEN,
        first_response_minutes=first_response_minutes,
        resolution_minutes=resolution_minutes,
        first_response_due_at=opened + dt.timedelta(minutes=1) if breached else due,
        resolution_due_at=due,
    )


def account(contact: Contact) -> LoyaltyAccount:
    found = LoyaltyAccount.objects.filter(contact=contact).first()
    return found or LoyaltyAccount.objects.create(
        contact=contact, referral_code=f"REF{next(_seq):08d}"
    )


def points(
    contact: Contact, kind: str, amount: int, when: dt.datetime, source_type: str = ""
) -> PointsEntry:
    member = account(contact)
    return PointsEntry.objects.create(
        account=member,
        kind=kind,
        points=amount,
        balance_after=0,
        key=f"test-{next(_seq)}",
        created_at=when,
        source_type=source_type,
        remaining=amount if amount > 0 else 0,
    )


def message(
    contact: Contact, status: str, when: dt.datetime, *, sent: bool = True
) -> OutboundMessage:
    return OutboundMessage.objects.create(
        contact=contact,
        occasion="test",
        occurrence=f"o{next(_seq)}",
        status=status,
        scheduled_for=when,
        sent_at=when if status == OutboundMessage.Status.SENT and sent else None,
    )


def unsubscribe(contact: Contact, when: dt.datetime) -> Consent:
    return Consent.objects.create(
        contact=contact,
        purpose=Consent.Purpose.MARKETING_EMAIL,
        granted=False,
        source=Consent.Source.UNSUBSCRIBE,
        changed_at=when,
    )
