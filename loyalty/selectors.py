"""Reads of the loyalty app: a member's summary and history, rewards, the programme overview."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet, Sum

from crm.currencies import quantize
from crm.models import Contact
from loyalty.models import (
    LoyaltyAccount,
    PointsEntry,
    Program,
    Redemption,
    Reward,
    Tier,
)
from loyalty.services.tiers import qualification_value, tier_for_value


@dataclass(frozen=True)
class AccountSummary:
    """Where a member stands: balance, tier, the way to the next one, and what expires soon."""

    contact_id: int
    account: LoyaltyAccount | None
    balance: int
    tier: Tier | None
    next_tier: Tier | None
    qualification_basis: str
    qualification_value: Decimal
    to_next_tier: Decimal | None
    expiring_points: int
    expiring_at: dt.datetime | None
    tier_grace_until: dt.datetime | None
    referral_code: str | None

    @property
    def is_member(self) -> bool:
        return self.account is not None

    @property
    def points_to_next_tier(self) -> int | None:
        """Points still to earn, when tiers are reached by points."""
        if (
            self.to_next_tier is None
            or self.qualification_basis != Program.Basis.POINTS_EARNED
        ):
            return None
        return int(self.to_next_tier.to_integral_value(rounding=ROUND_CEILING))

    @property
    def spend_to_next_tier(self) -> Decimal | None:
        """Base-currency spend still needed, when tiers are reached by spend."""
        if self.to_next_tier is None or self.qualification_basis != Program.Basis.SPEND:
            return None
        return quantize(self.to_next_tier, settings.BASE_CURRENCY)


def account_for_contact(*, contact: Contact) -> LoyaltyAccount | None:
    return (
        LoyaltyAccount.objects.select_related("tier")
        .filter(contact_id=contact.pk)
        .first()
    )


def account_summary(*, contact: Contact, now: dt.datetime) -> AccountSummary:
    """The contact's standing; a contact who is not a member yet stands at zero in the entry tier.

    "Expiring soon" is what expires within the programme's warning days, with the earliest date.
    """
    program = Program.load()
    tiers = list(Tier.objects.ranked())
    account = account_for_contact(contact=contact)
    if account is None:
        value = Decimal(0)
        tier = tier_for_value(value, tiers)
        expiring_points, expiring_at = 0, None
    else:
        value = qualification_value(account=account, program=program, now=now)
        tier = account.tier
        expiring = PointsEntry.objects.filter(
            account=account,
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=now + dt.timedelta(days=program.expiry_warning_days),
        ).aggregate(points=Sum("remaining"), first=Min("expires_at"))
        expiring_points, expiring_at = expiring["points"] or 0, expiring["first"]
    floor = tier.threshold if tier else Decimal(-1)
    next_tier = next((t for t in tiers if t.threshold > floor), None)
    return AccountSummary(
        contact_id=contact.pk,
        account=account,
        balance=account.balance if account else 0,
        tier=tier,
        next_tier=next_tier,
        qualification_basis=program.qualification_basis,
        qualification_value=value,
        to_next_tier=max(next_tier.threshold - value, Decimal(0))
        if next_tier
        else None,
        expiring_points=expiring_points,
        expiring_at=expiring_at,
        tier_grace_until=account.tier_grace_until if account else None,
        referral_code=account.referral_code if account else None,
    )


def account_history(*, account: LoyaltyAccount) -> QuerySet[PointsEntry]:
    """The account's entries, newest first (paginate with a cursor on created_at, id)."""
    return (
        PointsEntry.objects.filter(account=account)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def rewards_available(
    *, account: LoyaltyAccount | None, now: dt.datetime
) -> QuerySet[Reward]:
    """Rewards the member could redeem now (their tier allows it), cheapest first; whether
    the balance covers the cost is for the caller to show."""
    rewards = Reward.objects.available(now).select_related("min_tier")
    tier = account.tier if account else None
    if tier is None:
        rewards = rewards.filter(min_tier__isnull=True)
    else:
        rewards = rewards.filter(
            Q(min_tier__isnull=True) | Q(min_tier__threshold__lte=tier.threshold)
        )
    return rewards.order_by("cost", "id")


def reward_list() -> QuerySet[Reward]:
    return Reward.objects.select_related("min_tier").order_by("cost", "id")


def redemption_list(*, contact_id: int | None = None) -> QuerySet[Redemption]:
    redemptions = Redemption.objects.select_related(
        "account", "reward", "created_by", "cancelled_by"
    )
    if contact_id is not None:
        redemptions = redemptions.filter(account__contact_id=contact_id)
    return redemptions.order_by("-created_at", "-id")


@dataclass(frozen=True)
class ProgramOverview:
    """The programme in numbers (DESIGN §5: points issued, redeemed, expired, outstanding)."""

    members: int
    members_per_tier: list[tuple[Tier | None, int]]
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_reversed: int
    points_outstanding: int
    liability: Decimal | None
    base_currency: str


def program_overview() -> ProgramOverview:
    """Members per tier and the points economy; the liability is the outstanding points valued
    at the earn rate (outstanding ÷ points per unit) in the base currency, None when the rate
    is 0. Redeemed is net of cancelled redemptions; reversed counts refund reversals."""
    program = Program.load()
    per_tier: dict[int | None, int] = dict(
        LoyaltyAccount.objects.order_by()
        .values_list("tier")
        .annotate(n=Count("pk"))
        .values_list("tier", "n")
    )
    tiers: list[Tier | None] = list(Tier.objects.ranked())
    if None in per_tier:
        tiers.insert(0, None)
    kinds = PointsEntry.Kind
    totals = PointsEntry.objects.aggregate(
        issued=Sum(
            "points",
            filter=Q(kind__in=[kinds.EARN, kinds.BONUS, kinds.REFERRAL])
            | Q(kind=kinds.ADJUST, points__gt=0),
        ),
        adjusted_down=Sum("points", filter=Q(kind=kinds.ADJUST, points__lt=0)),
        redeemed=Sum("points", filter=Q(kind=kinds.REDEEM)),
        returned=Sum(
            "points", filter=Q(kind=kinds.REVERSE, source_type="loyalty.redemption")
        ),
        expired=Sum("points", filter=Q(kind=kinds.EXPIRE)),
        reversed=Sum("points", filter=Q(kind=kinds.REVERSE, source_type="crm.refund")),
        outstanding=Sum("points"),
    )
    outstanding = totals["outstanding"] or 0
    liability = None
    if program.points_per_unit > 0:
        liability = quantize(
            Decimal(max(outstanding, 0)) / program.points_per_unit,
            settings.BASE_CURRENCY,
        )
    return ProgramOverview(
        members=sum(per_tier.values()),
        members_per_tier=[
            (tier, per_tier.get(tier.pk if tier else None, 0)) for tier in tiers
        ],
        points_issued=(totals["issued"] or 0) + (totals["adjusted_down"] or 0),
        points_redeemed=-(totals["redeemed"] or 0) - (totals["returned"] or 0),
        points_expired=-(totals["expired"] or 0),
        points_reversed=-(totals["reversed"] or 0),
        points_outstanding=outstanding,
        liability=liability,
        base_currency=settings.BASE_CURRENCY,
    )
