"""Money: purchases and refunds in any ISO 4217 currency, converted with dated exchange rates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models.base import TimeStampedModel
from crm.models.contacts import Contact

MONEY: dict[str, Any] = {"max_digits": 18, "decimal_places": 4}


class ExchangeRate(TimeStampedModel):
    """How many units of the base currency one unit of ``currency`` was worth on ``date``.

    A conversion uses the latest rate on or before the purchase date (DESIGN §4.7).
    """

    currency = models.CharField(_("currency"), max_length=3)
    date = models.DateField(_("date"))
    rate = models.DecimalField(
        _("rate"),
        max_digits=24,
        decimal_places=10,
        validators=[MinValueValidator(Decimal("0.0000000001"))],
        help_text=_("Base-currency units per one unit of this currency."),
    )

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-date"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "date"],
                name="crm_exchange_rate_one_per_day",
                violation_error_message=_(
                    "There is already a rate for this currency on this date."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gt=0), name="crm_exchange_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.date}: {self.rate} {settings.BASE_CURRENCY}"


class Purchase(TimeStampedModel):
    """A contact's order: its amount in its own currency and, fixed at recording, in the base currency."""

    contact = models.ForeignKey(
        Contact, models.PROTECT, related_name="purchases", verbose_name=_("contact")
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    amount_base = models.DecimalField(_("amount in base currency"), **MONEY)
    base_currency = models.CharField(_("base currency"), max_length=3)
    exchange_rate = models.DecimalField(
        _("rate used"), max_digits=24, decimal_places=10
    )
    refunded_amount = models.DecimalField(_("refunded"), default=Decimal(0), **MONEY)
    occurred_at = models.DateTimeField(_("when"))
    external_id = models.CharField(
        _("external id"),
        max_length=200,
        blank=True,
        help_text=_(
            "The order number in the source system: sending it again changes nothing."
        ),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # Partial: only a non-empty order number identifies a purchase; many have none.
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="crm_purchase_external_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="crm_purchase_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0)
                & models.Q(refunded_amount__lte=models.F("amount")),
                name="crm_purchase_refund_within_amount",
            ),
        ]
        indexes = [
            models.Index(
                fields=["contact", "-occurred_at"], name="crm_purchase_timeline"
            ),
            models.Index(fields=["occurred_at"], name="crm_purchase_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.refunded_amount


class Refund(TimeStampedModel):
    """Money given back on a purchase, full or partial; converted with the purchase's own rate."""

    purchase = models.ForeignKey(
        Purchase, models.PROTECT, related_name="refunds", verbose_name=_("purchase")
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    amount_base = models.DecimalField(_("amount in base currency"), **MONEY)
    occurred_at = models.DateTimeField(_("when"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="crm_refund_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"-{self.amount}"
