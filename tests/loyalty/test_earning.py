"""Points on purchases (crm's hook) and their exact reversal on refunds, full or partial."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from crm.services import exchange_rate_set, purchase_record, purchase_refund
from loyalty.models import LoyaltyAccount, PointsEntry, Program
from loyalty.services import (
    InsufficientPoints,
    loyalty_verify,
    points_earn_for_purchase,
    points_reverse_for_refund,
    reward_redeem,
)
from tests.crm.factories import ContactFactory
from tests.loyalty.factories import RewardFactory, buy, key

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def account_of(contact) -> LoyaltyAccount:
    return LoyaltyAccount.objects.get(contact=contact)


def test_a_purchase_earns_base_amount_times_rate_rounded_down(program):
    program.points_per_unit = Decimal("1.5")
    program.save()
    contact = ContactFactory()
    purchase = buy(contact, "19.99")  # 29.985 points
    entry = PointsEntry.objects.get(key=f"purchase:{purchase.pk}:earn")
    assert (entry.kind, entry.points, entry.remaining) == ("earn", 29, 29)
    assert (entry.source_type, entry.source_id) == ("crm.purchase", str(purchase.pk))
    assert account_of(contact).balance == 29


def test_rounding_to_nearest_rounds_halves_up(program):
    program.rounding = Program.Rounding.NEAREST
    program.points_per_unit = Decimal("0.5")
    program.save()
    contact = ContactFactory()
    buy(contact, "5.00")  # 2.5 → 3
    buy(contact, "4.98")  # 2.49 → 2
    assert account_of(contact).balance == 5


def test_foreign_currency_purchases_earn_on_their_base_amount():
    exchange_rate_set(currency="KRW", date=dt.date(2025, 1, 1), rate="0.00075")
    contact = ContactFactory()
    purchase_record(
        contact=contact,
        amount="150000",
        currency="KRW",
        occurred_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
    )
    assert account_of(contact).balance == 112  # 112.50 USD


def test_the_tier_multiplier_applies_to_what_is_earned(tiers):
    contact = ContactFactory()
    buy(contact, "1000")  # Member x1: 1000 points, reaching Silver
    assert account_of(contact).tier == tiers["Silver"]
    buy(contact, "100")  # Silver x1.25
    assert account_of(contact).balance == 1125


def test_the_hook_applied_twice_earns_once():
    contact = ContactFactory()
    purchase = buy(contact, "50")
    again = points_earn_for_purchase(purchase_id=purchase.pk)
    assert again.key == f"purchase:{purchase.pk}:earn"
    assert account_of(contact).balance == 50
    assert PointsEntry.objects.filter(kind="earn").count() == 1


def test_a_purchase_worth_no_points_writes_no_entry(program):
    program.points_per_unit = Decimal("0.01")
    program.save()
    contact = ContactFactory()
    buy(contact, "50")  # 0.5 → 0
    assert account_of(contact).balance == 0
    assert not PointsEntry.objects.exists()


def test_a_full_refund_reverses_every_point():
    contact = ContactFactory()
    purchase = buy(contact, "80")
    refund = purchase_refund(purchase=purchase, amount="80")
    reverse = PointsEntry.objects.get(key=f"refund:{refund.pk}:reverse")
    assert (reverse.kind, reverse.points, reverse.source_type) == (
        "reverse",
        -80,
        "crm.refund",
    )
    assert account_of(contact).balance == 0


def test_partial_refunds_reverse_cumulatively_and_never_drift():
    contact = ContactFactory()
    purchase = buy(contact, "10")  # 10 points
    purchase_refund(purchase=purchase, amount="3.33")  # round(3.33) = 3
    purchase_refund(purchase=purchase, amount="3.33")  # round(6.66) = 7 → 4 more
    assert account_of(contact).balance == 3
    purchase_refund(purchase=purchase, amount="3.34")  # the rest: all 10 reversed
    reversals = PointsEntry.objects.filter(kind="reverse").order_by("id")
    assert [e.points for e in reversals] == [-3, -4, -3]
    assert account_of(contact).balance == 0


def test_two_halves_reverse_exactly_what_was_earned(program):
    program.points_per_unit = Decimal("1.5")
    program.save()
    contact = ContactFactory()
    purchase = buy(contact, "15")  # 22.5 → 22 points
    purchase_refund(purchase=purchase, amount="7.50")  # round(11) = 11
    purchase_refund(purchase=purchase, amount="7.50")
    assert account_of(contact).balance == 0


def test_a_retried_refund_hook_reverses_once():
    contact = ContactFactory()
    purchase = buy(contact, "20")
    refund = purchase_refund(purchase=purchase, amount="5")
    first = PointsEntry.objects.get(kind="reverse")
    assert points_reverse_for_refund(refund_id=refund.pk).pk == first.pk
    assert account_of(contact).balance == 15


def test_a_late_retry_of_an_earlier_refund_never_reverses_more_than_the_refunded_share():
    contact = ContactFactory()
    purchase = buy(contact, "100")
    first = purchase_refund(purchase=purchase, amount="10")
    PointsEntry.objects.filter(key=f"refund:{first.pk}:reverse").delete()  # as if lost
    LoyaltyAccount.objects.filter(contact=contact).update(balance=100)
    purchase_refund(purchase=purchase, amount="20")  # reverses up to 30% = 30
    assert points_reverse_for_refund(refund_id=first.pk) is None  # nothing left for it
    assert account_of(contact).balance == 70


def test_a_refund_after_the_points_were_spent_leaves_a_negative_balance(manager):
    contact = ContactFactory()
    purchase = buy(contact, "100")
    account = account_of(contact)
    reward = RewardFactory(cost=100)
    reward_redeem(account=account, reward=reward, key=key())
    purchase_refund(purchase=purchase, amount="60")
    account.refresh_from_db()
    assert account.balance == -60
    cheap = RewardFactory(cost=1)
    with pytest.raises(InsufficientPoints):
        reward_redeem(account=account, reward=cheap, key=key())
    buy(contact, "59")  # -1: still negative
    with pytest.raises(InsufficientPoints):
        reward_redeem(account=account, reward=cheap, key=key())
    buy(contact, "2")  # +1
    reward_redeem(account=account, reward=cheap, key=key())
    account.refresh_from_db()
    assert account.balance == 0
    assert loyalty_verify() == []


def test_a_refund_of_a_purchase_that_earned_nothing_writes_nothing(program):
    program.points_per_unit = Decimal(0)
    program.save()
    contact = ContactFactory()
    purchase = buy(contact, "10")
    purchase_refund(purchase=purchase, amount="10")
    assert not PointsEntry.objects.exists()


def test_a_loyalty_failure_rolls_the_purchase_back(monkeypatch):
    from loyalty.services import earning

    def broken(*args, **kwargs):
        raise ValidationError("loyalty is down")

    monkeypatch.setattr(earning, "points_for", broken)
    contact = ContactFactory()
    with pytest.raises(ValidationError):
        buy(contact, "10")
    assert not contact.purchases.exists()
