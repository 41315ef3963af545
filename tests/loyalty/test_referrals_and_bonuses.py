"""Referrals (guards, completion on the first purchase), welcome and birthday bonuses, expiry warnings."""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from loyalty.models import ExpiryWarning, LoyaltyAccount, PointsEntry, Referral
from loyalty.services import (
    account_get_or_create,
    birthday_bonus_grant,
    birthday_bonuses_grant_due,
    points_warn_expiring,
    referral_register,
)
from loyalty.services.accounts import celebrated_on
from tests.crm.factories import ContactFactory
from tests.loyalty.conftest import NOW
from tests.loyalty.factories import buy, member

pytestmark = pytest.mark.django_db


# --- referrals ------------------------------------------------------------------------------


@pytest.fixture
def referrer():
    return member(
        contact=ContactFactory(email="ref@example.com", phone="+821011112222")
    )


def test_the_first_purchase_of_a_referred_person_rewards_both_sides(referrer):
    friend = ContactFactory()
    referral = referral_register(
        referrer_code=referrer.referral_code.lower(), referred_contact=friend
    )
    assert referral.status == Referral.Status.PENDING
    buy(friend, "10")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.COMPLETED
    referrer.refresh_from_db()
    assert referrer.balance == 500
    assert LoyaltyAccount.objects.get(contact=friend).balance == 10 + 200
    keys = set(
        PointsEntry.objects.filter(kind="referral").values_list("key", flat=True)
    )
    assert keys == {
        f"referral:{referral.pk}:referrer",
        f"referral:{referral.pk}:referred",
    }
    buy(friend, "10")  # the second purchase pays no referral again
    referrer.refresh_from_db()
    assert referrer.balance == 500


def test_codes_are_read_out_and_typed_so_case_spaces_and_dashes_do_not_matter(referrer):
    code = referrer.referral_code
    spaced = f" {code[:4].lower()}-{code[4:]} "
    assert referral_register(referrer_code=spaced, referred_contact=ContactFactory())


@pytest.mark.parametrize(
    ("referred", "field"),
    [
        ({"email": "Ref+friend@example.com"}, "referrer_code"),  # same mailbox
        ({"phone": "+821011112222"}, "referrer_code"),  # same phone
    ],
)
def test_referring_oneself_under_another_contact_is_refused(referrer, referred, field):
    with pytest.raises(ValidationError) as error:
        referral_register(
            referrer_code=referrer.referral_code,
            referred_contact=ContactFactory(**referred),
        )
    assert field in error.value.message_dict
    assert not Referral.objects.exists()


def test_self_referral_is_refused(referrer):
    with pytest.raises(ValidationError, match="cannot refer themselves"):
        referral_register(
            referrer_code=referrer.referral_code, referred_contact=referrer.contact
        )


def test_a_person_is_referred_only_once(referrer):
    friend = ContactFactory()
    referral_register(referrer_code=referrer.referral_code, referred_contact=friend)
    other = member()
    with pytest.raises(ValidationError, match="already been referred"):
        referral_register(referrer_code=other.referral_code, referred_contact=friend)


def test_an_existing_customer_cannot_be_referred(referrer):
    customer = ContactFactory()
    buy(customer, "5")
    with pytest.raises(ValidationError, match="already a customer"):
        referral_register(
            referrer_code=referrer.referral_code, referred_contact=customer
        )


def test_an_unknown_code_is_refused():
    with pytest.raises(ValidationError, match="No member has this referral code"):
        referral_register(referrer_code="NOPE2345", referred_contact=ContactFactory())


def test_referral_codes_are_unique_short_and_unambiguous():
    codes = {member().referral_code for _ in range(20)}
    assert len(codes) == 20
    assert all(len(c) == 8 and not set(c) & set("01IOL") for c in codes)


# --- welcome and birthday -------------------------------------------------------------------


def test_the_welcome_bonus_is_given_once_when_the_account_opens(program):
    program.welcome_bonus = 100
    program.save()
    contact = ContactFactory()
    account, created = account_get_or_create(contact=contact)
    again, created_again = account_get_or_create(contact=contact)
    assert (created, created_again, again.pk) == (True, False, account.pk)
    account.refresh_from_db()
    assert account.balance == 100
    assert account.entries.get().key == f"welcome:{account.pk}"


def test_the_birthday_bonus_is_given_once_a_year():
    account = member()
    first = birthday_bonus_grant(account=account, year=2026)
    assert birthday_bonus_grant(account=account, year=2026).pk == first.pk
    birthday_bonus_grant(account=account, year=2027)
    account.refresh_from_db()
    assert account.balance == 200
    assert set(account.entries.values_list("key", flat=True)) == {
        f"birthday:{account.pk}:2026",
        f"birthday:{account.pk}:2027",
    }


def test_birthday_bonuses_follow_the_members_own_calendar_day():
    seoul = member(
        contact=ContactFactory(
            birth_month=6, birth_day=16, timezone=zoneinfo.ZoneInfo("Asia/Seoul")
        )
    )
    la = member(
        contact=ContactFactory(
            birth_month=6,
            birth_day=16,
            timezone=zoneinfo.ZoneInfo("America/Los_Angeles"),
        )
    )
    at = dt.datetime(
        2026, 6, 15, 16, 0, tzinfo=dt.UTC
    )  # 16 June 01:00 in Seoul, 15th in LA
    assert birthday_bonuses_grant_due(now=at) == 1
    assert birthday_bonuses_grant_due(now=at + dt.timedelta(hours=1)) == 0
    seoul.refresh_from_db()
    la.refresh_from_db()
    assert (seoul.balance, la.balance) == (100, 0)
    assert birthday_bonuses_grant_due(now=at + dt.timedelta(hours=16)) == 1  # LA's 16th
    la.refresh_from_db()
    assert la.balance == 100


def test_a_29_february_birthday_is_celebrated_on_the_28th_in_common_years():
    assert celebrated_on(2, 29, 2027) == dt.date(2027, 2, 28)
    assert celebrated_on(2, 29, 2028) == dt.date(2028, 2, 29)
    leapling = member(contact=ContactFactory(birth_month=2, birth_day=29))
    at = dt.datetime(2027, 2, 28, 12, tzinfo=dt.UTC)
    assert birthday_bonuses_grant_due(now=at) == 1
    assert leapling.entries.get().key == f"birthday:{leapling.pk}:2027"


# --- expiry warnings ------------------------------------------------------------------------


def test_points_expiring_within_the_warning_days_are_announced_once_per_lot(events):
    account = member()
    from loyalty.services import bonus_grant

    soon = bonus_grant(
        account=account,
        kind="other",
        points=70,
        key="soon",
        now=NOW - dt.timedelta(days=350),  # expires in about 15 days
    )
    bonus_grant(account=account, kind="other", points=30, key="later", now=NOW)
    assert points_warn_expiring(now=NOW) == 1
    assert points_warn_expiring(now=NOW) == 0
    assert ExpiryWarning.objects.get().lot_id == soon.pk
    [(contact_id, event, data)] = events
    assert (contact_id, event) == (account.contact_id, "points_expiring")
    assert data["points"] == 70
    assert data["lot_id"] == soon.pk
    assert data["expires_at"] == soon.expires_at.isoformat()
