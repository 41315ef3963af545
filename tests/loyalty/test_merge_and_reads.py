"""Merging members keeps every point; summaries, history, overview and the contact timeline."""

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as global_apps

from crm.services import contact_merge, purchase_refund
from crm.timeline import TIMELINE_KINDS, contact_timeline
from loyalty.models import LoyaltyAccount, Program, Redemption, Referral, Tier
from loyalty.selectors import (
    account_summary,
    program_overview,
    rewards_available,
)
from loyalty.services import (
    loyalty_verify,
    points_expire_due,
    redemption_cancel,
    referral_register,
    reward_redeem,
    tier_set,
)
from tests.crm.factories import ContactFactory
from tests.loyalty.conftest import NOW
from tests.loyalty.factories import RewardFactory, buy, key, member

pytestmark = pytest.mark.django_db


# --- merge ----------------------------------------------------------------------------------


def test_merging_two_members_keeps_every_point_lot_and_redemption(manager, tiers):
    survivor, merged = member(120), member(300)
    reward = RewardFactory(cost=50)
    redemption = reward_redeem(account=merged, reward=reward, key=key())
    friend = ContactFactory()
    referral = referral_register(
        referrer_code=merged.referral_code, referred_contact=friend
    )
    tier_set(account=merged, tier=tiers["Gold"], actor=manager)
    contact_merge(survivor=survivor.contact, merged=merged.contact, actor=manager)

    assert not LoyaltyAccount.objects.filter(pk=merged.pk).exists()
    survivor.refresh_from_db()
    assert survivor.balance == 120 + 300 - 50
    assert survivor.entries.count() == 3
    assert survivor.tier == tiers["Gold"]  # the better tier is kept
    assert Redemption.objects.get(pk=redemption.pk).account_id == survivor.pk
    assert Referral.objects.get(pk=referral.pk).referrer_id == survivor.pk
    assert survivor.tier_changes.filter(reason="manual").exists()  # history moved too
    assert loyalty_verify() == []
    redemption_cancel(
        redemption=redemption, actor=manager
    )  # still works after the move


def test_a_survivor_without_an_account_takes_the_merged_one(manager):
    survivor = ContactFactory()
    merged = member(80)
    contact_merge(survivor=survivor, merged=merged.contact, actor=manager)
    account = LoyaltyAccount.objects.get(contact=survivor)
    assert (account.pk, account.balance) == (merged.pk, 80)


def test_a_debt_on_one_side_is_paid_from_the_other_sides_lots(manager):
    debtor = ContactFactory()
    purchase = buy(debtor, "100")
    reward_redeem(
        account=LoyaltyAccount.objects.get(contact=debtor),
        reward=RewardFactory(cost=100),
        key=key(),
    )
    purchase_refund(purchase=purchase, amount="100")  # -100
    other = member(250)
    contact_merge(survivor=debtor, merged=other.contact, actor=manager)
    account = LoyaltyAccount.objects.get(contact=debtor)
    assert account.balance == 150
    assert sum(e.remaining for e in account.entries.filter(points__gt=0)) == 150
    assert loyalty_verify() == []


def test_purchases_moved_by_a_merge_are_refunded_from_the_survivors_account(manager):
    survivor, merged = ContactFactory(), ContactFactory()
    purchase = buy(merged, "40")
    contact_merge(survivor=survivor, merged=merged, actor=manager)
    purchase_refund(purchase=purchase, amount="40")
    assert LoyaltyAccount.objects.get(contact=survivor).balance == 0


# --- summary and overview -------------------------------------------------------------------


def test_the_summary_shows_the_way_to_the_next_tier_and_what_expires_soon(clock):
    contact = ContactFactory()
    buy(contact, "400", at=clock.now)
    clock.advance(days=340)  # the lot expires in about 25 days
    buy(contact, "100", at=clock.now)
    summary = account_summary(contact=contact, now=clock.now)
    assert (summary.balance, summary.tier.name, summary.next_tier.name) == (
        500,
        "Member",
        "Silver",
    )
    assert summary.points_to_next_tier == 500
    assert summary.spend_to_next_tier is None
    assert summary.expiring_points == 400
    assert summary.expiring_at == dt.datetime(2027, 6, 15, 12, tzinfo=dt.UTC)


def test_a_contact_who_is_not_a_member_stands_at_zero_in_the_entry_tier():
    summary = account_summary(contact=ContactFactory(), now=NOW)
    assert (summary.is_member, summary.balance, summary.tier.name) == (
        False,
        0,
        "Member",
    )
    assert summary.points_to_next_tier == 1000


