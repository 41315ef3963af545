"""What every metric is computed from: the counts and sums of one period."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Filters:
    """Narrow the dashboard to a saved segment, a country (ISO 3166), a language and/or the
    contacts one staff user owns (their book)."""

    segment_id: int | None = None
    country: str = ""
    language: str = ""
    owner_id: int | None = None

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "segment": self.segment_id,
            "country": self.country or None,
            "language": self.language or None,
            "owner": self.owner_id,
        }


@dataclass
class PeriodInputs:
    """The raw numbers behind every metric of one period (names follow DESIGN §5)."""

    customers_start: int = 0  # S
    customers_end: int = 0  # E
    customers_new: int = 0  # N
    customers_lost: int = 0  # customers at start whose churn falls in the period
    orders: int = 0
    revenue: Decimal = Decimal(0)
    purchasers: int = 0
    repeat_purchasers: int = 0
    nps_promoters: int = 0
    nps_passives: int = 0
    nps_detractors: int = 0
    csat_satisfied: int = 0
    csat_answers: int = 0
    ces_sum: int = 0
    ces_answers: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    points_expired: int = 0
    points_outstanding: int = 0
    active_members: int = 0
    outreach_sent: int = 0
    outreach_failed: int = 0
    unsubscribed: int = 0
    tickets: int = 0
    tickets_breached: int = 0
    first_response_median: Decimal | None = None
    first_responses: int = 0
    resolution_median: Decimal | None = None
    resolutions: int = 0
    tiers: list[tuple[int | None, int]] = field(default_factory=list)


def median(values: Sequence[int]) -> Decimal | None:
    """The median to one decimal; None for no values."""
    if not values:
        return None
    return Decimal(str(statistics.median(values))).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
