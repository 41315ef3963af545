"""Loyalty demo data (crm's ``demo_seeders`` hook). Deterministic and idempotent.

Everything goes through the services, so the demo ledger is a real one: points earned on the
demo purchases, members in every tier, a translated rewards catalog, redemptions (one
cancelled), referrals and points about to expire.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from crm.currencies import quantize
from crm.demo import DEMO_USERS
from crm.models import Contact, Purchase, User
from crm.roles import Role
from crm.services import purchase_record
from loyalty.models import (
    LoyaltyAccount,
    PointsEntry,
    Program,
    Redemption,
    Reward,
    Tier,
)
from loyalty.services import (
    BonusKind,
    account_get_or_create,
    add_months,
    bonus_grant,
    points_earn_for_purchase,
    points_expire_due,
    qualification_value,
    redemption_cancel,
    referral_register,
    reward_create,
    reward_redeem,
)
from loyalty.services.earning import earn_key


@dataclass(frozen=True)
class DemoReward:
    name_en: str
    name_ko: str
    description_en: str
    description_ko: str
    cost: int
    stock: int | None = None
    min_tier_rank: int | None = None  # 0 = the entry tier, 1 the next…
    active: bool = True


REWARDS = (
    DemoReward(
        "Free shipping",
        "무료 배송",
        "Free delivery on your next order.",
        "다음 주문 배송비가 무료입니다.",
        200,
    ),
    DemoReward(
        "Americano coupon",
        "아메리카노 쿠폰",
        "One Americano at any partner café.",
        "제휴 카페에서 아메리카노 한 잔을 드립니다.",
        300,
    ),
    DemoReward(
        "₩10,000 discount voucher",
        "₩10,000 할인권",
        "₩10,000 off an order of ₩50,000 or more.",
        "5만 원 이상 주문 시 1만 원을 할인해 드립니다.",
        1000,
        stock=200,
    ),
    DemoReward(
        "Eco tote bag",
        "에코백",
        "Our canvas tote (spring campaign, ended).",
        "캔버스 에코백 (봄 캠페인, 종료).",
        800,
        stock=0,
        active=False,
    ),
    DemoReward(
        "Birthday cake set",
        "생일 케이크 세트",
        "A cake and candles for your celebration.",
        "축하를 위한 케이크와 초 세트.",
        2500,
        stock=20,
        min_tier_rank=2,
    ),
    DemoReward(
        "VIP lounge invitation",
        "VIP 라운지 초대권",
        "An evening in the members' lounge for two.",
        "멤버 전용 라운지 2인 초대권.",
        5000,
        stock=5,
        min_tier_rank=3,
    ),
)
EXPIRING_REASON = {"ko": "봄맞이 이벤트 보너스", "en": "Spring event bonus"}


def _demo_key(prefix: str, *parts: object) -> str:
    scope = ":".join(str(part) for part in ("rapport-demo", prefix, *parts))
    return f"{prefix}:{uuid.uuid5(uuid.NAMESPACE_URL, scope)}"


def _earn_missing(write: Callable[[str], None]) -> None:
    """Purchases recorded before loyalty existed earn now, dated when they were made."""
    earned = set(
        PointsEntry.objects.filter(kind=PointsEntry.Kind.EARN).values_list(
            "key", flat=True
        )
    )
    missing = [
        (pk, at)
        for pk, at in Purchase.objects.order_by("occurred_at", "id").values_list(
            "pk", "occurred_at"
        )
        if earn_key(pk) not in earned
    ]
    for purchase_id, occurred_at in missing:
        points_earn_for_purchase(purchase_id=purchase_id, now=occurred_at)
    if missing:
        write(f"  loyalty: points earned on {len(missing)} earlier purchases")


def _rewards(tiers: list[Tier]) -> list[Reward]:
    rewards = []
    for demo in REWARDS:
        reward = Reward.objects.filter(name_en=demo.name_en).first()
        if reward is None:
            min_tier = None
            if demo.min_tier_rank is not None and demo.min_tier_rank < len(tiers):
                min_tier = tiers[demo.min_tier_rank]
            reward = reward_create(
                name_en=demo.name_en,
                name_ko=demo.name_ko,
                description_en=demo.description_en,
                description_ko=demo.description_ko,
                cost=demo.cost,
                stock=demo.stock,
                min_tier=min_tier,
                active=demo.active,
            )
        rewards.append(reward)
    return rewards


def _reach(
    contact: Contact, tier: Tier, program: Program, now: dt.datetime, n: int
) -> None:
    """Record a purchase big enough to take ``contact`` into ``tier`` (a real earn and upgrade)."""
    account, _created = account_get_or_create(contact=contact)
    short = tier.threshold - qualification_value(
        account=account, program=program, now=now
    )
    if short <= 0:
        return
    if program.qualification_basis == Program.Basis.POINTS_EARNED:
        short = short / program.points_per_unit
    base = settings.BASE_CURRENCY
    amount = quantize(Decimal(math.ceil(short * Decimal("1.1"))), base)
    purchase_record(
        contact=contact,
        amount=amount,
        currency=base,
        occurred_at=now - dt.timedelta(days=10 + n),
        external_id=f"demo:loyalty:{contact.email}:{n}",
    )


def _portal_contact() -> Contact | None:
    email = next(u.email for u in DEMO_USERS if u.role == Role.CUSTOMER)
    return Contact.objects.filter(user__email__iexact=email).first()


def seed_loyalty(*, write: Callable[[str], None] = print) -> None:
    """Members in every tier, a catalog, redemptions, referrals and points expiring soon."""
    now = timezone.now()
    program = Program.load()
    tiers = list(Tier.objects.ranked())
    _earn_missing(write)
    rewards = _rewards(tiers)
    if not tiers or program.points_per_unit <= 0:
        write("  loyalty: no tiers or no earn rate configured; catalog only")
        return
    portal = _portal_contact()
    # Referred people buy during the seeding; leaving them out keeps the choice stable.
    buyers = Contact.objects.filter(
        purchases__isnull=False, loyalty_referral__isnull=True
    )
    if portal is not None:
        buyers = buyers.exclude(pk=portal.pk)
    members = list(buyers.distinct().order_by("email")[:8])
    # Two members per tier above the entry tier, the portal customer in the second-highest.
    plan = [
        (contact, tiers[1 + i // 2])
        for i, contact in enumerate(members)
        if 1 + i // 2 < len(tiers)
    ]
    if portal is not None and len(tiers) > 2:
        plan.append((portal, tiers[-2]))
    for n, (contact, tier) in enumerate(plan):
        _reach(contact, tier, program, now, n)

    manager = User.objects.filter(
        email__iexact=next(u.email for u in DEMO_USERS if u.role == Role.MANAGER)
    ).first()
    by_name = {
        demo.name_en: reward for demo, reward in zip(REWARDS, rewards, strict=True)
    }
    redeemed = 0
    for n, (contact, _tier) in enumerate(plan):
        account = LoyaltyAccount.objects.get(contact=contact)
        for name in ("Americano coupon", "Free shipping")[: 1 + n % 2]:
            reward = by_name[name]
            key = _demo_key("redemption", contact.email, name)
            if PointsEntry.objects.filter(key=key).exists():
                continue
            account.refresh_from_db()
            if account.balance >= reward.cost:
                reward_redeem(account=account, reward=reward, key=key, now=now)
                redeemed += 1
    first = Redemption.objects.filter(status=Redemption.Status.ISSUED).order_by("id")
    if (
        manager is not None
        and redeemed
        and not Redemption.objects.filter(status=Redemption.Status.CANCELLED).exists()
        and (cancel := first.first()) is not None
    ):
        redemption_cancel(redemption=cancel, actor=manager)
    referred = _referrals(portal, now) if portal is not None else 0
    # Last, so no redemption above spends them: lots burn nearest-expiry-first.
    expiring_at = now + dt.timedelta(days=min(20, program.expiry_warning_days))
    for contact, _tier in plan:
        account, _created = account_get_or_create(contact=contact)
        if program.expiry_months:
            # A lot credited so long ago that it expires inside the warning window.
            bonus_grant(
                account=account,
                kind=BonusKind.OTHER,
                points=150,
                key=_demo_key("bonus", account.pk, "expiring"),
                reason=EXPIRING_REASON.get(contact.language, EXPIRING_REASON["en"]),
                now=add_months(expiring_at, -program.expiry_months),
            )
    expired = points_expire_due(now=now)
    write(
        f"  loyalty: {len(rewards)} rewards, {len(plan)} members placed in tiers, "
        f"{redeemed} redemptions, {referred} referrals, {expired} lots expired"
    )


def _referrals(portal: Contact, now: dt.datetime) -> int:
    """The portal customer referred three new people; two of them have bought since."""
    referrer, _created = account_get_or_create(contact=portal)
    if referrer.referrals_made.exists():
        return 0
    leads = list(
        Contact.objects.filter(
            lifecycle_stage=Contact.LifecycleStage.LEAD,
            purchases__isnull=True,
            loyalty_referral__isnull=True,
        )
        .exclude(Q(email="") | Q(pk=portal.pk))
        .order_by("email")[:3]
    )
    for n, lead in enumerate(leads):
        referral_register(
            referrer_code=referrer.referral_code,
            referred_contact=lead,
            now=now - dt.timedelta(days=20 - n),
        )
        if n < 2:
            purchase_record(
                contact=lead,
                amount=quantize(Decimal(40 + 10 * n), settings.BASE_CURRENCY),
                currency=settings.BASE_CURRENCY,
                occurred_at=now - dt.timedelta(days=5 - n),
                external_id=f"demo:loyalty:referral:{lead.email}",
            )
    return len(leads)
