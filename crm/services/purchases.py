"""Writes on money: exchange rates, purchases, refunds, and the customer periods they imply.

Amounts are ``Decimal`` in the purchase's own currency, converted once, when recorded, to the
base currency with the latest rate on or before the purchase date (DESIGN §4.7).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm import hooks
from crm.currencies import (
    convert,
    format_money,
    has_valid_places,
    is_currency,
    minor_units,
    quantize,
)
from crm.models import Contact, ExchangeRate, Purchase, Refund, User

# How far ahead of our clock a purchase time may be: the sender's clock may run a little fast.
CLOCK_SKEW = dt.timedelta(minutes=5)
# Amounts are stored with 18 digits, 4 of them decimals.
MAX_AMOUNT = Decimal(10) ** 14


def parse_currency(
    value: object, *, field: str = "currency", allow_base: bool = True
) -> str:
    """An ISO 4217 code in use, upper-cased; else ``ValidationError`` naming ``field``."""
    if not is_currency(value):
        raise ValidationError(
            {
                field: ValidationError(
                    _(
                        "“%(value)s” is not an ISO 4217 currency code in use, such as USD or KRW."
                    ),
                    code="unknown_currency",
                    params={"value": value},
                )
            }
        )
    code = str(value).strip().upper()
    if not allow_base and code == settings.BASE_CURRENCY:
        raise ValidationError(
            {
                field: _("%(currency)s is the base currency: its rate is always 1.")
                % {"currency": code}
            }
        )
    return code


def _decimal(value: object, *, field: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Money is Decimal, never float: pass Decimal or str.")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValidationError({field: _("Enter a number.")})
    return number


def _money(value: object, *, currency: str, field: str = "amount") -> Decimal:
    """A positive amount with no more decimals than ``currency`` has."""
    amount = _decimal(value, field=field)
    if amount <= 0:
        raise ValidationError({field: _("Enter an amount greater than zero.")})
    if amount >= MAX_AMOUNT:
        raise ValidationError({field: _("This amount is too large.")})
    if not has_valid_places(amount, currency):
        places = minor_units(currency)
        if places == 0:
            message = _("%(currency)s amounts have no decimal places.") % {
                "currency": currency
            }
        else:
            message = ngettext(
                "%(currency)s amounts have at most %(places)d decimal place.",
                "%(currency)s amounts have at most %(places)d decimal places.",
                places,
            ) % {"currency": currency, "places": places}
        raise ValidationError({field: message})
    return amount


def _moment(value: object, *, field: str = "occurred_at") -> dt.datetime:
    """An aware datetime that is not (beyond clock skew) in the future."""
    if not isinstance(value, dt.datetime):
        raise ValidationError({field: _("Enter a date and time.")})
    if timezone.is_naive(value):
        raise ValidationError(
            {
                field: _(
                    "Give the time with its time zone, e.g. 2026-03-01T14:30:00+09:00."
                )
            }
        )
    if value > timezone.now() + CLOCK_SKEW:
        raise ValidationError({field: _("This time is in the future.")})
    return value


def _rate_day(moment: dt.datetime) -> dt.date:
    """The calendar day a purchase belongs to for its rate: the company's day (``TIME_ZONE``)."""
    return moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


# --- Exchange rates -------------------------------------------------------------------------


@transaction.atomic
def exchange_rate_set(
    *, currency: str, date: dt.date, rate: Decimal | str
) -> ExchangeRate:
    """Set the day's rate for ``currency`` (base-currency units per unit), creating or replacing it.

    The base currency needs no rate (it is always 1); rates are positive.
    """
    code = parse_currency(currency, allow_base=False)
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ValidationError({"date": _("Enter a date.")})
    value = _decimal(rate, field="rate")
    if value <= 0:
        raise ValidationError({"rate": _("Enter a rate greater than zero.")})
    # Field checks (digits, decimal places) name the field; the (currency, date) key is
    # handled by update_or_create, which also survives two concurrent first writes.
    ExchangeRate(currency=code, date=date, rate=value).full_clean(
        validate_unique=False, validate_constraints=False
    )
    exchange_rate, _created = ExchangeRate.objects.update_or_create(
        currency=code, date=date, defaults={"rate": value}
    )
    return exchange_rate


@transaction.atomic
def exchange_rate_delete(*, exchange_rate: ExchangeRate) -> None:
    """Delete a rate; purchases already recorded keep the rate they were converted with."""
    exchange_rate.delete()


