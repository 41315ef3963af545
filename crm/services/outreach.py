"""The outreach engine: plan occasions into the outbox, claim due rows, send each once (DESIGN §4.2-4.4).

Exactly-once rests on the outbox's unique (contact, occasion, occurrence) key and on every
status change being a conditional UPDATE; a row whose send may have reached the mail server
but was never marked is left ``unknown`` and never resent automatically.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from crm.models import Consent, Contact, MessageTemplate, OutboundMessage
from crm.outreach.defaults import DEFAULTS
from crm.outreach.localtime import (
    after_quiet_hours,
    birthday_in_year,
    local_send_moment,
    zone,
)
from crm.outreach.render import render_message

BIRTHDAY = "birthday"
# contact_events answered with a message; each is also the occasion of its template.
EVENT_OCCASIONS = frozenset(
    {"survey_invited", "survey_reminder", "tier_upgraded", "points_expiring"}
)
# The frequency cap counts marketing messages within this long either side of a new one.
CAP_WINDOW = dt.timedelta(days=7)
logger = logging.getLogger(__name__)
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


def message_template_get(*, occasion: str) -> MessageTemplate | None:
    """The occasion's template, recreated from the defaults when missing; None if unknown."""
    texts = DEFAULTS.get(occasion)
    if texts is None:
        return None
    template, _created = MessageTemplate.objects.get_or_create(
        occasion=occasion,
        defaults={
            **texts,
            "subject": texts["subject_en"],
            "body_text": texts["body_text_en"],
        },
    )
    return template


def _template(occasion: str) -> MessageTemplate | None:
    """The occasion's template when it is active."""
    template = message_template_get(occasion=occasion)
    return template if template is not None and template.active else None


def _skip_reason(contact: Contact, *, purpose: str) -> str:
    """Why ``contact`` (annotated by ``_with_consent``) gets no message; empty if they get it."""
    if not getattr(contact, "has_consent", False):
        if getattr(contact, "unsubscribed", False):
            return SkipReason.UNSUBSCRIBED
        return SkipReason.NO_CONSENT
    if not contact.email:
        return SkipReason.NO_EMAIL
    if (
        purpose == Consent.Purpose.MARKETING_EMAIL
        and getattr(contact, "recent_marketing", 0) >= settings.OUTREACH_MAX_PER_WEEK
    ):
        return SkipReason.CAPPED
    return ""


def _quiet_hours() -> tuple[dt.time, dt.time]:
    return (
        dt.time.fromisoformat(settings.OUTREACH_QUIET_START),
        dt.time.fromisoformat(settings.OUTREACH_QUIET_END),
    )


