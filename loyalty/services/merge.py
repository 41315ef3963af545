"""Merging two contacts' memberships (crm's ``contact_merged`` hook): every point is kept."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.models import (
    LoyaltyAccount,
    PointsEntry,
    Program,
    Redemption,
    Referral,
    TierChange,
)
from loyalty.services.ledger import lock_account, settle_debt
from loyalty.services.tiers import change_tier, upgrade_if_qualified


def _move_referral(*, survivor_id: int, merged_id: int) -> None:
    """A person is referred once: the survivor keeps a completed referral over a pending one."""
    theirs = Referral.objects.filter(referred_contact_id=merged_id).first()
    if theirs is None:
        return
    ours = Referral.objects.filter(referred_contact_id=survivor_id).first()
    if ours is not None:
        keep_theirs = (
            theirs.status == Referral.Status.COMPLETED
            and ours.status != Referral.Status.COMPLETED
        )
        if not keep_theirs:
            theirs.delete()  # any points it paid stay in the ledger, with its id as source
            return
        ours.delete()
    Referral.objects.filter(pk=theirs.pk).update(referred_contact_id=survivor_id)


@transaction.atomic
def accounts_merge(
    *, survivor_id: int, merged_id: int, now: dt.datetime | None = None
) -> LoyaltyAccount | None:
    """Fold the merged contact's account into the survivor's (creating it by moving the account
    when the survivor has none): entries, lots, redemptions, referrals and tier history move,
    the better tier is kept, and the balance is checked against the ledger."""
    now = now or timezone.now()
    _move_referral(survivor_id=survivor_id, merged_id=merged_id)
    merged_pk = (
        LoyaltyAccount.objects.filter(contact_id=merged_id)
        .values_list("pk", flat=True)
        .first()
    )
    if merged_pk is None:
        return LoyaltyAccount.objects.filter(contact_id=survivor_id).first()
    survivor_pk = (
        LoyaltyAccount.objects.filter(contact_id=survivor_id)
        .values_list("pk", flat=True)
        .first()
    )
    if survivor_pk is None:
        LoyaltyAccount.objects.filter(pk=merged_pk).update(contact_id=survivor_id)
        return LoyaltyAccount.objects.get(pk=merged_pk)
    # Lock both in id order, so two merges touching the same accounts cannot deadlock.
    locked = {pk: lock_account(pk) for pk in sorted((survivor_pk, merged_pk))}
    survivor, merged = locked[survivor_pk], locked[merged_pk]
    expected = survivor.balance + merged.balance
    PointsEntry.objects.filter(account=merged).update(account=survivor)
    Redemption.objects.filter(account=merged).update(account=survivor)
    Referral.objects.filter(referrer=merged).update(referrer=survivor)
    TierChange.objects.filter(account=merged).update(account=survivor)
    total = survivor.entries.aggregate(total=Sum("points"))["total"] or 0
    if total != expected:
        raise ValidationError(
            _(
                "The loyalty balances do not match their ledgers; run loyalty_verify before merging."
            )
        )
    # One account may owe points (a refund reversal) while the other has unspent lots.
    settle_debt(account=survivor)
    survivor.balance = total
    survivor.save(update_fields=["balance", "updated_at"])
    merged_tier = merged.tier
    merged_grace = merged.tier_grace_until
    merged.delete()
    if merged_tier is not None and (
        survivor.tier is None or merged_tier.threshold > survivor.tier.threshold
    ):
        change_tier(
            account=survivor,
            to_tier=merged_tier,
            reason=TierChange.Reason.UPGRADE,
            now=now,
            note=_("Kept from a merged duplicate contact."),
        )
        if merged_grace is not None:
            survivor.tier_grace_until = merged_grace
            survivor.save(update_fields=["tier_grace_until", "updated_at"])
    upgrade_if_qualified(account=survivor, program=Program.load(), now=now)
    return survivor