def exchange_rate_for(*, currency: str, on: dt.date) -> Decimal:
    """Base-currency units per unit of ``currency`` on ``on``: the latest rate on or before it.

    1 for the base currency. No such rate → ``ValidationError`` naming the currency and date,
    so the caller can add the rate and retry.
    """
    code = parse_currency(currency)
    if code == settings.BASE_CURRENCY:
        return Decimal(1)
    rate = (
        ExchangeRate.objects.filter(currency=code, date__lte=on)
        .order_by("-date")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ValidationError(
            {
                "currency": ValidationError(
                    _(
                        "No exchange rate for %(currency)s on or before %(date)s. Add one and retry."
                    ),
                    code="missing_rate",
                    params={"currency": code, "date": on.isoformat()},
                )
            }
        )
    return rate


# --- Purchases ------------------------------------------------------------------------------


def purchase_record(
    *,
    contact: Contact,
    amount: Decimal | str | int,
    currency: str,
    occurred_at: dt.datetime,
    external_id: str = "",
    actor: User | None = None,
) -> tuple[Purchase, bool]:
    """Record a purchase once per ``external_id``, converted to the base currency; (purchase, created).

    Sending the same external id again returns the first purchase and changes nothing. The
    contact becomes (again) a customer, and ``purchase_recorded`` hooks run in the transaction.
    """
    external_id = (external_id or "").strip()
    if external_id and (existing := _by_external_id(external_id)):
        return existing, False
    code = parse_currency(currency)
    value = _money(amount, currency=code)
    occurred_at = _moment(occurred_at)
    rate = exchange_rate_for(currency=code, on=_rate_day(occurred_at))
    base = settings.BASE_CURRENCY
    purchase = Purchase(
        contact_id=contact.pk,
        amount=value,
        currency=code,
        amount_base=convert(value, rate, base),
        base_currency=base,
        exchange_rate=rate,
        occurred_at=occurred_at,
        external_id=external_id,
        recorded_by=actor,
    )
    try:
        purchase.full_clean(
            exclude=["contact", "recorded_by"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as error:
        # The base amount only overflows because the amount is too large for its rate.
        errors = error.message_dict
        if "amount_base" in errors:
            errors.setdefault("amount", []).extend(errors.pop("amount_base"))
        raise ValidationError(errors) from None
    try:
        with transaction.atomic():
            # Lock the contact: concurrent purchases must not both read the old derived dates.
            locked = Contact.objects.select_for_update().get(pk=contact.pk)
            purchase.save()
            _start_or_extend_customer_period(locked, occurred_at)
            for function in hooks.purchase_recorded:
                function(purchase_id=purchase.pk)
    except IntegrityError:
        # Another request recorded the same external id first (the unique constraint saw it).
        if external_id and (existing := _by_external_id(external_id)):
            return existing, False
        raise
    return purchase, True


def _by_external_id(external_id: str) -> Purchase | None:
    return Purchase.objects.filter(external_id=external_id).first()


def _start_or_extend_customer_period(
    contact: Contact, occurred_at: dt.datetime
) -> None:
    """Keep the derived dates true: last purchase, customer since, and reactivation after churn."""
    if contact.last_purchase_at is None or occurred_at > contact.last_purchase_at:
        contact.last_purchase_at = occurred_at
    if contact.churned_at is not None and contact.churned_at <= occurred_at:
        # A churned customer who buys again starts a new customer period (DESIGN §5).
        contact.customer_since = occurred_at
        contact.churned_at = None
    elif contact.customer_since is None:
        contact.customer_since = occurred_at
    if contact.churned_at is None and contact.lifecycle_stage not in (
        Contact.LifecycleStage.CUSTOMER,
        Contact.LifecycleStage.EVANGELIST,
    ):
        contact.lifecycle_stage = Contact.LifecycleStage.CUSTOMER
    contact.save(
        update_fields=[
            "last_purchase_at",
            "customer_since",
            "churned_at",
            "lifecycle_stage",
            "updated_at",
        ]
    )


@transaction.atomic
def purchase_refund(
    *,
    purchase: Purchase,
    amount: Decimal | str | int,
    occurred_at: dt.datetime | None = None,
    reason: str = "",
    actor: User | None = None,
) -> Refund:
    """Give back part or all of what remains of a purchase, at the purchase's own rate.

    A refund that completes the purchase takes exactly the base amount still unrefunded, so a
    fully refunded purchase nets to zero whatever the rounding of earlier partial refunds.
    """
    # Lock the purchase so two refunds can't both see the same remaining amount.
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    value = _money(amount, currency=purchase.currency)
    remaining = purchase.amount - purchase.refunded_amount
    if value > remaining:
        if remaining <= 0:
            message = _("This purchase has already been refunded in full.")
        else:
            message = _("Only %(remaining)s can still be refunded.") % {
                "remaining": format_money(remaining, purchase.currency)
            }
        raise ValidationError({"amount": message})
    occurred_at = _moment(timezone.now() if occurred_at is None else occurred_at)
    if occurred_at < purchase.occurred_at:
        raise ValidationError(
            {"occurred_at": _("A refund cannot be dated before its purchase.")}
        )
    if value == remaining:
        # (SQLite sums decimals as floats: bring the total back to the currency's places.)
        refunded_base = quantize(
            purchase.refunds.aggregate(total=Sum("amount_base"))["total"] or Decimal(0),
            purchase.base_currency,
        )
        amount_base = max(purchase.amount_base - refunded_base, Decimal(0))
    else:
        amount_base = convert(value, purchase.exchange_rate, purchase.base_currency)
    refund = Refund(
        purchase=purchase,
        amount=value,
        amount_base=amount_base,
        occurred_at=occurred_at,
        reason=(reason or "").strip(),
        recorded_by=actor,
    )
    refund.full_clean(exclude=["purchase", "recorded_by"], validate_constraints=False)
    refund.save()
    purchase.refunded_amount += value
    purchase.save(update_fields=["refunded_amount", "updated_at"])
    for function in hooks.purchase_refunded:
        function(refund_id=refund.pk)
    return refund


# --- Customer periods -----------------------------------------------------------------------


def contacts_mark_churned(*, now: dt.datetime) -> int:
    """Churn, implicitly, every customer with no purchase for ``CHURN_WINDOW_DAYS`` (DESIGN §5).

    ``churned_at`` becomes last purchase + window (the day they stopped being a customer, not
    the day we noticed); one UPDATE, safe to run twice. Returns how many contacts churned.
    """
    window = dt.timedelta(days=settings.CHURN_WINDOW_DAYS)
    return Contact.objects.filter(
        churned_at__isnull=True, last_purchase_at__lt=now - window
    ).update(churned_at=F("last_purchase_at") + window, updated_at=now)
