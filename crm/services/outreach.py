"""The outreach engine: plan occasions into the outbox, claim due rows, send each once (DESIGN §4.2-4.4).

Exactly-once rests on the outbox's unique (contact, occasion, occurrence) key and on every
status change being a conditional UPDATE; a row whose send may have reached the mail server
but was never marked is left ``unknown`` and never resent automatically.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import zoneinfo
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractDay,
    ExtractMonth,
    ExtractYear,
    NullIf,
    TruncDate,
)
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.translation import gettext as _

from crm.models import (
    Campaign,
    Consent,
    Contact,
    MessageTemplate,
    OutboundMessage,
    Purchase,
)
from crm.outreach.defaults import DEFAULTS, ONBOARDING_DEFAULTS
from crm.outreach.localtime import (
    after_quiet_hours,
    birthday_in_year,
    local_send_moment,
    zone,
)
from crm.outreach.render import render_message

BIRTHDAY = "birthday"
ANNIVERSARY = "anniversary"
ONBOARDING = "onboarding"
WIN_BACK = "win_back"
CAMPAIGN = "campaign"
TICKET_CSAT = "ticket_csat"
MARKETING = Consent.Purpose.MARKETING_EMAIL.value
# The email categories a contact chooses on the preference page.
EMAIL_PURPOSES = (Consent.Purpose.MARKETING_EMAIL.value, Consent.Purpose.SURVEYS.value)
# Withdrawals a contact made themselves: their skips read "unsubscribed", not "no consent".
SELF_SERVICE_SOURCES = (Consent.Source.UNSUBSCRIBE, Consent.Source.PORTAL)
# contact_events answered with a message; each is also the occasion of its template.
EVENT_OCCASIONS = frozenset(
    {"survey_invited", "survey_reminder", "tier_upgraded", "points_expiring"}
)
# A survey invitation made by this trigger is the post-ticket CSAT occasion.
TICKET_SURVEY_TRIGGER = "after_ticket_resolved"
# The frequency cap counts marketing messages within this long either side of a new one.
CAP_WINDOW = dt.timedelta(days=7)
logger = logging.getLogger(__name__)
UNSUBSCRIBE_SALT = "crm.outreach.unsubscribe"
# pg_try_advisory_xact_lock key of the planner run ("rapport outreach").
PLANNER_LOCK = 0x52_4F_55_54
Status = OutboundMessage.Status
SkipReason = OutboundMessage.SkipReason


def unsubscribe_token(*, contact_id: int, purpose: str = MARKETING) -> str:
    """A signed, non-expiring token naming the contact and the consent its link withdraws."""
    return signing.dumps({"c": contact_id, "p": purpose}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_target(*, token: str) -> tuple[int, str] | None:
    """(contact id, consent purpose) a token was made for, or None when forged or damaged."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    purpose = data.get("p") or MARKETING
    if purpose not in Consent.Purpose.values:
        return None
    return int(data["c"]), str(purpose)


def public_url(path: str) -> str:
    """The absolute address of a path when PUBLIC_BASE_URL is set (emails need one)."""
    return getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/") + path


def _signed_link(view: str, token: str) -> str:
    """``reverse(view, args=[token])``, made absolute: the address around the token is worked
    out once per view (a day's greetings link thousands of tokens to the same two views)."""
    head, tail = _around_token(
        view, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()
    )
    return public_url(head + quote(token, safe=RFC3986_SUBDELIMS + "/~:@") + tail)


TOKEN_MARK = "token0mark"  # what the token's place in a reversed address holds


@functools.lru_cache(maxsize=16)
def _around_token(view: str, urlconf: str, prefix: str) -> tuple[str, str]:
    """``reverse`` puts the script prefix (``prefix``) in front of every address."""
    head, _mark, tail = reverse(view, urlconf=urlconf, args=[TOKEN_MARK]).partition(
        TOKEN_MARK
    )
    return head, tail


def unsubscribe_url(*, contact_id: int, purpose: str = MARKETING) -> str:
    """The absolute one-click link when PUBLIC_BASE_URL is set (emails need it), else the path."""
    token = unsubscribe_token(contact_id=contact_id, purpose=purpose)
    return _signed_link("crm:outreach_unsubscribe", token)


