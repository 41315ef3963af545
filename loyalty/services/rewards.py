"""The rewards catalog and redemptions: spend points for a voucher, use it, or cancel it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from crm.roles import MANAGER_ROLES, role_of
from loyalty.models import LoyaltyAccount, PointsEntry, Program, Redemption, Reward
from loyalty.services.ledger import (
    InsufficientPoints,
    LoyaltyConflict,
    RewardUnavailable,
    lock_account,
    post_entry,
    random_code,
)

REWARD_FIELDS = {
    "cost",
    "stock",
    "min_tier",
    "active",
    "active_from",
    "active_until",
    "image_url",
}


def voucher_code() -> str:
    """``RPT-7K3Q-9XMD``: 8 random characters of an unambiguous alphabet (about 40 bits)."""
    code = random_code(8)
    return f"RPT-{code[:4]}-{code[4:]}"


def _is_translated(name: str) -> bool:
    return name.startswith(("name", "description"))


@transaction.atomic
def reward_create(**fields: Any) -> Reward:
    """Add a reward to the catalog (name and description per language: ``name_en``, ``name_ko``…)."""
    unknown = {k for k in fields if k not in REWARD_FIELDS and not _is_translated(k)}
    if unknown:
        raise TypeError(f"Unknown reward fields: {sorted(unknown)}")
    reward = Reward(**fields)
    reward.full_clean()
    reward.save()
    return reward


@transaction.atomic
def reward_update(*, reward: Reward, **fields: Any) -> Reward:
    """Change a reward; its redemptions keep the points they cost."""
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    for name, value in fields.items():
        if name not in REWARD_FIELDS and not _is_translated(name):
            raise TypeError(f"Unknown reward field: {name}")
        setattr(reward, name, value)
    reward.full_clean()
    reward.save()
    return reward


@transaction.atomic
def reward_delete(*, reward: Reward) -> None:
    """Remove a reward nobody redeemed; one with redemptions can only be deactivated."""
    try:
        reward.delete()
    except ProtectedError:
        raise LoyaltyConflict(
            _(
                "This reward has been redeemed, so it stays in the records. Deactivate it instead."
            ),
            code="reward_in_use",
        ) from None


@transaction.atomic
def reward_redeem(
    *,
    account: LoyaltyAccount,
    reward: Reward,
    key: str,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> Redemption:
    """Spend a reward's cost for a voucher, once per key.

    Refused (``LoyaltyConflict``) when the reward is inactive or outside its dates, out of
    stock, above the member's tier, or costs more than the balance (any cost when the balance
    is negative). The account and then the reward row are locked, so neither the balance nor
    the stock can be spent twice.
    """
    now = now or timezone.now()
    account = lock_account(account.pk)
    if existing := PointsEntry.objects.filter(key=key).first():
        try:
            return Redemption.objects.get(entry=existing)
        except Redemption.DoesNotExist:
            raise ValidationError(
                {"key": _("This key was already used for another kind of entry.")}
            ) from None
    reward = (
        Reward.objects.select_for_update(of=("self",))
        .select_related("min_tier")
        .get(pk=reward.pk)
    )
    if (
        not reward.active
        or (reward.active_from is not None and reward.active_from > now)
        or (reward.active_until is not None and reward.active_until <= now)
    ):
        raise RewardUnavailable(
            _("This reward is not available at the moment."), code="reward_inactive"
        )
    if reward.min_tier is not None and (
        account.tier is None or account.tier.threshold < reward.min_tier.threshold
    ):
        raise RewardUnavailable(
            _("This reward is for %(tier)s members and above."),
            code="tier_too_low",
            params={"tier": reward.min_tier.name},
        )
    if reward.stock == 0:
        raise RewardUnavailable(_("This reward is out of stock."), code="out_of_stock")
    if account.balance < reward.cost:
        raise InsufficientPoints(
            _(
                "Not enough points: this reward costs %(cost)d points and the balance is %(balance)d."
            ),
            code="insufficient_points",
            params={"cost": reward.cost, "balance": account.balance},
        )
    public_id = uuid.uuid4()
    entry, created = post_entry(
        account=account,
        kind=PointsEntry.Kind.REDEEM,
        points=-reward.cost,
        key=key,
        now=now,
        program=Program.load(),
        source_type="loyalty.redemption",
        source_id=str(public_id),
        actor=actor,
    )
    if not created:  # a concurrent call with this key won the unique constraint
        return Redemption.objects.get(entry=entry)
    if reward.stock is not None:
        reward.stock -= 1
        reward.save(update_fields=["stock", "updated_at"])
    for _attempt in range(10):
        try:
            with transaction.atomic():
                return Redemption.objects.create(
                    public_id=public_id,
                    account=account,
                    reward=reward,
                    entry=entry,
                    points=reward.cost,
                    voucher_code=voucher_code(),
                    created_by=actor,
                    created_at=now,
                )
        except IntegrityError:
            continue  # the voucher code was taken: draw another
    raise RuntimeError("No free voucher code after 10 attempts.")


def _locked_redemption(
    redemption: Redemption,
) -> tuple[Redemption, LoyaltyAccount]:
    account_id = Redemption.objects.values_list("account_id", flat=True).get(
        pk=redemption.pk
    )
    # Every path that changes a redemption locks its account first, then the redemption.
    account = lock_account(account_id)
    locked = (
        Redemption.objects.select_for_update(of=("self",))
        .select_related("reward")
        .get(pk=redemption.pk)
    )
    return locked, account


@transaction.atomic
def redemption_cancel(
    *, redemption: Redemption, actor: User, now: dt.datetime | None = None
) -> Redemption:
    """A manager cancels an issued voucher: the points come back as a new lot (kind reverse)
    and the reward's stock is restored. A used or cancelled voucher cannot be cancelled."""
    if role_of(actor) not in MANAGER_ROLES:
        raise PermissionDenied
    now = now or timezone.now()
    redemption, account = _locked_redemption(redemption)
    if redemption.status == Redemption.Status.CANCELLED:
        raise LoyaltyConflict(
            _("This redemption has already been cancelled."), code="already_cancelled"
        )
    if redemption.status == Redemption.Status.USED:
        raise LoyaltyConflict(
            _("This voucher has been used, so it can no longer be cancelled."),
            code="already_used",
        )
    post_entry(
        account=account,
        kind=PointsEntry.Kind.REVERSE,
        points=redemption.points,
        key=f"redemption:{redemption.public_id}:cancel",
        now=now,
        program=Program.load(),
        source_type="loyalty.redemption",
        source_id=str(redemption.public_id),
        actor=actor,
    )
    reward = Reward.objects.select_for_update().get(pk=redemption.reward_id)
    if reward.stock is not None:
        reward.stock += 1
        reward.save(update_fields=["stock", "updated_at"])
    redemption.status = Redemption.Status.CANCELLED
    redemption.cancelled_at = now
    redemption.cancelled_by = actor
    redemption.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    return redemption


@transaction.atomic
def redemption_mark_used(
    *, redemption: Redemption, actor: User, now: dt.datetime | None = None
) -> Redemption:
    """Staff mark an issued voucher as used (handed over at the counter); only once."""
    redemption, _account = _locked_redemption(redemption)
    if redemption.status != Redemption.Status.ISSUED:
        raise LoyaltyConflict(
            _("Only an issued voucher can be marked as used."), code="not_issued"
        )
    redemption.status = Redemption.Status.USED
    redemption.used_at = now or timezone.now()
    redemption.save(update_fields=["status", "used_at"])
    return redemption
