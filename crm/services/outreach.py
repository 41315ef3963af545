"""The outreach engine: plan occasions into the outbox, claim due rows, send each once (DESIGN §4.2-4.4).

Exactly-once rests on the outbox's unique (contact, occasion, occurrence) key and on every
status change being a conditional UPDATE; a row whose send may have reached the mail server
but was never marked is left ``unknown`` and never resent automatically.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import Consent, Contact, OutboundMessage
from crm.outreach.greetings import salutation
from crm.outreach.localtime import birthday_in_year, local_send_moment

BIRTHDAY = "birthday"
UNSUBSCRIBE_SALT = "crm.outreach.unsubscribe"
Status = OutboundMessage.Status
SkipReason = OutboundMessage.SkipReason


def unsubscribe_token(*, contact_id: int) -> str:
    """A signed, non-expiring token naming the contact whose marketing email it stops."""
    return signing.dumps(
        {"c": contact_id, "p": Consent.Purpose.MARKETING_EMAIL}, salt=UNSUBSCRIBE_SALT
    )


def unsubscribe_contact_id(*, token: str) -> int | None:
    """The contact a token was made for, or None when it is forged or damaged."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    return int(data["c"])


def unsubscribe_url(*, contact_id: int) -> str:
    """The absolute one-click link when PUBLIC_BASE_URL is set (emails need it), else the path."""
    path = reverse(
        "crm:outreach_unsubscribe",
        args=[unsubscribe_token(contact_id=contact_id)],
    )
    return getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/") + path


def outreach_unsubscribe(*, token: str, ip_address: str | None = None) -> bool:
    """Withdraw the token's contact's marketing-email consent (source "unsubscribe"); False if invalid."""
    from crm.services.contacts import consents_set

    contact_id = unsubscribe_contact_id(token=token)
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    if contact is None:
        return False
    consents_set(
        contact=contact,
        consents={Consent.Purpose.MARKETING_EMAIL: False},
        source=Consent.Source.UNSUBSCRIBE,
        ip_address=ip_address,
    )
    return True


def _skip_reason(contact: Contact) -> str:
    if getattr(contact, "has_marketing_consent", False):
        return "" if contact.email else SkipReason.NO_EMAIL
    if getattr(contact, "unsubscribed", False):
        return SkipReason.UNSUBSCRIBED
    return SkipReason.NO_CONSENT


def _birthday_message(
    contact: Contact, *, occurrence: str, moment: dt.datetime
) -> OutboundMessage:
    reason = _skip_reason(contact)
    language = contact.language or settings.LANGUAGE_CODE
    subject = body = ""
    if not reason:
        with translation.override(language):
            context = {
                "salutation": salutation(contact),
                "brand": "Rapport",
                "unsubscribe_url": unsubscribe_url(contact_id=contact.pk),
            }
            subject = render_to_string(
                "emails/outreach_birthday_subject.txt", context
            ).strip()
            body = render_to_string("emails/outreach_birthday.txt", context)
    return OutboundMessage(
        contact=contact,
        occasion=BIRTHDAY,
        occurrence=occurrence,
        channel=OutboundMessage.Channel.EMAIL,
        language=language,
        subject=subject,
        body_text=body,
        status=Status.SKIPPED if reason else Status.PLANNED,
        skip_reason=reason,
        scheduled_for=moment,
    )


