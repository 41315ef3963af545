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
        return value.effective_timezone  # type: ignore[no-any-return]
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
