"""Tiers: the qualification value, upgrades at once, downgrades only after a grace period."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from crm.models import Purchase, Refund, User
from crm.roles import MANAGER_ROLES, role_of
from loyalty.models import LoyaltyAccount, PointsEntry, Program, Tier, TierChange
from loyalty.services.ledger import add_months, emit_contact_event, lock_account

# Points that count towards a tier: those earned on purchases, net of refund reversals.
QUALIFYING_ENTRIES = Q(kind=PointsEntry.Kind.EARN) | Q(
    kind=PointsEntry.Kind.REVERSE, source_type="crm.refund"
)


def window_start(*, program: Program, now: dt.datetime) -> dt.datetime | None:
    """Where the qualification window opens (inclusive); None for a lifetime window.

    A calendar year starts on 1 January, 00:00 in the company's time zone (``TIME_ZONE``);
    a rolling window ``window_months`` calendar months before ``now``.
    """
    if program.qualification_window == Program.Window.CALENDAR_YEAR:
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        return dt.datetime(now.astimezone(zone).year, 1, 1, tzinfo=zone)
    if program.qualification_window == Program.Window.ROLLING:
        return add_months(now, -program.window_months)
    return None


def _windowed(
    qs: QuerySet, field: str, start: dt.datetime | None, now: dt.datetime
) -> QuerySet:
    qs = qs.filter(**{f"{field}__lte": now})
    return qs if start is None else qs.filter(**{f"{field}__gte": start})


def qualification_value(
    *, account: LoyaltyAccount, program: Program, now: dt.datetime
) -> Decimal:
    """Points earned on purchases (net of refund reversals), or base-currency spend net of
    refunds, within the qualification window ending at ``now``."""
    values = qualification_values(program=program, now=now, account_ids=[account.pk])
    return values.get(account.pk, Decimal(0))


def qualification_values(
    *, program: Program, now: dt.datetime, account_ids: Iterable[int] | None = None
) -> dict[int, Decimal]:
    """``qualification_value`` of many accounts at once (two or three grouped queries)."""
    start = window_start(program=program, now=now)
    values: dict[int, Decimal] = {}
    if program.qualification_basis == Program.Basis.POINTS_EARNED:
        entries = _windowed(
            PointsEntry.objects.filter(QUALIFYING_ENTRIES), "created_at", start, now
        )
        if account_ids is not None:
            entries = entries.filter(account_id__in=list(account_ids))
        for account_id, total in (
            entries.order_by()
            .values_list("account_id")
            .annotate(total=Sum("points"))
            .values_list("account_id", "total")
        ):
            values[account_id] = Decimal(total or 0)
        return values
    purchases = _windowed(
        Purchase.objects.filter(contact__loyalty_account__isnull=False),
        "occurred_at",
        start,
        now,
    )
    if account_ids is not None:
        purchases = purchases.filter(contact__loyalty_account__in=list(account_ids))
    refunds = Refund.objects.filter(
        purchase__in=purchases.values("pk"), occurred_at__lte=now
    )
    for account_id, total in (
        purchases.order_by()
        .values_list("contact__loyalty_account")
        .annotate(total=Sum("amount_base"))
        .values_list("contact__loyalty_account", "total")
    ):
        values[account_id] = total or Decimal(0)
    for account_id, total in (
        refunds.order_by()
        .values_list("purchase__contact__loyalty_account")
        .annotate(total=Sum("amount_base"))
        .values_list("purchase__contact__loyalty_account", "total")
    ):
        values[account_id] = values.get(account_id, Decimal(0)) - (total or 0)
    return values


def tier_for_value(value: Decimal, tiers: Sequence[Tier]) -> Tier | None:
    """The highest tier whose threshold ``value`` reaches (``tiers`` ranked lowest first)."""
    reached = [tier for tier in tiers if tier.threshold <= value]
    return reached[-1] if reached else None


def _rank(tier: Tier | None) -> Decimal:
    return Decimal(-1) if tier is None else tier.threshold


def change_tier(
    *,
    account: LoyaltyAccount,
    to_tier: Tier | None,
    reason: str,
    now: dt.datetime,
    actor: User | None = None,
    note: str = "",
) -> TierChange:
    """Move a locked account to ``to_tier``, record why, and tell outreach (upgrades/downgrades)."""
    from_tier = account.tier
    account.tier = to_tier
    account.tier_grace_until = None
    account.save(update_fields=["tier", "tier_grace_until", "updated_at"])
    change = TierChange.objects.create(
        account=account,
        from_tier=from_tier,
        to_tier=to_tier,
        reason=reason,
        note=note[:300],
        actor=actor,
        created_at=now,
    )
    if reason != TierChange.Reason.INITIAL and from_tier != to_tier:
        upward = _rank(to_tier) > _rank(from_tier)
        emit_contact_event(
            contact_id=account.contact_id,
            event="tier_upgraded" if upward else "tier_downgraded",
            data={
                "account_id": account.pk,
                "tier_change_id": change.pk,
                "from_tier_id": from_tier.pk if from_tier else None,
                "from_tier": from_tier.name if from_tier else "",
                "to_tier_id": to_tier.pk if to_tier else None,
                "to_tier": to_tier.name if to_tier else "",
                "reason": reason,
            },
        )
    return change


def upgrade_if_qualified(
    *, account: LoyaltyAccount, program: Program, now: dt.datetime
) -> TierChange | None:
    """Upgrade a locked account at once when its qualification value reaches a higher tier;
    end a running grace period when it qualifies for its tier again. Never downgrades."""
    value = qualification_value(account=account, program=program, now=now)
    target = tier_for_value(value, list(Tier.objects.ranked()))
    if target is not None and _rank(target) > _rank(account.tier):
        return change_tier(
            account=account, to_tier=target, reason=TierChange.Reason.UPGRADE, now=now
        )
    if account.tier_grace_until and account.tier and value >= account.tier.threshold:
        account.tier_grace_until = None
        account.save(update_fields=["tier_grace_until", "updated_at"])
    return None


def tiers_reevaluate(*, now: dt.datetime) -> int:
    """Nightly: upgrade whoever qualifies higher; for whoever falls short of their tier, start a
    grace period of ``downgrade_grace_days`` and downgrade once it has passed and the value is
    still short. Each account in its own locked transaction. Returns the tier changes made."""
    program = Program.load()
    tiers = list(Tier.objects.ranked())
    values = qualification_values(program=program, now=now)
    changes = 0
    accounts = LoyaltyAccount.objects.values_list("pk", "tier_id", "tier_grace_until")
    for account_id, tier_id, grace_until in accounts.iterator(chunk_size=2000):
        target = tier_for_value(values.get(account_id, Decimal(0)), tiers)
        if (target.pk if target else None) != tier_id or grace_until is not None:
            changes += _reevaluate_one(account_id=account_id, program=program, now=now)
    return changes


@transaction.atomic
def _reevaluate_one(*, account_id: int, program: Program, now: dt.datetime) -> int:
    account = lock_account(account_id)
    value = qualification_value(account=account, program=program, now=now)
    target = tier_for_value(value, list(Tier.objects.ranked()))
    if _rank(target) > _rank(account.tier):
        change_tier(
            account=account, to_tier=target, reason=TierChange.Reason.UPGRADE, now=now
        )
        return 1
    if _rank(target) == _rank(account.tier):
        if account.tier_grace_until is not None:
            account.tier_grace_until = None
            account.save(update_fields=["tier_grace_until", "updated_at"])
        return 0
    if account.tier_grace_until is None:
        account.tier_grace_until = now + dt.timedelta(days=program.downgrade_grace_days)
        account.save(update_fields=["tier_grace_until", "updated_at"])
    if now >= account.tier_grace_until:
        change_tier(
            account=account,
            to_tier=target,
            reason=TierChange.Reason.DOWNGRADE,
            now=now,
        )
        return 1
    return 0


@transaction.atomic
def tier_set(
    *,
    account: LoyaltyAccount,
    tier: Tier | None,
    actor: User,
    note: str = "",
    now: dt.datetime | None = None,
) -> LoyaltyAccount:
    """A manager puts a member in a tier by hand. The nightly re-evaluation still applies: a
    member who does not qualify keeps it for the grace period, then moves down."""
    if role_of(actor) not in MANAGER_ROLES:
        raise PermissionDenied
    locked = lock_account(account.pk)
    if locked.tier_id != (tier.pk if tier else None):
        change_tier(
            account=locked,
            to_tier=tier,
            reason=TierChange.Reason.MANUAL,
            now=now or timezone.now(),
            actor=actor,
            note=note,
        )
    return locked