def _send_moment(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """``moment``, moved to the end of the contact's quiet hours when it falls in them."""
    start, end = _quiet_hours()
    return after_quiet_hours(moment=moment, tz=tz, start=start, end=end)


def _message(
    contact: Contact,
    *,
    template: MessageTemplate,
    occurrence: str,
    scheduled_for: dt.datetime,
    context: dict[str, Any],
) -> OutboundMessage:
    """The outbox row of ``template`` for ``contact``: rendered, or skipped with the reason."""
    reason = _skip_reason(contact, purpose=template.purpose)
    language = contact.language or settings.LANGUAGE_CODE
    subject = body = ""
    if not reason:
        subject, body, language = render_message(
            template=template,
            contact=contact,
            context={
                "unsubscribe_link": unsubscribe_url(contact_id=contact.pk),
                **context,
            },
        )
    return OutboundMessage(
        contact=contact,
        occasion=template.occasion,
        occurrence=occurrence,
        channel=OutboundMessage.Channel.EMAIL,
        language=language,
        subject=subject[:255],
        body_text=body,
        status=Status.SKIPPED if reason else Status.PLANNED,
        skip_reason=reason,
        scheduled_for=scheduled_for,
    )


def _with_consent(
    contacts: QuerySet[Contact], *, purpose: str, scheduled_for: dt.datetime
) -> QuerySet[Contact]:
    """Annotate ``has_consent``/``unsubscribed`` for ``purpose`` and, for marketing, the
    number of marketing messages planned or sent within a week either side of the moment."""
    consent = Consent.objects.filter(contact=OuterRef("pk"), purpose=purpose)
    contacts = contacts.select_related("company").annotate(
        has_consent=Exists(consent.filter(granted=True)),
        unsubscribed=Exists(
            consent.filter(granted=False, source=Consent.Source.UNSUBSCRIBE)
        ),
    )
    if purpose != Consent.Purpose.MARKETING_EMAIL:
        return contacts
    marketing = MessageTemplate.objects.filter(
        purpose=Consent.Purpose.MARKETING_EMAIL
    ).values("occasion")
    recent = (
        OutboundMessage.objects.filter(
            contact=OuterRef("pk"),
            occasion__in=marketing,
            scheduled_for__gt=scheduled_for - CAP_WINDOW,
            scheduled_for__lt=scheduled_for + CAP_WINDOW,
        )
        .exclude(status__in=[Status.SKIPPED, Status.FAILED])
        .order_by()
        .values("contact")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return contacts.annotate(recent_marketing=Coalesce(Subquery(recent), 0))


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

    template = _template(BIRTHDAY)
    if template is None:
        return 0  # no birthday template, or switched off in the admin
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
        scheduled_for = _send_moment(moment, tz)
        contacts = _with_consent(
            Contact.objects.filter(birthdays, in_zone),
            purpose=template.purpose,
            scheduled_for=scheduled_for,
        ).filter(~Exists(planned))
        rows = [
            _message(
                contact,
                template=template,
                occurrence=str(today.year),
                scheduled_for=scheduled_for,
                context={},
            )
            for contact in contacts.iterator(chunk_size=500)
        ]
        created = OutboundMessage.objects.bulk_create(
            rows, ignore_conflicts=True, batch_size=500
        )
        inserted += len(created)
    return inserted


def _event_occurrence(
    *, event: str, data: dict[str, Any], today: dt.date
) -> str | None:
    """The outbox key's occurrence for an event, or None when its data lacks the id."""
    if event in ("survey_invited", "survey_reminder"):
        if data.get("invitation_id") is None:
            return None
        return f"survey:{data['invitation_id']}:{data.get('reminder') or 0}"
    if event == "tier_upgraded":
        key = (
            data.get("tier_change_id")
            or data.get("id")
            or data.get("to_tier_id")
            or data.get("to_tier")
        )
        return f"tier:{key}:{today.isoformat()}"[:40] if key else None
    if event == "points_expiring":
        return f"points:{data['lot_id']}" if data.get("lot_id") is not None else None
    return None


def _event_context(*, data: dict[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """The placeholders an event's data fills; dates are the contact's local ones."""
    context: dict[str, Any] = {}
    if data.get("url"):
        context["survey_link"] = str(data["url"])
    if data.get("points") is not None:
        context["points"] = data["points"]
    if data.get("to_tier"):
        context["tier"] = str(data["to_tier"])
    if data.get("expires_at"):
        expires = dt.datetime.fromisoformat(str(data["expires_at"]))
        if timezone.is_aware(expires):
            expires = expires.astimezone(tz)
        context["expires_on"] = expires.date()
    return context


def outreach_event_plan(
    *, contact_id: int, event: str, data: dict[str, Any], now: dt.datetime
) -> bool:
    """Put the message answering a contact event in the outbox, once per key; False if ignored.

    Due now (or at the end of the contact's quiet hours); a contact without the template's
    consent or an email, or over the weekly marketing cap, gets a ``skipped`` row instead.
    Events without an active template are ignored.
    """
    if event not in EVENT_OCCASIONS:
        return False
    template = _template(event)
    contact = Contact.objects.filter(pk=contact_id).first()
    if template is None or contact is None:
        return False
    tz = zone(contact.timezone, settings.TIME_ZONE)
    occurrence = _event_occurrence(
        event=event, data=data, today=now.astimezone(tz).date()
    )
    if occurrence is None:
        logger.warning("outreach: %s event without its id: %r", event, data)
        return False
    planned = OutboundMessage.objects.filter(
        contact_id=contact_id, occasion=event, occurrence=occurrence
    )
    if planned.exists():
        return False  # the unique key would drop it anyway; skip the rendering
    scheduled_for = _send_moment(now, tz)
    annotated = _with_consent(
        Contact.objects.filter(pk=contact_id),
        purpose=template.purpose,
        scheduled_for=scheduled_for,
    ).get()
    row = _message(
        annotated,
        template=template,
        occurrence=occurrence,
        scheduled_for=scheduled_for,
        context=_event_context(data=data, tz=tz),
    )
    # A concurrent planner may have won since the check; the unique key keeps one row.
    OutboundMessage.objects.bulk_create([row], ignore_conflicts=True)
    return True


def contact_event_received(
    *, contact_id: int, event: str, data: dict[str, Any]
) -> None:
    """The ``crm.hooks.contact_events`` listener: plan the answer after the caller commits.

    Runs with ``robust`` on_commit, so an outreach failure never fails the caller's work.
    """
    if event not in EVENT_OCCASIONS:
        return
    now = timezone.now()
    payload = dict(data)
    transaction.on_commit(
        lambda: outreach_event_plan(
            contact_id=contact_id, event=event, data=payload, now=now
        ),
        robust=True,
    )


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