def preferences_url(*, contact_id: int) -> str:
    """The signed link to the contact's email preference page (no sign-in needed)."""
    return _signed_link(
        "crm:outreach_preferences", unsubscribe_token(contact_id=contact_id)
    )


def contact_links(*, contact_id: int, purpose: str) -> dict[str, str]:
    """The ``unsubscribe_link`` (withdrawing ``purpose``) and ``preferences_link`` of a
    message to the contact. Both name the marketing consent when that is the purpose: one
    signature then serves both, as a day's greetings make thousands of them."""
    unsubscribe = unsubscribe_token(contact_id=contact_id, purpose=purpose)
    preferences = (
        unsubscribe
        if purpose == MARKETING
        else unsubscribe_token(contact_id=contact_id)
    )
    return {
        "unsubscribe_link": _signed_link("crm:outreach_unsubscribe", unsubscribe),
        "preferences_link": _signed_link("crm:outreach_preferences", preferences),
    }


def outreach_unsubscribe(*, token: str, ip_address: str | None = None) -> bool:
    """Withdraw the consent the token names (source "unsubscribe"); False if it is invalid."""
    from crm.services.contacts import consents_set

    target = unsubscribe_target(token=token)
    contact = Contact.objects.filter(pk=target[0]).first() if target else None
    if contact is None or target is None:
        return False
    consents_set(
        contact=contact,
        consents={target[1]: False},
        source=Consent.Source.UNSUBSCRIBE,
        ip_address=ip_address,
    )
    return True


def outreach_preferences_set(
    *, token: str, consents: dict[str, bool], ip_address: str | None = None
) -> Contact | None:
    """Record the choices made on the email preference page; None when the token is invalid."""
    from crm.services.contacts import consents_set

    target = unsubscribe_target(token=token)
    contact = Contact.objects.filter(pk=target[0]).first() if target else None
    if contact is None:
        return None
    unknown = set(consents) - set(EMAIL_PURPOSES)
    if unknown:
        raise ValidationError(
            {
                "consents": _("Unknown categories: %(names)s")
                % {"names": ", ".join(sorted(unknown))}
            }
        )
    consents_set(
        contact=contact,
        consents=consents,
        source=Consent.Source.UNSUBSCRIBE,
        ip_address=ip_address,
    )
    return contact


def message_template_get(*, occasion: str, step: int = 0) -> MessageTemplate | None:
    """The occasion's template, recreated from the defaults when missing; None if unknown."""
    texts = (
        ONBOARDING_DEFAULTS.get(step)
        if occasion == ONBOARDING
        else DEFAULTS.get(occasion)
    )
    if texts is None:
        existing = MessageTemplate.objects.filter(occasion=occasion, step=step).first()
        return existing
    template, _created = MessageTemplate.objects.get_or_create(
        occasion=occasion,
        step=step,
        defaults={
            **texts,
            "subject": texts["subject_en"],
            "body_text": texts["body_text_en"],
        },
    )
    return template


def _template(occasion: str, step: int = 0) -> MessageTemplate | None:
    """The occasion's template when it is active."""
    template = message_template_get(occasion=occasion, step=step)
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
        purpose == MARKETING
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
    template: MessageTemplate | Campaign,
    occasion: str,
    occurrence: str,
    scheduled_for: dt.datetime,
    context: dict[str, Any],
    skip_reason: str = "",
) -> OutboundMessage:
    """The outbox row of ``template`` for ``contact``: rendered, or skipped with the reason."""
    reason = _skip_reason(contact, purpose=template.purpose) or skip_reason
    language = contact.language or settings.LANGUAGE_CODE
    subject = body = ""
    if not reason:
        subject, body, language = render_message(
            template=template,
            contact=contact,
            context={
                **contact_links(contact_id=contact.pk, purpose=template.purpose),
                **context,
            },
        )
    return OutboundMessage(
        contact=contact,
        occasion=occasion,
        occurrence=occurrence,
        channel=OutboundMessage.Channel.EMAIL,
        purpose=template.purpose,
        language=language,
        subject=subject[:255],
        body_text=body,
        status=Status.SKIPPED if reason else Status.PLANNED,
        skip_reason=reason,
        scheduled_for=scheduled_for,
    )


