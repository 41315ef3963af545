"""Loyalty test helpers: members with points, rewards, purchases, all made the real way."""

import datetime as dt
import itertools
from decimal import Decimal

import factory

from crm.models import Contact, Purchase
from crm.services import purchase_record
from loyalty.models import LoyaltyAccount, Reward
from loyalty.services import account_get_or_create, bonus_grant
from tests.crm.factories import ContactFactory

_keys = itertools.count(1)


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    name_en = factory.Sequence(lambda n: f"Reward {n}")
    name_ko = factory.Sequence(lambda n: f"리워드 {n}")
    cost = 10
    stock = None
    active = True


def member(
    points: int = 0, *, contact: Contact | None = None, now: dt.datetime | None = None
) -> LoyaltyAccount:
    """A loyalty account holding ``points`` (a bonus lot), for a new contact by default."""
    account, _created = account_get_or_create(
        contact=contact or ContactFactory(), now=now
    )
    if points:
        bonus_grant(
            account=account,
            kind="other",
            points=points,
            key=f"test-bonus:{next(_keys)}",
            now=now,
        )
        account.refresh_from_db()
    return account


def buy(
    contact: Contact, amount: str | int | Decimal, *, at: dt.datetime | None = None
) -> Purchase:
    """A purchase in the base currency (USD in these tests); loyalty earns on it via the hook."""
    purchase, _created = purchase_record(
        contact=contact,
        amount=str(amount),
        currency="USD",
        occurred_at=at or dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    return purchase


def key() -> str:
    return f"test:{next(_keys)}"
