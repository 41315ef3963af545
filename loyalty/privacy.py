"""loyalty's personal-data sources for crm's export and erasure (``crm.privacy``).

The ledger is money-like: entries, lots, redemptions and referrals stay as anonymous figures
(the balance still equals the sum of the entries, ``loyalty_verify`` stays clean); erasure only
blanks the free text staff wrote on them.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.privacy import PersonalDataSource, Row, register, rows
from loyalty.models import (
    ExpiryWarning,
    LotUse,
    LoyaltyAccount,
    PointsEntry,
    Redemption,
    Referral,
    TierChange,
)


def account_export(contact_id: int) -> list[Row]:
    account = rows(
        LoyaltyAccount.objects.filter(contact_id=contact_id),
        ("balance", "tier__name", "tier_grace_until", "referral_code", "created_at"),
    )
    tiers = rows(
        TierChange.objects.filter(account__contact_id=contact_id),
        ("from_tier__name", "to_tier__name", "reason", "note", "created_at"),
    )
    return [{"type": "account", **a} for a in account] + [
        {"type": "tier_change", **t} for t in tiers
    ]


def account_erase(contact_id: int) -> int:
    return TierChange.objects.filter(account__contact_id=contact_id).update(note="")


def account_count(contact_id: int) -> int:
    return (
        LoyaltyAccount.objects.filter(contact_id=contact_id).count()
        + TierChange.objects.filter(account__contact_id=contact_id).count()
    )


def points_export(contact_id: int) -> list[Row]:
    return rows(
        PointsEntry.objects.filter(account__contact_id=contact_id),
        (
            "kind",
            "points",
            "balance_after",
            "source_type",
            "source_id",
            "reason",
            "created_at",
            "expires_at",
            "remaining",
        ),
    )


def points_erase(contact_id: int) -> int:
    """Entries keep their figures; a manager's written reason may name the person: blanked."""
    return (
        PointsEntry.objects.filter(account__contact_id=contact_id)
        .exclude(reason="")
        .update(reason="")
    )


def redemptions_export(contact_id: int) -> list[Row]:
    return rows(
        Redemption.objects.filter(account__contact_id=contact_id),
        (
            "reward__name",
            "points",
            "voucher_code",
            "status",
            "created_at",
            "used_at",
            "cancelled_at",
        ),
    )


def redemptions_erase(contact_id: int) -> int:
    """Vouchers hold no words about the person; they stay for stock and points figures."""
    return 0


def _referrals(contact_id: int) -> Q:
    return Q(referrer__contact_id=contact_id) | Q(referred_contact_id=contact_id)


def referrals_export(contact_id: int) -> list[Row]:
    found = rows(
        Referral.objects.filter(_referrals(contact_id)),
        ("referrer__contact_id", "referred_contact_id", "code", "status", "note"),
    )
    for row in found:
        # Only which side this person was: the other person's id is not theirs to see.
        row["role"] = (
            "referrer" if row.pop("referrer__contact_id") == contact_id else "referred"
        )
        row.pop("referred_contact_id")
    return found


def referrals_erase(contact_id: int) -> int:
    return Referral.objects.filter(_referrals(contact_id)).update(note="")


def register_sources() -> None:
    register(
        PersonalDataSource(
            name="loyalty.account",
            label=_("Loyalty membership and tier history"),
            models=(LoyaltyAccount, TierChange),
            export=account_export,
            erase=account_erase,
            count=account_count,
        )
    )
    register(
        PersonalDataSource(
            name="loyalty.points",
            label=_("Points ledger"),
            models=(PointsEntry, LotUse, ExpiryWarning),
            export=points_export,
            erase=points_erase,
            count=lambda cid: PointsEntry.objects.filter(
                account__contact_id=cid
            ).count(),
        )
    )
    register(
        PersonalDataSource(
            name="loyalty.redemptions",
            label=_("Redemptions and vouchers"),
            models=(Redemption,),
            export=redemptions_export,
            erase=redemptions_erase,
            count=lambda cid: Redemption.objects.filter(
                account__contact_id=cid
            ).count(),
        )
    )
    register(
        PersonalDataSource(
            name="loyalty.referrals",
            label=_("Referrals"),
            models=(Referral,),
            export=referrals_export,
            erase=referrals_erase,
            count=lambda cid: Referral.objects.filter(_referrals(cid)).count(),
        )
    )
