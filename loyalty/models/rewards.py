"""What members spend points on (rewards, redemptions) and how they bring friends (referrals)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Contact, TimeStampedModel
from loyalty.models.ledger import LoyaltyAccount, PointsEntry
from loyalty.models.program import Tier


class RewardQuerySet(models.QuerySet["Reward"]):
    def available(self, now: dt.datetime) -> RewardQuerySet:
        """Active, within its dates and not out of stock at ``now``."""
        return (
            self.filter(active=True)
            .filter(models.Q(active_from__isnull=True) | models.Q(active_from__lte=now))
            .filter(
                models.Q(active_until__isnull=True) | models.Q(active_until__gt=now)
            )
            .exclude(stock=0)
        )


class Reward(TimeStampedModel):
    """Something a member can redeem points for: active between its dates, while stock lasts,
    and only from ``min_tier`` up when one is set."""

    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    image_url = models.URLField(_("image address"), blank=True)
    cost = models.PositiveIntegerField(
        _("cost in points"), validators=[MinValueValidator(1)]
    )
    stock = models.PositiveIntegerField(
        _("stock"),
        null=True,
        blank=True,
        help_text=_("Empty means unlimited. Each redemption takes one."),
    )
    min_tier = models.ForeignKey(
        Tier,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="rewards",
        verbose_name=_("minimum tier"),
    )
    active = models.BooleanField(_("active"), default=True)
    active_from = models.DateTimeField(_("available from"), null=True, blank=True)
    active_until = models.DateTimeField(_("available until"), null=True, blank=True)

    # (modeltranslation swaps this manager at run time: see program.py)
    objects = RewardQuerySet.as_manager()  # type: ignore[django-manager-missing]

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["cost", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cost__gt=0), name="loyalty_reward_cost_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(active_from__isnull=True)
                | models.Q(active_until__isnull=True)
                | models.Q(active_until__gt=models.F("active_from")),
                name="loyalty_reward_dates_in_order",
                violation_error_message=_(
                    "The end of availability must come after its start."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(models.Model):
    """Points spent on a reward: one redeem entry and a unique voucher code.

    Issued vouchers can be used (at the counter) or cancelled by a manager, which returns the
    points and the stock.
    """

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(
        _("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    account = models.ForeignKey(
        LoyaltyAccount,
        models.CASCADE,
        related_name="redemptions",
        verbose_name=_("account"),
    )
    reward = models.ForeignKey(
        Reward, models.PROTECT, related_name="redemptions", verbose_name=_("reward")
    )
    entry = models.OneToOneField(
        PointsEntry,
        models.CASCADE,
        related_name="redemption",
        verbose_name=_("points entry"),
    )
    points = models.PositiveIntegerField(_("points"))
    voucher_code = models.CharField(_("voucher code"), max_length=20, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ISSUED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    created_at = models.DateTimeField(_("redeemed"), default=timezone.now)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["account", "-created_at", "-id"],
                name="loyalty_redemption_history",
            ),
            models.Index(fields=["-created_at", "-id"], name="loyalty_redemption_new"),
        ]

    def __str__(self) -> str:
        return self.voucher_code


class Referral(models.Model):
    """A member brought in a new person: pending until that person's first purchase, when both
    sides get the programme's referral points. A person can be referred only once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        COMPLETED = "completed", _("Completed")
        REFUSED = "refused", _("Refused")

    referrer = models.ForeignKey(
        LoyaltyAccount,
        models.CASCADE,
        related_name="referrals_made",
        verbose_name=_("referrer"),
    )
    referred_contact = models.OneToOneField(
        Contact,
        models.CASCADE,
        related_name="loyalty_referral",
        verbose_name=_("referred person"),
    )
    code = models.CharField(_("code used"), max_length=16)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("referred"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.code} → {self.referred_contact_id}"