# Contact fields no message template, skip reason or salutation reads.
UNREAD_BY_MESSAGES = ("phone", "attributes", "search_text")


def _with_consent(
    contacts: QuerySet[Contact], *, purpose: str, scheduled_for: dt.datetime
) -> QuerySet[Contact]:
    """Annotate ``has_consent``/``unsubscribed`` for ``purpose`` and, for marketing, the
    number of marketing messages planned or sent within a week either side of the moment."""
    consent = Consent.objects.filter(contact=OuterRef("pk"), purpose=purpose)
    contacts = contacts.select_related("company").annotate(
        has_consent=Exists(consent.filter(granted=True)),
        unsubscribed=Exists(
            consent.filter(granted=False, source__in=SELF_SERVICE_SOURCES)
        ),
    )
    if purpose != MARKETING:
        return contacts
    recent = (
        OutboundMessage.objects.filter(
            contact=OuterRef("pk"),
            purpose=MARKETING,
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


def _zones(contacts: QuerySet[Contact]) -> list[tuple[zoneinfo.ZoneInfo, Q]]:
    """The time zones of ``contacts``, each with the filter matching the contacts in it.

    A contact without a zone lives in settings.TIME_ZONE, grouped with those who chose it.
    """
    stored_zones = contacts.order_by().values_list("timezone", flat=True).distinct()
    default_zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    by_zone: dict[str, tuple[zoneinfo.ZoneInfo, Q]] = {}
    for stored in stored_zones:
        tz = zoneinfo.ZoneInfo(str(stored)) if stored else default_zone
        # An empty zone may be stored as NULL or as "" (read back as None either way).
        match = (
            Q(timezone=stored) if stored else Q(timezone__isnull=True) | Q(timezone="")
        )
        known = by_zone.get(str(tz))
        by_zone[str(tz)] = (tz, known[1] | match if known else match)
    return list(by_zone.values())


def _local_day(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants [start, end) of ``day`` in ``tz`` (DST-aware)."""
    start = local_send_moment(day=day, tz=tz, send_time=dt.time(0, 0))
    end = local_send_moment(
        day=day + dt.timedelta(days=1), tz=tz, send_time=dt.time(0, 0)
    )
    return start, end


def plan_daily(
    *,
    now: dt.datetime,
    template: MessageTemplate | Campaign,
    occasion: str,
    contacts: QuerySet[Contact],
    due: Callable[[dt.date, dt.tzinfo], Q | None],
    occurrence: str | Callable[[dt.date], str],
    send_time: dt.time,
    exit_after_purchases: int | None = None,
    candidates: Q | None = None,
) -> int:
    """Plan a dated occasion zone by zone, set-based; the number of outbox rows inserted.

    In each time zone whose local ``send_time`` has passed today, the contacts matching
    ``due(today, zone)`` are planned once (the unique key), from the send time until local
    midnight — never a day late. Contacts without consent, email or room under the cap (or
    with ``exit_after_purchases`` purchases, annotated as ``purchase_count``) get a
    ``skipped`` row with the reason instead. ``candidates``, when given, holds every contact
    due somewhere today (an indexed filter): only their zones are looked for, not those of
    every contact.
    """
    inserted = 0
    zoned = contacts if candidates is None else contacts.filter(candidates)
    for tz, in_zone in _zones(zoned):
        today = now.astimezone(tz).date()
        moment = local_send_moment(day=today, tz=tz, send_time=send_time)
        if now < moment:
            continue  # not yet the send time there; a later run plans it
        condition = due(today, tz)
        if condition is None:
            continue
        key = occurrence if isinstance(occurrence, str) else occurrence(today)
        planned = OutboundMessage.objects.filter(
            contact=OuterRef("pk"), occasion=occasion, occurrence=key
        )
        scheduled_for = _send_moment(moment, tz)
        # Skip the already planned before rendering; the unique key still decides races.
        due_contacts = (
            _with_consent(
                contacts.filter(in_zone).filter(condition),
                purpose=template.purpose,
                scheduled_for=scheduled_for,
            )
            .filter(~Exists(planned))
            # No message reads these; loading them parses a phone number and JSON per row.
            .defer(*UNREAD_BY_MESSAGES)
        )
        if exit_after_purchases:
            # Purchases not refunded in full; counted for the day's contacts only.
            kept = Purchase.objects.filter(
                contact=OuterRef("pk"), refunded_amount__lt=F("amount")
            )
            due_contacts = due_contacts.annotate(
                purchase_count=Coalesce(
                    Subquery(
                        kept.order_by()
                        .values("contact")
                        .annotate(n=Count("pk"))
                        .values("n")
                    ),
                    0,
                )
            )
        batch: list[OutboundMessage] = []
        for contact in due_contacts.iterator(chunk_size=500):
            batch.append(
                _message(
                    contact,
                    template=template,
                    occasion=occasion,
                    occurrence=key,
                    scheduled_for=scheduled_for,
                    context={},
                    skip_reason=(
                        SkipReason.EXIT_CONDITION
                        if exit_after_purchases
                        and getattr(contact, "purchase_count", 0)
                        >= exit_after_purchases
                        else ""
                    ),
                )
            )
            if len(batch) >= 500:
                inserted += _insert(batch)
                batch = []
        inserted += _insert(batch)
    return inserted


def _insert(rows: list[OutboundMessage]) -> int:
    """Insert outbox rows, dropping those whose key exists (ON CONFLICT DO NOTHING)."""
    if not rows:
        return 0
    before = OutboundMessage.objects.count() if connection.vendor != "postgresql" else 0
    created = OutboundMessage.objects.bulk_create(rows, ignore_conflicts=True)
    if connection.vendor != "postgresql":
        return OutboundMessage.objects.count() - before
    return len(created)


def birthdays_plan(*, now: dt.datetime) -> int:
    """Put today's birthday greetings in the outbox, once per contact and year; rows inserted.

    "Today" and the send time (09:00 by default) are the contact's own (their time zone,
    else settings.TIME_ZONE); 29 February is celebrated on 28 February in common years.
    """
    template = _template(BIRTHDAY)
    if template is None:
        return 0  # no birthday template, or switched off in the admin

    def due(today: dt.date, tz: dt.tzinfo | None = None) -> Q:
        birthdays = Q(birth_month=today.month, birth_day=today.day)
        if birthday_in_year(2, 29, today.year) == today:  # 28 Feb in a common year
            birthdays |= Q(birth_month=2, birth_day=29)
        return birthdays

    # Whatever a zone's date is, it is UTC's, the day before or the day after: whoever has
    # a birthday on one of them (the birthday index finds them) is everyone due anywhere.
    utc_day = now.astimezone(dt.UTC).date()
    candidates = Q()
    for shift in (-1, 0, 1):
        candidates |= due(utc_day + dt.timedelta(days=shift))
    return plan_daily(
        now=now,
        template=template,
        occasion=BIRTHDAY,
        contacts=Contact.objects.filter(birth_month__isnull=False),
        due=due,
        occurrence=lambda today: str(today.year),
        send_time=template.send_time,
        candidates=candidates,
    )


def anniversaries_plan(*, now: dt.datetime) -> int:
    """Thank current customers on the anniversary of their ``customer_since``, once a year."""
    template = _template(ANNIVERSARY)
    if template is None:
        return 0

    def due(today: dt.date, tz: dt.tzinfo) -> Q:
        # customer_since is an instant: its day is the contact's local one, so compare the
        # local calendar date (set-based, in the database's time zone conversion).
        days = Q(since_month=today.month, since_day=today.day)
        if birthday_in_year(2, 29, today.year) == today:
            days |= Q(since_month=2, since_day=29)
        return days & Q(since_year__lt=today.year)

    contacts = (
        Contact.objects.filter(customer_since__isnull=False, churned_at__isnull=True)
        .alias(since_local=_local_date("customer_since"))
        .alias(
            since_month=ExtractMonth("since_local"),
            since_day=ExtractDay("since_local"),
            since_year=ExtractYear("since_local"),
        )
    )
    return plan_daily(
        now=now,
        template=template,
        occasion=ANNIVERSARY,
        contacts=contacts,
        due=due,
        occurrence=lambda today: str(today.year),
        send_time=template.send_time,
    )


def _local_date(field: str) -> Func:
    """The calendar date of the instant ``field`` in the contact's own time zone (SQL)."""
    if connection.vendor != "postgresql":
        return TruncDate(field)  # SQLite (embedded demo): the default zone's date
    zone_name = Coalesce(
        NullIf(F("timezone"), Value("")),
        Value(settings.TIME_ZONE),
        output_field=CharField(),
    )
    local = Func(zone_name, F(field), function="timezone", output_field=DateTimeField())
    return Cast(local, DateField())


def onboarding_plan(*, now: dt.datetime) -> int:
    """Send each active onboarding step its days after the contact's sign-up (or first
    purchase); a step whose exit condition holds (already purchased N times) is skipped."""
    inserted = 0
    steps = MessageTemplate.objects.filter(
        occasion=ONBOARDING, active=True, delay_days__isnull=False
    ).order_by("step")
    if not MessageTemplate.objects.filter(occasion=ONBOARDING).exists():
        for step in (
            ONBOARDING_DEFAULTS
        ):  # recreate the shipped series (switch off, not delete)
            message_template_get(occasion=ONBOARDING, step=step)
    for template in steps:
        delay = dt.timedelta(days=template.delay_days or 0)
        field = (
            "customer_since"
            if template.anchor == MessageTemplate.Anchor.CUSTOMER_SINCE
            else "created_at"
        )
        contacts = Contact.objects.filter(**{f"{field}__isnull": False})
        if field == "created_at":
            # Imported contacts were customers elsewhere before: no welcome series.
            contacts = contacts.exclude(source=Contact.Source.IMPORT)

        def due(
            today: dt.date,
            tz: dt.tzinfo,
            field: str = field,
            delay: dt.timedelta = delay,
        ) -> Q:
            start, end = _local_day(today - delay, tz)
            return Q(**{f"{field}__gte": start, f"{field}__lt": end})

        exit_after = template.exit_after_purchases
        inserted += plan_daily(
            now=now,
            template=template,
            occasion=ONBOARDING,
            contacts=contacts,
            due=due,
            occurrence=f"step-{template.step}",
            send_time=template.send_time,
            exit_after_purchases=exit_after,
        )
    return inserted


def win_back_plan(*, now: dt.datetime) -> int:
    """Write to customers whose last purchase was exactly N days ago (their local days);
    once per lapse, keyed by the day it fell due."""
    template = _template(WIN_BACK)
    if template is None or not template.delay_days:
        return 0
    delay = dt.timedelta(days=template.delay_days)

    def due(today: dt.date, tz: dt.tzinfo) -> Q:
        start, end = _local_day(today - delay, tz)
        return Q(last_purchase_at__gte=start, last_purchase_at__lt=end)

    return plan_daily(
        now=now,
        template=template,
        occasion=WIN_BACK,
        contacts=Contact.objects.filter(last_purchase_at__isnull=False),
        due=due,
        occurrence=lambda today: today.isoformat(),
        send_time=template.send_time,
    )


def outreach_plan(*, now: dt.datetime) -> dict[str, int]:
    """Run every dated planner once; rows inserted per occasion.

    On PostgreSQL the run holds a transaction-level advisory lock, so two beats (or a slow
    run overlapping the next) never plan side by side: the weekly cap then counts exactly.
    A run that finds the lock taken does nothing; the next minute catches up.
    """
    from crm.services.campaigns import campaigns_plan

    planners: dict[str, Callable[..., int]] = {
        BIRTHDAY: birthdays_plan,
        ANNIVERSARY: anniversaries_plan,
        ONBOARDING: onboarding_plan,
        WIN_BACK: win_back_plan,
        CAMPAIGN: campaigns_plan,
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [PLANNER_LOCK])
                (locked,) = cursor.fetchone()
            if not locked:
                return {}
        return {name: planner(now=now) for name, planner in planners.items()}


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
    occasion = event
    if event == "survey_invited" and data.get("trigger") == TICKET_SURVEY_TRIGGER:
        occasion = TICKET_CSAT  # its own text, switchable on its own
    template = _template(occasion)
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
        contact_id=contact_id, occasion=occasion, occurrence=occurrence
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
        occasion=occasion,
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
