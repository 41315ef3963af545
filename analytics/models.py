"""Daily rollups the dashboard reads instead of the raw tables (DESIGN §5).

Every table is rebuilt by set-based SQL (``analytics.services.rollups``): nightly in full, and
every few minutes for the contacts whose rows changed. Days are calendar days in ``TIME_ZONE``.
Country and language are copied from the contact so the dashboard filters without a join.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models.commerce import MONEY


class ContactDay(models.Model):
    """One contact's activity on one day: orders and net revenue, survey scores, points, outreach.

    Revenue is in the base currency, net of refunds, on the purchase's day; an order refunded
    in full is not an order.
    """

    contact_id = models.BigIntegerField(_("contact"))
    day = models.DateField(_("day"))
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    owner_id = models.BigIntegerField(_("owner"), null=True, blank=True)
    orders = models.IntegerField(_("orders"), default=0, db_default=0)
    revenue = models.DecimalField(_("revenue"), default=0, db_default=0, **MONEY)
    nps_promoters = models.IntegerField(default=0, db_default=0)
    nps_passives = models.IntegerField(default=0, db_default=0)
    nps_detractors = models.IntegerField(default=0, db_default=0)
    csat_satisfied = models.IntegerField(default=0, db_default=0)
    csat_answers = models.IntegerField(default=0, db_default=0)
    ces_sum = models.IntegerField(default=0, db_default=0)
    ces_answers = models.IntegerField(default=0, db_default=0)
    points_issued = models.BigIntegerField(default=0, db_default=0)
    points_redeemed = models.BigIntegerField(default=0, db_default=0)
    points_expired = models.BigIntegerField(default=0, db_default=0)
    points_net = models.BigIntegerField(default=0, db_default=0)
    points_entries = models.IntegerField(default=0, db_default=0)
    outreach_sent = models.IntegerField(default=0, db_default=0)
    outreach_failed = models.IntegerField(default=0, db_default=0)
    unsubscribed = models.IntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = _("contact day")
        verbose_name_plural = _("contact days")
        constraints = [
            models.UniqueConstraint(
                fields=["contact_id", "day"], name="analytics_contactday_unique"
            )
        ]
        indexes = [
            models.Index(fields=["day"], name="analytics_contactday_day"),
            models.Index(fields=["country", "day"], name="analytics_cday_country"),
            models.Index(fields=["language", "day"], name="analytics_cday_language"),
            models.Index(fields=["owner_id", "day"], name="analytics_cday_owner"),
            # The points liability sums every loyalty movement up to a day: just those rows.
            models.Index(
                fields=["day"],
                condition=models.Q(points_entries__gt=0),
                name="analytics_cday_points",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}@{self.day}"


class CustomerSpan(models.Model):
    """A contact's current customer period as days: from ``customer_since`` to the effective
    churn (``churned_at``, else last purchase + churn window), NULL while it has no end."""

    contact_id = models.BigIntegerField(_("contact"), unique=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    owner_id = models.BigIntegerField(_("owner"), null=True, blank=True)
    start_day = models.DateField(_("customer since"))
    end_day = models.DateField(_("churned"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer span")
        verbose_name_plural = _("customer spans")
        indexes = [
            models.Index(fields=["start_day"], name="analytics_span_start"),
            models.Index(fields=["end_day"], name="analytics_span_end"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.start_day}-{self.end_day or ''}"


class TicketFact(models.Model):
    """A ticket as the dashboard needs it: its day, times in business minutes, and SLA breach."""

    ticket_id = models.BigIntegerField(_("ticket"), unique=True)
    contact_id = models.BigIntegerField(_("contact"))
    day = models.DateField(_("opened"))
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    owner_id = models.BigIntegerField(_("owner"), null=True, blank=True)
    first_response_minutes = models.IntegerField(null=True, blank=True)
    resolution_minutes = models.IntegerField(null=True, blank=True)
    breached = models.BooleanField(_("SLA breached"), default=False)

    class Meta:
        verbose_name = _("ticket fact")
        verbose_name_plural = _("ticket facts")
        indexes = [
            models.Index(fields=["day"], name="analytics_ticket_day"),
            models.Index(fields=["contact_id"], name="analytics_ticket_contact"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id}"


class SegmentMember(models.Model):
    """Who is in a segment, materialised with the rollups so segment filters need no live scan."""

    segment_id = models.BigIntegerField(_("segment"))
    contact_id = models.BigIntegerField(_("contact"))

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(
                fields=["segment_id", "contact_id"], name="analytics_segment_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.contact_id}"


class TierDay(models.Model):
    """How many loyalty members entered (+) or left (-) a tier on ``day``, rebuilt from the
    tier history (``loyalty.TierChange``). The distribution at the end of a day is the sum of
    every row up to that day; a member with no recorded change counts in their current tier
    from the day their account was created."""

    day = models.DateField(_("day"))
    tier_id = models.BigIntegerField(_("tier"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    owner_id = models.BigIntegerField(_("owner"), null=True, blank=True)
    members = models.IntegerField(_("members"))

    class Meta:
        verbose_name = _("tier change per day")
        verbose_name_plural = _("tier changes per day")
        indexes = [models.Index(fields=["day"], name="analytics_tierday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.tier_id}: {self.members:+d}"


class CustomerPeriod(models.Model):
    """The cohort matrix's view of a customer: the current customer period and, before it, a
    period per day with purchases (each purchase keeps a contact a customer for the churn
    window), so a reactivated customer stays in the cohort of the month they first became a
    customer (``cohort_day``) and counts as retained in every month they were a customer."""

    contact_id = models.BigIntegerField(_("contact"))
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    owner_id = models.BigIntegerField(_("owner"), null=True, blank=True)
    cohort_day = models.DateField(_("first customer day"))
    start_day = models.DateField(_("from"))
    end_day = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer period")
        verbose_name_plural = _("customer periods")
        indexes = [
            models.Index(fields=["cohort_day"], name="analytics_period_cohort"),
            models.Index(fields=["contact_id"], name="analytics_period_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.start_day}-{self.end_day or ''}"


class RollupState(models.Model):
    """The single row that says how far the rollups are: the incremental job starts from here.

    Its row lock also serialises refreshes and rebuilds.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    refreshed_at = models.DateTimeField(_("refreshed"), null=True, blank=True)
    rebuilt_at = models.DateTimeField(_("rebuilt"), null=True, blank=True)
    last_response_id = models.BigIntegerField(default=0)
    last_points_entry_id = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup state")

    def __str__(self) -> str:
        return f"{self.refreshed_at}"
