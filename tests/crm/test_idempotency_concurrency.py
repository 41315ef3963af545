"""Real threads against PostgreSQL: concurrent retries of one purchase record it once (§4, §8)."""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from crm.models import IdempotencyRecord, Purchase, User
from tests.crm.factories import ContactFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
    ),
]

THREADS = 10


@pytest.fixture(autouse=True)
def _base_usd(settings):
    settings.BASE_CURRENCY = "USD"


def post_concurrently(
    user_id: int, body: dict, headers: dict
) -> list[tuple[int, dict]]:
    """POST ``body`` from THREADS threads released at once; (status, json) of each."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, dict]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            client = APIClient()
            client.force_authenticate(User.objects.get(pk=user_id))
            barrier.wait(timeout=10)
            response = client.post(
                reverse("api:purchase-list"), body, format="json", **headers
            )
            with lock:
                results.append((response.status_code, response.json()))
        except BaseException as error:  # surfaced in the test thread below
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == THREADS
    return results


def test_ten_concurrent_posts_with_one_idempotency_key_record_one_purchase(agent):
    contact = ContactFactory()
    body = {
        "contact": contact.pk,
        "amount": "25.00",
        "currency": "USD",
        "occurred_at": "2025-03-05T10:00:00Z",
    }  # no external_id: only the key stands between a retry storm and ten purchases
    results = post_concurrently(agent.pk, body, {"HTTP_IDEMPOTENCY_KEY": "retry-1"})

    assert Purchase.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert {status for status, _data in results} == {201}
    first = results[0][1]
    assert all(data == first for _status, data in results)
    assert first["id"] == Purchase.objects.get().pk


def test_ten_concurrent_posts_with_one_external_id_record_one_purchase(agent):
    contact = ContactFactory()
    body = {
        "contact": contact.pk,
        "amount": "25.00",
        "currency": "USD",
        "occurred_at": "2025-03-05T10:00:00Z",
        "external_id": "shop-42",
    }
    results = post_concurrently(agent.pk, body, {})

    purchase = Purchase.objects.get()
    statuses = sorted(status for status, _data in results)
    assert statuses == [200] * (THREADS - 1) + [201]
    assert {data["id"] for _status, data in results} == {purchase.pk}
    contact.refresh_from_db()
    assert contact.last_purchase_at == purchase.occurred_at
