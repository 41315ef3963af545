"""What the customer portal needs beyond the ledger services: the catalog as a member sees it,
one-time form tokens, and self sign-up through a referral link.

Kept apart from the ledger modules (``ledger``, ``rewards``…): everything here composes their
public services and crm's, and adds no way of moving points of its own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from crm.currencies import quantize
from crm.models import Consent, Contact, User
from crm.services import (
    contact_create,
    customer_account_get_or_create,
    sign_in_link_request,
)
from loyalty.models import LoyaltyAccount, Program, Reward, Tier
from loyalty.selectors import AccountSummary
from loyalty.services.accounts import account_get_or_create
from loyalty.services.referrals import normalize_code, referral_register
from loyalty.services.tiers import window_start

# The consents a self sign-up asks for; SMS needs a phone number, which the form does not ask.
JOIN_CONSENTS = (Consent.Purpose.MARKETING_EMAIL, Consent.Purpose.SURVEYS)


def form_token() -> str:
    """A fresh one-time token for a form whose POST must take effect once (double click,
    resubmission): the view turns it into the service's idempotency key."""
    return uuid.uuid4().hex


def idempotency_key(*, scope: str, user: User, token: uuid.UUID | str) -> str:
    """``<scope>:<user>:<token>``: a token only ever replays its own user's request."""
    value = token.hex if isinstance(token, uuid.UUID) else uuid.UUID(str(token)).hex
    return f"{scope}:{user.pk}:{value}"


@dataclass(frozen=True)
class CatalogItem:
    """A reward as one member sees it: whether they can take it now, and if not, why."""

    reward: Reward
    balance: int
    tier_locked: bool

    @property
    def out_of_stock(self) -> bool:
        return self.reward.stock == 0

    @property
    def points_short(self) -> int:
        """Points still missing (0 when the balance covers the cost)."""
        return max(self.reward.cost - max(self.balance, 0), 0)

    @property
    def can_redeem(self) -> bool:
        return not (self.out_of_stock or self.tier_locked or self.points_short)


def reward_catalog(
    *, account: LoyaltyAccount | None, now: dt.datetime
) -> list[CatalogItem]:
    """Every reward on offer now (active, within its dates), cheapest first, including those out
    of stock or above the member's tier, each marked with what stands in the way."""
    rewards: QuerySet[Reward] = (
        Reward.objects.filter(active=True)
        .filter(Q(active_from__isnull=True) | Q(active_from__lte=now))
        .filter(Q(active_until__isnull=True) | Q(active_until__gt=now))
        .select_related("min_tier")
        .order_by("cost", "id")
    )
    tier = account.tier if account else None
    balance = account.balance if account else 0
    items = []
    for reward in rewards:
        locked = reward.min_tier is not None and (
            tier is None or tier.threshold < reward.min_tier.threshold
        )
        items.append(CatalogItem(reward=reward, balance=balance, tier_locked=locked))
    return items


def referrer_for_code(*, code: str) -> LoyaltyAccount | None:
    """The member whose referral code this is (case, spaces and dashes ignored), or None."""
    normalized = normalize_code(code)
    if not normalized:
        return None
    return (
        LoyaltyAccount.objects.select_related("contact")
        .filter(referral_code=normalized)
        .first()
    )


def _email_taken(email: str) -> bool:
    return (
        Contact.objects.filter(email__iexact=email).exists()
        or User.objects.filter(email__iexact=email).exists()
    )


@transaction.atomic
def portal_join(
    *,
    code: str,
    given_name: str,
    family_name: str,
    email: str,
    language: str,
    timezone: str = "",
    consents: dict[str, bool],
    portal_url: str,
    ip_address: str | None = None,
) -> Contact:
    """Self sign-up through a member's referral link: the contact (source referral, consents
    from the portal), the pending referral, the portal account and the loyalty account, then
    a sign-in link by email. All or nothing: a refused referral stores no contact.

    An address that already has a contact or an account is refused with ``code="exists"``
    (the page tells them to sign in instead); the referral guards keep their own reasons.
    """
    email = (email or "").strip().lower()
    if email and _email_taken(email):
        raise ValidationError(
            {
                "email": ValidationError(
                    _(
                        "You are already one of our members. Sign in with this email address instead."
                    ),
                    code="exists",
                )
            }
        )
    fields: dict[str, Any] = {
        "given_name": given_name,
        "family_name": family_name,
        "email": email,
        "language": language,
        "source": Contact.Source.REFERRAL,
    }
    if timezone:
        fields["timezone"] = timezone
    try:
        with transaction.atomic():
            contact = contact_create(
                consents={p: bool(consents.get(p)) for p in JOIN_CONSENTS},
                consent_source=Consent.Source.PORTAL,
                ip_address=ip_address,
                **fields,
            )
    except IntegrityError:
        # The same address signed up a moment ago (the unique constraint saw it).
        raise ValidationError(
            {
                "email": ValidationError(
                    _(
                        "You are already one of our members. Sign in with this email address instead."
                    ),
                    code="exists",
                )
            }
        ) from None
    referral_register(referrer_code=code, referred_contact=contact)
    customer_account_get_or_create(contact=contact)
    account_get_or_create(contact=contact)
    sign_in_link_request(email=email, portal_url=portal_url)  # sends on commit
    return contact


@dataclass(frozen=True)
class TierProgress:
    """The way from the member's tier to the next one, for a <progress> bar and its label."""

    next_tier: Tier
    basis: str
    value: Decimal  # reached above the current tier's threshold
    span: Decimal  # from the current tier's threshold to the next one's
    remaining: Decimal
    deadline: dt.date | None  # the end of a calendar-year window, else None

    @property
    def percent(self) -> int:
        return int(self.value * 100 / self.span) if self.span > 0 else 100

    @property
    def by_points(self) -> bool:
        return self.basis == Program.Basis.POINTS_EARNED

    @property
    def points_remaining(self) -> int:
        return int(self.remaining.to_integral_value(rounding=ROUND_CEILING))

    @property
    def currency(self) -> str:
        return str(settings.BASE_CURRENCY)

    @property
    def spend_remaining(self) -> Decimal:
        return quantize(self.remaining, settings.BASE_CURRENCY)

    # <progress value max> take plain numbers, never localized ones ("1.234,5").
    @property
    def value_attr(self) -> str:
        return f"{self.value:f}"

    @property
    def max_attr(self) -> str:
        return f"{self.span:f}"


def tier_progress(*, summary: AccountSummary, now: dt.datetime) -> TierProgress | None:
    """How far the member is on the way to the next tier; None at the top tier."""
    if summary.next_tier is None or summary.to_next_tier is None:
        return None
    program = Program.load()
    floor = summary.tier.threshold if summary.tier else Decimal(0)
    span = max(summary.next_tier.threshold - floor, Decimal(0))
    value = min(max(summary.qualification_value - floor, Decimal(0)), span)
    deadline = None
    if program.qualification_window == Program.Window.CALENDAR_YEAR:
        start = window_start(program=program, now=now)
        if start is not None:
            deadline = dt.date(start.year, 12, 31)
    return TierProgress(
        next_tier=summary.next_tier,
        basis=summary.qualification_basis,
        value=value,
        span=span,
        remaining=summary.to_next_tier,
        deadline=deadline,
    )
