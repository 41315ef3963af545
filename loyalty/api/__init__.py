"""Loyalty over the REST API: member summaries and history, rewards, redemptions, adjustments.

Staff only (customers get 403). Redemptions and adjustments honour ``Idempotency-Key``
(crm.idempotency); a request the member's state refuses (not enough points, a reward out of
stock or inactive, a voucher already cancelled) is answered 409 with the reason.
"""

from loyalty.api.accounts import AdjustmentViewSet, LoyaltyAccountViewSet
from loyalty.api.rewards import RedemptionViewSet, RewardViewSet

__all__ = [
    "AdjustmentViewSet",
    "LoyaltyAccountViewSet",
    "RedemptionViewSet",
    "RewardViewSet",
]
