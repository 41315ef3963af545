"""How a metric's value and change read on the dashboard, in the reader's locale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from crm.currencies import format_money

register = template.Library()


def _number(value: Any) -> str:
    if isinstance(value, Decimal):
        return number_format(value, use_l10n=True, force_grouping=True)
    return str(intcomma(value))


@register.filter
def metric_value(metric: Any) -> str:
    """The value with its unit, or "Not enough data" when its denominator is zero."""
    value = metric.value
    if value is None:
        return _("Not enough data")
    if metric.unit == "percent":
        return f"{_number(value)}%"
    if metric.unit == "money":
        return format_money(value, settings.BASE_CURRENCY)
    if metric.unit == "minutes":
        return _("%(minutes)s min") % {"minutes": _number(value)}
    return _number(value)


@register.filter
def metric_change(metric: Any) -> str:
    """The change against the previous equal period, signed ("+2.5 pp", "-3", "—")."""
    change = metric.change
    if change is None:
        return "—"
    sign = "+" if change > 0 else ("-" if change < 0 else "±")
    magnitude = abs(change)
    if metric.unit == "percent":
        return _("%(sign)s%(value)s pp") % {"sign": sign, "value": _number(magnitude)}
    if metric.unit == "money":
        return sign + format_money(magnitude, settings.BASE_CURRENCY)
    return sign + _number(magnitude)


@register.filter
def change_direction(metric: Any) -> str:
    change = metric.change
    if change is None or change == 0:
        return "flat"
    return "up" if change > 0 else "down"


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def cohort_level(value: Decimal) -> int:
    """0-10: the cell's shade class (CSS colours the cell; no inline styles under the CSP)."""
    return max(0, min(10, int(value // 10)))
