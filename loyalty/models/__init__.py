"""loyalty models, one module per concern; import them from ``loyalty.models``."""

from loyalty.models.ledger import (
    ExpiryWarning,
    LotUse,
    LoyaltyAccount,
    PointsEntry,
    TierChange,
)
from loyalty.models.program import PROGRAM_ID, Program, Tier
from loyalty.models.rewards import Redemption, Referral, Reward

__all__ = [
    "PROGRAM_ID",
    "ExpiryWarning",
    "LotUse",
    "LoyaltyAccount",
    "PointsEntry",
    "Program",
    "Redemption",
    "Referral",
    "Reward",
    "Tier",
    "TierChange",
]
