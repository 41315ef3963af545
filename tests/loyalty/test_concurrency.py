"""Real threads against PostgreSQL: the account row lock keeps the ledger exact (DESIGN §4.1, §8)."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from crm.models import User
from loyalty.models import LoyaltyAccount, PointsEntry, Redemption, Reward
from loyalty.services import (
    InsufficientPoints,
    RewardUnavailable,
    account_get_or_create,
    loyalty_verify,
    reward_redeem,
)
from tests.crm.factories import ContactFactory
from tests.loyalty.factories import RewardFactory, member

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
    ),
]


def run_concurrently(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together; results or raised exceptions."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=20)
            results[i] = work(i)
        except Exception as error:  # collected and asserted on by the test
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_fifty_parallel_redemptions_of_a_ten_point_reward_spend_exactly_one_hundred():
    account = member(100)
    reward = RewardFactory(cost=10)

    def redeem(i: int) -> Redemption:
        return reward_redeem(
            account=LoyaltyAccount.objects.get(pk=account.pk),
            reward=Reward.objects.get(pk=reward.pk),
            key=f"redemption:parallel-{i}",
        )

    results = run_concurrently(50, redeem)
    succeeded = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert (len(succeeded), len(refused)) == (10, 40), results
    account.refresh_from_db()
    assert account.balance == 0
    assert account.entries.filter(kind="redeem").count() == 10
    assert len({r.voucher_code for r in succeeded}) == 10
    assert loyalty_verify() == []


def test_ten_parallel_calls_with_one_key_write_one_entry():
    account = member(100)
    reward = RewardFactory(cost=10)

    def redeem(i: int) -> int:
        return reward_redeem(
            account=LoyaltyAccount.objects.get(pk=account.pk),
            reward=Reward.objects.get(pk=reward.pk),
            key="redemption:one-key",
        ).pk

    results = run_concurrently(10, redeem)
    assert len(set(results)) == 1, results
    assert PointsEntry.objects.filter(key="redemption:one-key").count() == 1
    account.refresh_from_db()
    assert account.balance == 90


def test_ten_parallel_api_posts_with_one_idempotency_key_redeem_once(agent):
    account = member(100)
    reward = RewardFactory(cost=10)
    body = {"contact": account.contact_id, "reward": reward.pk}

    def post(i: int) -> tuple[int, dict]:
        client = APIClient()
        client.force_authenticate(User.objects.get(pk=agent.pk))
        response = client.post(
            reverse("api:loyalty-redemption-list"),
            body,
            format="json",
            HTTP_IDEMPOTENCY_KEY="retry-storm",
        )
        return response.status_code, response.json()

    results = run_concurrently(10, post)
    assert {status for status, _data in results} == {201}, results
    assert len({data["id"] for _status, data in results}) == 1
    assert Redemption.objects.count() == 1
    account.refresh_from_db()
    assert account.balance == 90


def test_the_last_units_of_stock_go_to_exactly_as_many_members():
    reward = RewardFactory(cost=10, stock=5)
    accounts = [member(10) for _ in range(20)]

    def redeem(i: int) -> Redemption:
        return reward_redeem(
            account=LoyaltyAccount.objects.get(pk=accounts[i].pk),
            reward=Reward.objects.get(pk=reward.pk),
            key=f"redemption:stock-{i}",
        )

    results = run_concurrently(20, redeem)
    assert sum(isinstance(r, Redemption) for r in results) == 5
    assert sum(isinstance(r, RewardUnavailable) for r in results) == 15
    reward.refresh_from_db()
    assert reward.stock == 0


def test_parallel_first_purchases_of_one_contact_open_one_account():
    contact = ContactFactory()

    def join(i: int) -> int:
        account, _created = account_get_or_create(contact=contact)
        return account.pk

    results = run_concurrently(10, join)
    assert len(set(results)) == 1, results
    assert LoyaltyAccount.objects.count() == 1
