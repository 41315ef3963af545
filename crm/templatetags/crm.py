"""Display helpers for crm pages: ``{% load crm %}``.

Phones, money, a contact's local time and birthdays, each formatted for the reader's language.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django import template
from django.http import QueryDict
from django.utils import dateformat, formats, timezone

from crm.currencies import format_money

register = template.Library()


@register.filter
def phone_intl(value: Any) -> str:
    """A phone number in international format (``+82 10-1234-5678``); '' when empty."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(str(value), None)
    except phonenumbers.NumberParseException:
        return str(value)
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


@register.filter
def money(amount: Any, currency: str) -> str:
    """``amount`` in ``currency`` for the active language (₩120,000; US$89.10 in Korean)."""
    if amount in (None, "") or not currency:
        return ""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return format_money(value, str(currency))


def _zone(value: Any) -> zoneinfo.ZoneInfo | None:
    """A contact (its effective time zone), a ZoneInfo or an IANA name."""
    if hasattr(value, "effective_timezone"):
        return value.effective_timezone
    if isinstance(value, zoneinfo.ZoneInfo):
        return value
    try:
        return zoneinfo.ZoneInfo(str(value)) if value else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


@register.filter
def local_time(value: Any, format_name: str = "TIME_FORMAT") -> str:
    """The time it is now where the contact is (their time zone, else the company's).

    Formatted here, not with ``|time``, which would move it back to the reader's time zone.
    """
    zone = _zone(value)
    if zone is None:
        return ""
    now = timezone.now().astimezone(zone).replace(tzinfo=None)
    return dateformat.format(now, formats.get_format(format_name))


@register.filter
def birthday(contact: Any) -> str:
    """The birthday for the reader's language: ``March 14`` / ``3월 14일``, with the year when known."""
    month = getattr(contact, "birth_month", None)
    day = getattr(contact, "birth_day", None)
    if not month or not day:
        return ""
    year = getattr(contact, "birth_year", None)
    # 2000 is a leap year, so a yearless 29 February still formats.
    date = dt.date(year or 2000, month, day)
    return formats.date_format(date, "DATE_FORMAT" if year else "MONTH_DAY_FORMAT")


@register.simple_tag(takes_context=True)
def query(context: dict[str, Any], *drop: str, **changes: Any) -> str:
    """The current query string with ``changes`` set (None removes) and ``drop`` names removed.

    ``{% query cursor=None ordering="name" %}`` → ``?q=kim&ordering=name``.
    """
    params: QueryDict = context["request"].GET.copy()
    for name in drop:
        params.pop(name, None)
    for name, value in changes.items():
        params.pop(name, None)
        if value not in (None, ""):
            params[name] = str(value)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


TIMELINE_ICONS = {
    "call": "phone",
    "email": "mail",
    "meeting": "users",
    "chat": "message",
    "sms": "message",
    "note": "note",
    "social": "share",
    "purchase": "cart",
    "refund": "refresh",
    "task": "check",
    "merge": "merge",
    "points": "award",
    "redemption": "gift",
    "referral": "share",
    "survey": "star",
    "response": "star",
    "ticket": "lifebuoy",
    "message": "send",
    "outreach": "send",
}


@register.filter
def timeline_icon(kind: str) -> str:
    """The icon name (templates/includes/icon.html) for a timeline entry's kind."""
    return TIMELINE_ICONS.get(kind, "info")


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as ``1:05:00`` / ``12 min``, for call and meeting lengths."""
    from django.utils.translation import gettext

    if seconds in (None, ""):
        return ""
    minutes = round(int(seconds) / 60)
    if minutes < 60:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    return gettext("%(hours)d h %(minutes)02d min") % {
        "hours": minutes // 60,
        "minutes": minutes % 60,
    }


@register.filter
def timeline_kind(kind: str) -> str:
    """The translated name of a timeline entry's kind (“Call”, “Purchase”)."""
    from crm.timeline import TIMELINE_KINDS

    return str(TIMELINE_KINDS.get(kind, kind.replace("_", " ").capitalize()))


@register.filter
def entry_key(entry: Any) -> str:
    """A timeline entry's identity (``call-12``), for anchors and marking the new entry."""
    return f"{entry.kind}-{entry.object_id}"


@register.filter
def as_decimal(value: Any) -> Decimal | None:
    """A money string from timeline data as ``Decimal`` (falsy when zero)."""
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        return None


@register.filter
def as_datetime(value: Any) -> dt.datetime | None:
    """An ISO 8601 string from timeline data as a datetime (shown in the reader's time zone)."""
    from django.utils.dateparse import parse_datetime

    if isinstance(value, dt.datetime):
        return value
    try:
        return parse_datetime(str(value)) if value else None
    except ValueError:
        return None


@register.filter
def consent_states(contact: Any) -> list[dict[str, Any]]:
    """Each consent purpose with the contact's answer (None when never asked), when and how."""
    from crm.models import Consent

    current = {c.purpose: c for c in contact.consents.all()}
    states = []
    for purpose, label in Consent.Purpose.choices:
        row = current.get(purpose)
        states.append(
            {
                "purpose": purpose,
                "label": label,
                "granted": None if row is None else row.granted,
                "changed_at": row.changed_at if row else None,
                "source": row.get_source_display() if row else "",
            }
        )
    return states