def test_the_top_tier_has_no_next_tier(manager, tiers):
    account = member()
    tier_set(account=account, tier=tiers["VIP"], actor=manager)
    summary = account_summary(contact=account.contact, now=NOW)
    assert (summary.next_tier, summary.points_to_next_tier) == (None, None)


def test_spend_to_the_next_tier_is_money_in_the_base_currency(program):
    program.qualification_basis = Program.Basis.SPEND
    program.save()
    contact = ContactFactory()
    now = dt.datetime.now(dt.UTC)
    buy(contact, "250.50", at=now - dt.timedelta(days=1))
    summary = account_summary(contact=contact, now=now)
    assert summary.spend_to_next_tier == Decimal("749.50")
    assert summary.points_to_next_tier is None


def test_rewards_available_respect_the_tier_dates_and_stock(tiers):
    account = member(10)
    open_ = RewardFactory(cost=500)
    RewardFactory(cost=5, min_tier=tiers["Gold"])
    RewardFactory(cost=5, stock=0)
    RewardFactory(cost=5, active=False)
    assert list(rewards_available(account=account, now=NOW)) == [open_]


def test_the_overview_counts_members_per_tier_and_the_points_economy(manager, clock):
    first, second = ContactFactory(), ContactFactory()
    buy(first, "1200", at=clock.now)  # Silver
    buy(second, "300", at=clock.now)
    account = LoyaltyAccount.objects.get(contact=second)
    redemption = reward_redeem(
        account=account, reward=RewardFactory(cost=100), key=key()
    )
    reward_redeem(account=account, reward=RewardFactory(cost=50), key=key())
    redemption_cancel(redemption=redemption, actor=manager)
    points_expire_due(now=clock.now + dt.timedelta(days=400))
    overview = program_overview()
    per_tier = {tier.name if tier else None: n for tier, n in overview.members_per_tier}
    assert per_tier == {"Member": 1, "Silver": 1, "Gold": 0, "VIP": 0}
    assert (overview.points_issued, overview.points_redeemed) == (1500, 50)
    assert overview.points_expired == 1450
    assert (overview.points_outstanding, overview.liability) == (0, Decimal("0.00"))


def test_liability_is_outstanding_points_at_the_earn_rate(program):
    program.points_per_unit = Decimal(10)
    program.save()
    member(1005)
    overview = program_overview()
    assert (overview.points_outstanding, overview.liability) == (
        1005,
        Decimal("100.50"),
    )


# --- timeline -------------------------------------------------------------------------------


def test_points_redemptions_and_tier_changes_appear_on_the_contact_timeline(clock):
    contact = ContactFactory()
    buy(contact, "1000", at=clock.now - dt.timedelta(minutes=5))
    reward_redeem(
        account=LoyaltyAccount.objects.get(contact=contact),
        reward=RewardFactory(cost=10, name_en="Coffee"),
        key=key(),
    )
    kinds = [e.kind for e in contact_timeline(contact_id=contact.pk)]
    assert sorted(set(kinds)) == ["points", "purchase", "redemption", "tier"]
    assert {"points", "redemption", "tier"} <= set(TIMELINE_KINDS)
    [redeemed] = contact_timeline(contact_id=contact.pk, kinds={"redemption"})
    assert redeemed.title == "Redeemed Coffee"
    points = contact_timeline(contact_id=contact.pk, kinds={"points"})
    assert [e.data["points"] for e in points] == [-10, 1000]
    assert points[1].title == f"+1000 points: Purchase #{contact.purchases.get().pk}"


# --- the default tiers ----------------------------------------------------------------------


def test_the_data_migration_creates_the_programme_and_four_tiers_in_english_and_korean():
    migration = importlib.import_module(
        "loyalty.migrations.0002_default_programme_and_tiers"
    )
    LoyaltyAccount.objects.all().delete()
    Tier.objects.all().delete()
    migration.create_defaults(global_apps, None)
    names = list(Tier.objects.ranked().values_list("name_en", "name_ko"))
    assert names == [
        ("Member", "멤버"),
        ("Silver", "실버"),
        ("Gold", "골드"),
        ("VIP", "VIP"),
    ]
    assert Program.load().name_ko == "라포 리워즈"
    assert Tier.objects.get(name_en="Gold").benefits_ko
