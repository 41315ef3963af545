"""ISO 4217 currencies from CLDR (Babel): which codes exist, their minor units, rounding, display.

Money is ``Decimal`` everywhere; these helpers refuse floats rather than guess their value.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache

from babel.core import get_global
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_territory_currencies,
)
from django.conf import settings
from django.utils import translation

# Enough significant digits for any amount * rate our columns can hold (18 + 24 digits).
_PRECISION = 60


@lru_cache(maxsize=1)
def _currencies_in_use() -> frozenset[str]:
    """Codes that are legal tender somewhere today (CLDR), so DEM, XXX or XAU are refused."""
    today = dt.date.today()  # noqa: DTZ011 (a calendar lookup; a day's drift changes nothing)
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(
            str(code)
            for code in get_territory_currencies(
                territory, start_date=today, tender=True
            )
        )
    return frozenset(codes)


def is_currency(code: object) -> bool:
    """Whether ``code`` (any case) is an ISO 4217 currency in use, such as ``KRW`` or ``usd``."""
    return isinstance(code, str) and code.strip().upper() in _currencies_in_use()


def minor_units(code: str) -> int:
    """Decimal places of the currency: KRW and JPY 0, USD 2, BHD 3 (ISO 4217 via CLDR)."""
    return int(get_currency_precision(code.strip().upper()))


def _as_decimal(amount: Decimal | int | str) -> Decimal:
    if isinstance(amount, float):
        raise TypeError("Money is Decimal, never float: pass Decimal or str.")
    return amount if isinstance(amount, Decimal) else Decimal(amount)


def quantize(amount: Decimal | int | str, code: str) -> Decimal:
    """``amount`` rounded half-up to the currency's minor units (``1.005`` USD → ``1.01``)."""
    exponent = Decimal(1).scaleb(-minor_units(code))
    with localcontext() as context:
        context.prec = _PRECISION
        return _as_decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def convert(amount: Decimal, rate: Decimal, code: str) -> Decimal:
    """``amount * rate`` computed exactly, then rounded to the minor units of ``code``."""
    with localcontext() as context:
        context.prec = _PRECISION
        product = _as_decimal(amount) * _as_decimal(rate)
    return quantize(product, code)


def has_valid_places(amount: Decimal, code: str) -> bool:
    """Whether ``amount`` needs no more decimals than the currency has (``10.00`` KRW does not)."""
    return quantize(amount, code) == amount


def format_money(
    amount: Decimal | int | str, code: str, locale: str | None = None
) -> str:
    """``amount`` in ``code`` for display in ``locale`` (default: the active language): ₩15,000."""
    if locale is None:
        locale = translation.to_locale(
            translation.get_language() or settings.LANGUAGE_CODE
        )
    return str(
        format_currency(_as_decimal(amount), code.strip().upper(), locale=locale)
    )
