"""The programme's settings (one row) and its tiers."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import TimeStampedModel
from crm.querycache import cached_rows

PROGRAM_ID = 1


# modeltranslation swaps the managers of translated models at run time for generated
# classes the django-stubs plugin cannot name; the ignores below are for that alone.
class Program(TimeStampedModel):  # type: ignore[django-manager-missing]
    """The loyalty programme's rules; a single row (id 1), read with ``Program.load()``.

    Points are earned per unit of ``settings.BASE_CURRENCY``; tiers are reached by points
    earned or by spend within the qualification window.
    """

    class Rounding(models.TextChoices):
        DOWN = "down", _("Round down")
        NEAREST = "nearest", _("Round to the nearest point")

    class Basis(models.TextChoices):
        POINTS_EARNED = "points_earned", _("Points earned from purchases")
        SPEND = "spend", _("Spend in the base currency")

    class Window(models.TextChoices):
        LIFETIME = "lifetime", _("Lifetime")
        CALENDAR_YEAR = "calendar_year", _("Calendar year")
        ROLLING = "rolling", _("Rolling months")

    id = models.PositiveSmallIntegerField(
        primary_key=True, default=PROGRAM_ID, editable=False
    )
    name = models.CharField(_("name"), max_length=100, default="Rewards")
    points_per_unit = models.DecimalField(
        _("points per currency unit"),
        max_digits=12,
        decimal_places=4,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_(
            "Points earned per one unit of the base currency, before the tier multiplier: "
            "1 is a point per dollar, 0.01 a point per 100 won."
        ),
    )
    rounding = models.CharField(
        _("rounding"), max_length=10, choices=Rounding.choices, default=Rounding.DOWN
    )
    expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        null=True,
        blank=True,
        default=12,
        validators=[MinValueValidator(1)],
        help_text=_("Empty means points never expire."),
    )
    expiry_warning_days = models.PositiveSmallIntegerField(
        _("warn before expiry (days)"), default=30
    )
    qualification_basis = models.CharField(
        _("tiers are reached by"),
        max_length=20,
        choices=Basis.choices,
        default=Basis.POINTS_EARNED,
    )
    qualification_window = models.CharField(
        _("qualification window"),
        max_length=20,
        choices=Window.choices,
        default=Window.ROLLING,
    )
    window_months = models.PositiveSmallIntegerField(
        _("rolling window (months)"),
        default=12,
        validators=[MinValueValidator(1)],
        help_text=_("Used with the rolling window only."),
    )
    downgrade_grace_days = models.PositiveSmallIntegerField(
        _("downgrade grace period (days)"),
        default=30,
        help_text=_(
            "A member who no longer qualifies keeps the tier this long before moving down."
        ),
    )
    welcome_bonus = models.PositiveIntegerField(_("welcome bonus (points)"), default=0)
    birthday_bonus = models.PositiveIntegerField(
        _("birthday bonus (points)"), default=0
    )
    referrer_points = models.PositiveIntegerField(
        _("points for the referrer"), default=0
    )
    referred_points = models.PositiveIntegerField(
        _("points for the referred customer"), default=0
    )

    class Meta:
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programme")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=PROGRAM_ID), name="loyalty_program_singleton"
            ),
            models.CheckConstraint(
                condition=models.Q(points_per_unit__gte=0),
                name="loyalty_program_points_per_unit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def load(cls) -> Program:
        """The programme row, created with the defaults the first time it is asked for."""
        found = cached_rows(
            "loyalty.program", lambda: cls.objects.filter(pk=PROGRAM_ID)
        )
        if found:
            return found[0]
        program, _created = cls.objects.get_or_create(pk=PROGRAM_ID)
        return program


class TierQuerySet(models.QuerySet["Tier"]):
    def ranked(self) -> TierQuerySet:
        """Lowest first: a tier ranks by its threshold."""
        return self.order_by("threshold")


class Tier(TimeStampedModel):  # type: ignore[django-manager-missing]
    """A membership level reached when the qualification value meets its threshold.

    The threshold is in points or in base-currency spend, per ``Program.qualification_basis``;
    the tier's rank is its threshold. Points earned on a purchase are multiplied by the tier's
    multiplier.
    """

    name = models.CharField(_("name"), max_length=100)
    benefits = models.TextField(_("benefits"), blank=True)
    threshold = models.DecimalField(
        _("threshold"),
        max_digits=18,
        decimal_places=2,
        unique=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_(
            "Points earned, or base-currency spend, within the qualification window that "
            "reaches this tier. The entry tier has 0."
        ),
    )
    multiplier = models.DecimalField(
        _("earn multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("1.25 earns a quarter more points per purchase."),
    )

    objects = TierQuerySet.as_manager()  # type: ignore[django-manager-missing]

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["threshold"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__gte=0),
                name="loyalty_tier_threshold_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(multiplier__gte=0),
                name="loyalty_tier_multiplier_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name