def _with_consent(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    marketing = Consent.objects.filter(
        contact=OuterRef("pk"), purpose=Consent.Purpose.MARKETING_EMAIL
    )
    return contacts.annotate(
        has_marketing_consent=Exists(marketing.filter(granted=True)),
        unsubscribed=Exists(
            marketing.filter(granted=False, source=Consent.Source.UNSUBSCRIBE)
        ),
    )


def birthdays_plan(*, now: dt.datetime) -> int:
    """Put today's birthday greetings in the outbox, once per contact and year; rows inserted.

    "Today" and 09:00 are the contact's own (their time zone, else settings.TIME_ZONE); a
    contact is planned from their local send time until their local midnight, never a day late.
    Contacts without consent or email get a ``skipped`` row with the reason, also once.
    """
    zones = (
        Contact.objects.filter(birth_month__isnull=False)
        .order_by()
        .values_list("timezone", flat=True)
        .distinct()
    )
    default_zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    by_zone: dict[str, list[zoneinfo.ZoneInfo | None]] = {}
    for stored in zones:
        tz = zoneinfo.ZoneInfo(str(stored)) if stored else default_zone
        by_zone.setdefault(str(tz), []).append(stored or None)

    inserted = 0
    for stored_zones in by_zone.values():
        tz = (
            zoneinfo.ZoneInfo(str(stored_zones[0])) if stored_zones[0] else default_zone
        )
        today = now.astimezone(tz).date()
        moment = local_send_moment(day=today, tz=tz)
        if now < moment:
            continue  # not yet 09:00 there; a later run plans it
        birthdays = Q(birth_month=today.month, birth_day=today.day)
        if birthday_in_year(2, 29, today.year) == today:  # 28 Feb in a common year
            birthdays |= Q(birth_month=2, birth_day=29)
        in_zone = Q()
        for stored in stored_zones:
            # An empty zone may be stored as NULL or as "" (read back as None either way).
            in_zone |= (
                Q(timezone=stored)
                if stored
                else Q(timezone__isnull=True) | Q(timezone="")
            )
        planned = OutboundMessage.objects.filter(
            contact=OuterRef("pk"), occasion=BIRTHDAY, occurrence=str(today.year)
        )
        # Skip the already planned before rendering; the unique key still decides races.
        contacts = _with_consent(Contact.objects.filter(birthdays, in_zone)).filter(
            ~Exists(planned)
        )
        rows = [
            _birthday_message(contact, occurrence=str(today.year), moment=moment)
            for contact in contacts.iterator(chunk_size=500)
        ]
        created = OutboundMessage.objects.bulk_create(
            rows, ignore_conflicts=True, batch_size=500
        )
        inserted += len(created)
    return inserted


def outbox_claim_due(*, now: dt.datetime, limit: int) -> list[int]:
    """Mark up to ``limit`` due planned messages queued and return their ids.

    Rows are locked with SKIP LOCKED, so two concurrent claimers never get the same row.
    """
    with transaction.atomic():
        ids = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PLANNED, scheduled_for__lte=now)
            .order_by("scheduled_for", "id")
            .values_list("id", flat=True)[:limit]
        )
        OutboundMessage.objects.filter(pk__in=ids, status=Status.PLANNED).update(
            status=Status.QUEUED
        )
    return ids


def outbox_send(*, message_id: int) -> bool:
    """Send one queued message; a second call (or a duplicated task) is a no-op. True if sent.

    queued→sending is committed before the mail server is contacted, so a crash after it
    accepted the message leaves ``sending`` (later ``unknown``), never a second copy.
    """
    claimed = OutboundMessage.objects.filter(
        pk=message_id, status=Status.QUEUED
    ).update(
        status=Status.SENDING, sending_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    message = OutboundMessage.objects.select_related("contact").get(pk=message_id)
    contact = message.contact
    link = unsubscribe_url(contact_id=contact.pk)
    email = EmailMessage(
        subject=message.subject,
        body=message.body_text,
        to=[contact.email],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    try:
        email.send()
    except Exception as error:
        # Refused before acceptance: nothing was delivered, so failing it is safe to report.
        OutboundMessage.objects.filter(pk=message_id, status=Status.SENDING).update(
            status=Status.FAILED, error=str(error)[:2000]
        )
        raise
    OutboundMessage.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.SENT, sent_at=timezone.now(), error=""
    )
    return True


def outbox_mark_stale_unknown(*, now: dt.datetime, older_than: dt.timedelta) -> int:
    """Rows stuck in ``sending`` past ``older_than`` become ``unknown``: maybe sent, never resent."""
    return OutboundMessage.objects.filter(
        status=Status.SENDING, sending_at__lte=now - older_than
    ).update(status=Status.UNKNOWN)
