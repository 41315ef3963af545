"""Tiers: exact thresholds, window edges, upgrades at once, downgrades only after the grace period."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from crm.services import purchase_refund
from loyalty.models import LoyaltyAccount, Program, TierChange
from loyalty.services import add_months, tier_set, tiers_reevaluate
from tests.crm.factories import ContactFactory
from tests.loyalty.conftest import NOW
from tests.loyalty.factories import buy, member

pytestmark = pytest.mark.django_db


def tier_of(contact) -> str:
    return LoyaltyAccount.objects.select_related("tier").get(contact=contact).tier.name


def test_a_new_member_starts_in_the_entry_tier_with_an_initial_record():
    account = member()
    assert account.tier.name == "Member"
    change = TierChange.objects.get(account=account)
    assert (change.reason, change.from_tier, change.to_tier.name) == (
        "initial",
        None,
        "Member",
    )


def test_reaching_the_threshold_exactly_upgrades_at_once(clock, events):
    contact = ContactFactory()
    buy(contact, "1000", at=clock.now)
    assert tier_of(contact) == "Silver"
    change = TierChange.objects.get(reason="upgrade")
    assert (change.from_tier.name, change.to_tier.name) == ("Member", "Silver")
    assert [(e[0], e[1], e[2]["to_tier"]) for e in events] == [
        (contact.pk, "tier_upgraded", "Silver")
    ]


def test_one_point_below_the_threshold_does_not_upgrade(clock, events):
    contact = ContactFactory()
    buy(contact, "999", at=clock.now)
    assert tier_of(contact) == "Member"
    assert events == []


def test_a_big_purchase_jumps_straight_to_the_tier_it_reaches(clock):
    contact = ContactFactory()
    buy(contact, "3000", at=clock.now)
    assert tier_of(contact) == "Gold"
    assert TierChange.objects.filter(reason="upgrade").count() == 1


def test_bonus_points_do_not_count_towards_tiers():
    account = member(5000)
    assert account.tier.name == "Member"


def test_the_rolling_window_includes_its_first_moment(clock):
    contact = ContactFactory()
    start = clock.now
    buy(contact, "600", at=start)
    clock.now = add_months(start, 12)  # the window opens exactly at `start`
    buy(contact, "400", at=clock.now)
    assert tier_of(contact) == "Silver"


def test_the_rolling_window_excludes_what_is_one_second_older(clock):
    contact = ContactFactory()
    start = clock.now
    buy(contact, "600", at=start)
    clock.now = add_months(start, 12) + dt.timedelta(seconds=1)
    buy(contact, "400", at=clock.now)
    assert tier_of(contact) == "Member"


@pytest.fixture
def calendar_year(program, settings):
    settings.TIME_ZONE = "Asia/Seoul"
    program.qualification_window = Program.Window.CALENDAR_YEAR
    program.save()


@pytest.mark.usefixtures("calendar_year")
def test_the_calendar_year_starts_at_midnight_in_the_company_time_zone(clock):
    counted, dropped = ContactFactory(), ContactFactory()
    clock.now = dt.datetime(2026, 12, 31, 14, 59, 59, tzinfo=dt.UTC)  # 23:59:59 KST
    buy(dropped, "600", at=clock.now)
    clock.now = dt.datetime(2026, 12, 31, 15, 0, tzinfo=dt.UTC)  # 2027-01-01 00:00 KST
    buy(counted, "600", at=clock.now)
    clock.now = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    buy(counted, "400", at=clock.now)
    buy(dropped, "400", at=clock.now)
    assert tier_of(counted) == "Silver"
    assert tier_of(dropped) == "Member"


def test_the_lifetime_window_counts_everything(program, clock):
    program.qualification_window = Program.Window.LIFETIME
    program.save()
    contact = ContactFactory()
    buy(contact, "600", at=clock.now)
    clock.now = add_months(clock.now, 60)
    buy(contact, "400", at=clock.now)
    assert tier_of(contact) == "Silver"


def test_a_member_who_falls_short_keeps_the_tier_until_the_grace_period_ends(
    clock, events
):
    contact = ContactFactory()
    buy(contact, "1000", at=clock.now)
    events.clear()
    clock.now = add_months(clock.now, 12) + dt.timedelta(
        days=1
    )  # the points left the window
    assert tiers_reevaluate(now=clock.now) == 0
    account = LoyaltyAccount.objects.get(contact=contact)
    grace = clock.now + dt.timedelta(days=30)
    assert (account.tier.name, account.tier_grace_until) == ("Silver", grace)
    assert tiers_reevaluate(now=grace - dt.timedelta(seconds=1)) == 0
    assert tier_of(contact) == "Silver"
    assert tiers_reevaluate(now=grace) == 1
    account.refresh_from_db()
    assert (account.tier.name, account.tier_grace_until) == ("Member", None)
    change = TierChange.objects.filter(reason="downgrade").get()
    assert (change.from_tier.name, change.to_tier.name) == ("Silver", "Member")
    assert [(e[1], e[2]["from_tier"], e[2]["to_tier"]) for e in events] == [
        ("tier_downgraded", "Silver", "Member")
    ]
    assert tiers_reevaluate(now=grace + dt.timedelta(days=1)) == 0


def test_a_downgrade_lands_on_the_tier_the_value_still_reaches(clock):
    contact = ContactFactory()
    buy(contact, "1000", at=clock.now)
    clock.advance(days=200)
    buy(contact, "2000", at=clock.now)  # Silver x1.25: 2500 more, 3500 in total
    assert tier_of(contact) == "Gold"
    clock.now = add_months(NOW, 12) + dt.timedelta(days=1)  # 2500 left: Silver
    tiers_reevaluate(now=clock.now)
    tiers_reevaluate(now=clock.now + dt.timedelta(days=30))
    assert tier_of(contact) == "Silver"


def test_qualifying_again_during_the_grace_period_cancels_it(clock):
    contact = ContactFactory()
    buy(contact, "1000", at=clock.now)
    clock.now = add_months(clock.now, 12) + dt.timedelta(days=1)
    tiers_reevaluate(now=clock.now)
    buy(contact, "800", at=clock.now)  # x1.25 = 1000
    account = LoyaltyAccount.objects.get(contact=contact)
    assert (account.tier.name, account.tier_grace_until) == ("Silver", None)
    assert tiers_reevaluate(now=clock.now + dt.timedelta(days=60)) == 0
    assert tier_of(contact) == "Silver"


def test_a_refund_lowers_the_value_but_only_the_nightly_run_downgrades(clock):
    contact = ContactFactory()
    purchase = buy(contact, "1000", at=clock.now)
    purchase_refund(purchase=purchase, amount="500")
    assert tier_of(contact) == "Silver"
    tiers_reevaluate(now=clock.now)
    assert LoyaltyAccount.objects.get(contact=contact).tier_grace_until is not None


def test_tiers_by_spend_use_base_currency_amounts_net_of_refunds(program, clock):
    program.qualification_basis = Program.Basis.SPEND
    program.points_per_unit = Decimal("0.1")
    program.save()
    contact = ContactFactory()
    buy(contact, "999.99", at=clock.now)
    assert tier_of(contact) == "Member"
    purchase = buy(contact, "0.01", at=clock.now)
    assert tier_of(contact) == "Silver"
    purchase_refund(purchase=purchase, amount="0.01")
    tiers_reevaluate(now=clock.now)
    assert LoyaltyAccount.objects.get(contact=contact).tier_grace_until is not None


def test_the_nightly_run_upgrades_when_a_threshold_was_lowered(tiers, clock):
    contact = ContactFactory()
    buy(contact, "800", at=clock.now)
    tiers["Silver"].threshold = Decimal(800)
    tiers["Silver"].save()
    assert tiers_reevaluate(now=clock.now) == 1
    assert tier_of(contact) == "Silver"


def test_a_manager_sets_a_tier_by_hand_and_an_agent_cannot(manager, agent, tiers):
    account = member()
    with pytest.raises(PermissionDenied):
        tier_set(account=account, tier=tiers["Gold"], actor=agent)
    tier_set(account=account, tier=tiers["Gold"], actor=manager, note="complaint")
    change = TierChange.objects.get(reason="manual")
    assert (change.to_tier.name, change.actor, change.note) == (
        "Gold",
        manager,
        "complaint",
    )
