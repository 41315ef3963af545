"""Members and the append-only points ledger: accounts, entries, lots and tier history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Contact, TimeStampedModel
from loyalty.models.program import Tier


class LoyaltyAccount(TimeStampedModel):
    """A contact's membership: one per contact.

    ``balance`` is a cache of the sum of the account's entries, written only by the ledger
    service under the account's row lock (``manage.py loyalty_verify`` proves it holds).
    """

    contact = models.OneToOneField(
        Contact,
        models.CASCADE,
        related_name="loyalty_account",
        verbose_name=_("contact"),
    )
    balance = models.BigIntegerField(_("points balance"), default=0, editable=False)
    tier = models.ForeignKey(
        Tier,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name=_("tier"),
    )
    tier_grace_until = models.DateTimeField(
        _("keeps the tier until"),
        null=True,
        blank=True,
        help_text=_(
            "Set when the member no longer qualifies: the tier drops after this moment."
        ),
    )
    referral_code = models.CharField(_("referral code"), max_length=16, unique=True)

    class Meta:
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return str(self.contact)


class PointsEntry(models.Model):
    """One signed, never-zero movement of points; the ledger is append-only.

    A positive entry is also a *lot*: ``remaining`` is how much of it is still unspent and
    ``expires_at`` when that remainder expires. Nothing changes an entry after it is written
    except its ``remaining`` counter; ``key`` makes every write idempotent.
    """

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        REVERSE = "reverse", _("Reversed")
        ADJUST = "adjust", _("Adjusted")
        REFERRAL = "referral", _("Referral")
        BONUS = "bonus", _("Bonus")

    account = models.ForeignKey(
        LoyaltyAccount,
        models.CASCADE,
        related_name="entries",
        verbose_name=_("account"),
        db_index=False,  # loyalty_entry_history starts with it: one index less per entry
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.BigIntegerField(_("points"))
    balance_after = models.BigIntegerField(_("balance after"))
    key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    source_type = models.CharField(_("source type"), max_length=50, blank=True)
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    remaining = models.BigIntegerField(_("unspent points"), default=0)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(points=0), name="loyalty_entry_points_not_zero"
            ),
            # A lot holds at most its own points; a deduction is never a lot.
            models.CheckConstraint(
                condition=models.Q(
                    points__gt=0, remaining__gte=0, remaining__lte=models.F("points")
                )
                | models.Q(points__lt=0, remaining=0, expires_at__isnull=True),
                name="loyalty_entry_lot_bounds",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["earn", "bonus", "referral"])
                | models.Q(points__gt=0),
                name="loyalty_entry_credit_kinds_positive",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["redeem", "expire"])
                | models.Q(points__lt=0),
                name="loyalty_entry_debit_kinds_negative",
            ),
            # DESIGN §4.1: a redemption never takes the balance below zero.
            models.CheckConstraint(
                condition=~models.Q(kind="redeem") | models.Q(balance_after__gte=0),
                name="loyalty_entry_redeem_never_overdraws",
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "-created_at", "-id"], name="loyalty_entry_history"
            ),
            # Expiry scans and lot consumption only ever look at lots with points left.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(remaining__gt=0),
                name="loyalty_entry_lot_expiry",
            ),
            models.Index(
                fields=["account", "expires_at"],
                condition=models.Q(remaining__gt=0),
                name="loyalty_entry_open_lots",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.kind} ({self.key})"

    @property
    def is_lot(self) -> bool:
        return self.points > 0

    @property
    def description(self) -> str:
        """What the entry was for, in the reader's language (a manager's reason as written)."""
        if self.reason:
            return self.reason
        labels = {
            "crm.purchase": _("Purchase #%(id)s"),
            "crm.refund": _("Refund #%(id)s"),
            "loyalty.welcome": _("Welcome bonus"),
            "loyalty.birthday": _("Birthday bonus"),
            "loyalty.referral": _("Referral reward"),
            "loyalty.lot": _("Points expired"),
        }
        if self.source_type == "loyalty.redemption":
            if self.kind == self.Kind.REDEEM:
                return str(_("Reward redeemed"))
            return str(_("Redemption cancelled"))
        if label := labels.get(self.source_type):
            return str(label) % {"id": self.source_id}
        return str(self.get_kind_display())


class LotUse(models.Model):
    """Which lot a deduction (redeem, expire, negative reverse or adjust) consumed, and how much.

    A deduction larger than the open lots (only a refund reversal may be) is paid off by the
    next lots credited, so unspent lots and the balance always agree once it is back above zero.
    """

    entry = models.ForeignKey(
        PointsEntry,
        models.CASCADE,
        related_name="lot_uses",
        verbose_name=_("deduction"),
        db_index=False,  # the unique (entry, lot) index starts with it
    )
    lot = models.ForeignKey(
        PointsEntry, models.CASCADE, related_name="uses", verbose_name=_("lot")
    )
    points = models.BigIntegerField(_("points"))

    class Meta:
        verbose_name = _("lot use")
        verbose_name_plural = _("lot uses")
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "lot"], name="loyalty_lot_use_once_per_pair"
            ),
            models.CheckConstraint(
                condition=models.Q(points__gt=0), name="loyalty_lot_use_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} → {self.lot_id}: {self.points}"


class ExpiryWarning(models.Model):
    """That members were told a lot is about to expire: one row per lot, so once per lot."""

    lot = models.OneToOneField(
        PointsEntry,
        models.CASCADE,
        related_name="expiry_warning",
        verbose_name=_("lot"),
    )
    created_at = models.DateTimeField(_("warned"), default=timezone.now)

    class Meta:
        verbose_name = _("expiry warning")
        verbose_name_plural = _("expiry warnings")

    def __str__(self) -> str:
        return str(self.lot_id)


class TierChange(models.Model):
    """A move between tiers, with why: initial, upgrade (at once), downgrade (after grace), manual."""

    class Reason(models.TextChoices):
        INITIAL = "initial", _("Joined")
        UPGRADE = "upgrade", _("Upgrade")
        DOWNGRADE = "downgrade", _("Downgrade")
        MANUAL = "manual", _("Set by staff")

    account = models.ForeignKey(
        LoyaltyAccount,
        models.CASCADE,
        related_name="tier_changes",
        verbose_name=_("account"),
    )
    from_tier = models.ForeignKey(
        Tier,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from tier"),
    )
    to_tier = models.ForeignKey(
        Tier,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to tier"),
    )
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["account", "-created_at", "-id"], name="loyalty_tier_history"
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_tier_id} → {self.to_tier_id} ({self.reason})"
