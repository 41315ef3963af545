"""Redeeming rewards: every refusal with its reason and no entry; vouchers; cancel and use."""

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from loyalty.models import PointsEntry, Redemption
from loyalty.services import (
    InsufficientPoints,
    LoyaltyConflict,
    RewardUnavailable,
    loyalty_verify,
    redemption_cancel,
    redemption_mark_used,
    reward_delete,
    reward_redeem,
    tier_set,
)
from tests.loyalty.conftest import NOW
from tests.loyalty.factories import RewardFactory, key, member

pytestmark = pytest.mark.django_db


def entries() -> int:
    return PointsEntry.objects.count()


def test_a_redemption_spends_the_cost_and_issues_a_readable_voucher(agent):
    account = member(100)
    reward = RewardFactory(cost=30, stock=5)
    redemption = reward_redeem(account=account, reward=reward, actor=agent, key=key())
    account.refresh_from_db()
    reward.refresh_from_db()
    assert account.balance == 70
    assert reward.stock == 4
    assert re.fullmatch(
        r"RPT-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", redemption.voucher_code
    )
    assert (redemption.status, redemption.points, redemption.created_by) == (
        "issued",
        30,
        agent,
    )
    entry = redemption.entry
    assert (entry.kind, entry.points, entry.balance_after) == ("redeem", -30, 70)
    assert entry.source_id == str(redemption.public_id)


def test_the_same_key_returns_the_first_redemption():
    account = member(100)
    reward = RewardFactory(cost=30)
    first = reward_redeem(account=account, reward=reward, key="redemption:r1")
    again = reward_redeem(account=account, reward=reward, key="redemption:r1")
    account.refresh_from_db()
    assert again.pk == first.pk
    assert account.balance == 70


def test_not_enough_points_is_refused_with_the_numbers_and_no_entry():
    account = member(29)
    before = entries()
    with translation.override("en"), pytest.raises(InsufficientPoints) as error:
        reward_redeem(account=account, reward=RewardFactory(cost=30), key=key())
    assert error.value.messages == [
        "Not enough points: this reward costs 30 points and the balance is 29."
    ]
    assert entries() == before


def test_exactly_enough_points_is_enough():
    account = member(30)
    reward_redeem(account=account, reward=RewardFactory(cost=30), key=key())
    account.refresh_from_db()
    assert account.balance == 0


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"active": False}, "reward_inactive"),
        ({"active_from": NOW + dt.timedelta(hours=1)}, "reward_inactive"),
        ({"active_until": NOW}, "reward_inactive"),
        ({"stock": 0}, "out_of_stock"),
    ],
)
def test_an_unavailable_reward_is_refused_without_an_entry(fields, code):
    account = member(100)
    reward = RewardFactory(cost=10, **fields)
    before = entries()
    with pytest.raises(RewardUnavailable) as error:
        reward_redeem(account=account, reward=reward, key=key(), now=NOW)
    assert error.value.code == code
    assert entries() == before


def test_a_reward_within_its_dates_is_available():
    account = member(100)
    reward = RewardFactory(
        cost=10,
        active_from=NOW - dt.timedelta(days=1),
        active_until=NOW + dt.timedelta(seconds=1),
    )
    reward_redeem(account=account, reward=reward, key=key(), now=NOW)


def test_a_reward_above_the_members_tier_is_refused_until_they_reach_it(tiers, manager):
    account = member(100)
    reward = RewardFactory(cost=10, min_tier=tiers["Gold"])
    with translation.override("en"), pytest.raises(RewardUnavailable) as error:
        reward_redeem(account=account, reward=reward, key=key())
    assert error.value.messages == ["This reward is for Gold members and above."]
    tier_set(account=account, tier=tiers["VIP"], actor=manager)
    reward_redeem(account=account, reward=reward, key=key())


def test_the_last_unit_of_stock_goes_once():
    reward = RewardFactory(cost=10, stock=1)
    reward_redeem(account=member(10), reward=reward, key=key())
    with pytest.raises(RewardUnavailable):
        reward_redeem(account=member(10), reward=reward, key=key())


def test_a_manager_cancels_and_points_and_stock_come_back(manager):
    account = member(100)
    reward = RewardFactory(cost=40, stock=3)
    redemption = reward_redeem(account=account, reward=reward, key=key())
    cancelled = redemption_cancel(redemption=redemption, actor=manager, now=NOW)
    account.refresh_from_db()
    reward.refresh_from_db()
    assert account.balance == 100
    assert reward.stock == 3
    assert (cancelled.status, cancelled.cancelled_by, cancelled.cancelled_at) == (
        "cancelled",
        manager,
        NOW,
    )
    back = PointsEntry.objects.get(key=f"redemption:{redemption.public_id}:cancel")
    assert (back.kind, back.points, back.remaining) == ("reverse", 40, 40)
    assert loyalty_verify() == []


def test_a_cancelled_redemption_cannot_be_cancelled_twice(manager):
    redemption = reward_redeem(
        account=member(10), reward=RewardFactory(cost=10), key=key()
    )
    redemption_cancel(redemption=redemption, actor=manager)
    with pytest.raises(LoyaltyConflict) as error:
        redemption_cancel(redemption=redemption, actor=manager)
    assert error.value.code == "already_cancelled"
    assert redemption.account.entries.filter(kind="reverse").count() == 1


def test_only_managers_cancel(agent):
    redemption = reward_redeem(
        account=member(10), reward=RewardFactory(cost=10), key=key()
    )
    with pytest.raises(PermissionDenied):
        redemption_cancel(redemption=redemption, actor=agent)


def test_a_used_voucher_cannot_be_cancelled_or_used_again(agent, manager):
    redemption = reward_redeem(
        account=member(10), reward=RewardFactory(cost=10), key=key()
    )
    used = redemption_mark_used(redemption=redemption, actor=agent)
    assert used.status == Redemption.Status.USED
    with pytest.raises(LoyaltyConflict):
        redemption_mark_used(redemption=redemption, actor=agent)
    with pytest.raises(LoyaltyConflict):
        redemption_cancel(redemption=redemption, actor=manager)


def test_a_redeemed_reward_can_be_deactivated_but_not_deleted():
    reward = RewardFactory(cost=10)
    reward_redeem(account=member(10), reward=reward, key=key())
    with pytest.raises(LoyaltyConflict):
        reward_delete(reward=reward)
    unused = RewardFactory()
    reward_delete(reward=unused)
