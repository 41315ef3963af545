"""Every write of the loyalty app. Keyword-only, one transaction each, locking the account row.

All balance changes go through ``ledger.post_entry``; ``ValidationError`` on bad input and its
subclass ``LoyaltyConflict`` when the account's state refuses the request (the API's 409).
Write services take an optional ``now`` (default: the current time) so tests and the demo can
run the ledger on a clock of their own.
"""

from loyalty.services.accounts import (
    BonusKind,
    account_get_or_create,
    birthday_bonus_grant,
    birthday_bonuses_grant_due,
    bonus_grant,
    contact_points_adjust,
    new_key,
    points_adjust,
)
from loyalty.services.earning import (
    points_earn_for_purchase,
    points_reverse_for_refund,
)
from loyalty.services.expiry import points_expire_due, points_warn_expiring
from loyalty.services.ledger import (
    InsufficientPoints,
    LoyaltyConflict,
    RewardUnavailable,
    add_months,
)
from loyalty.services.merge import accounts_merge
from loyalty.services.referrals import (
    referral_complete_for_purchase,
    referral_refuse,
    referral_register,
)
from loyalty.services.rewards import (
    redemption_cancel,
    redemption_mark_used,
    reward_create,
    reward_delete,
    reward_redeem,
    reward_update,
)
from loyalty.services.tiers import (
    qualification_value,
    tier_set,
    tiers_reevaluate,
    window_start,
)
from loyalty.services.verify import LedgerProblem, loyalty_verify

__all__ = [
    "BonusKind",
    "InsufficientPoints",
    "LedgerProblem",
    "LoyaltyConflict",
    "RewardUnavailable",
    "account_get_or_create",
    "accounts_merge",
    "add_months",
    "birthday_bonus_grant",
    "birthday_bonuses_grant_due",
    "bonus_grant",
    "contact_points_adjust",
    "loyalty_verify",
    "new_key",
    "points_adjust",
    "points_earn_for_purchase",
    "points_expire_due",
    "points_reverse_for_refund",
    "points_warn_expiring",
    "qualification_value",
    "redemption_cancel",
    "redemption_mark_used",
    "referral_complete_for_purchase",
    "referral_refuse",
    "referral_register",
    "reward_create",
    "reward_delete",
    "reward_redeem",
    "reward_update",
    "tier_set",
    "tiers_reevaluate",
    "window_start",
]
