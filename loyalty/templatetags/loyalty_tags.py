"""Display helpers for loyalty pages: ``{% load loyalty_tags %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import formats

register = template.Library()

MINUS = "\N{MINUS SIGN}"


@register.filter
def signed_points(value: Any) -> str:
    """Points with their direction and the reader's grouping: ``+1,250`` / ``\u2212300``
    (a true minus sign, as wide as the plus, so the columns line up)."""
    try:
        points = int(value)
    except (TypeError, ValueError):
        return ""
    sign = "+" if points > 0 else MINUS if points < 0 else ""
    return sign + formats.number_format(abs(points), force_grouping=True)
