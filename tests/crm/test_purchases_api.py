"""Purchases, refunds and exchange rates over the API, with Idempotency-Key (DESIGN §6)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import ExchangeRate, IdempotencyRecord, Purchase, Refund
from crm.services import (
    exchange_rate_set,
    idempotency_records_purge,
    purchase_record,
    purchase_refund,
)
from crm.tasks import idempotency_records_purge_daily
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

PURCHASES = reverse("api:purchase-list")
RATES = reverse("api:exchange-rate-list")


def detail(purchase):
    return reverse("api:purchase-detail", args=[purchase.pk])


def refund_url(purchase):
    return reverse("api:purchase-refund", args=[purchase.pk])


@pytest.fixture(autouse=True)
def _base_usd(settings):
    settings.BASE_CURRENCY = "USD"
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def contact():
    return ContactFactory()


@pytest.fixture
def krw_rate():
    return exchange_rate_set(currency="KRW", date=dt.date(2025, 3, 1), rate="0.00075")


@pytest.fixture
def body(contact, krw_rate):
    return {
        "contact": contact.pk,
        "amount": "15000",
        "currency": "KRW",
        "occurred_at": "2025-03-05T10:00:00+09:00",
        "external_id": "web-1001",
    }


@pytest.fixture
def usd_purchase(contact):
    purchase, _created = purchase_record(
        contact=contact,
        amount="100.00",
        currency="USD",
        occurred_at=dt.datetime(2025, 3, 5, tzinfo=dt.UTC),
    )
    return purchase


# --- recording ----------------------------------------------------------------------------


def test_an_agent_records_a_purchase(api_client, agent, body, contact):
    api_client.force_authenticate(agent)
    response = api_client.post(PURCHASES, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    purchase = Purchase.objects.get()
    assert data == {
        "id": purchase.pk,
        "contact": contact.pk,
        "amount": "15000",
        "currency": "KRW",
        "amount_base": "11.25",
        "base_currency": "USD",
        "exchange_rate": "0.00075",
        "refunded_amount": "0",
        "occurred_at": "2025-03-05T01:00:00Z",
        "external_id": "web-1001",
        "refunds": [],
        "created_at": data["created_at"],
    }
    assert purchase.recorded_by == agent


def test_the_same_external_id_again_is_200_with_the_first_purchase(
    api_client, manager, body
):
    api_client.force_authenticate(manager)
    first = api_client.post(PURCHASES, body, format="json")
    again = api_client.post(PURCHASES, {**body, "amount": "99999"}, format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["amount"] == "15000"
    assert Purchase.objects.count() == 1


def test_a_missing_rate_is_400_naming_currency_and_date(api_client, agent, contact):
    api_client.force_authenticate(agent)
    response = api_client.post(
        PURCHASES,
        {
            "contact": contact.pk,
            "amount": "10.00",
            "currency": "EUR",
            "occurred_at": "2025-03-05T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "currency": [
            "No exchange rate for EUR on or before 2025-03-05. Add one and retry."
        ]
    }


def test_the_missing_rate_error_is_translated(api_client, agent, contact):
    api_client.force_authenticate(agent)
    response = api_client.post(
        PURCHASES,
        {
            "contact": contact.pk,
            "amount": "10.00",
            "currency": "EUR",
            "occurred_at": "2025-03-05T10:00:00Z",
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 400
    (message,) = response.json()["currency"]
    assert "EUR" in message
    assert "2025-03-05" in message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": 19.99}, "amount"),  # a JSON float
        ({"amount": "15000.5"}, "amount"),  # KRW has no decimals
        ({"amount": "-1"}, "amount"),
        ({"currency": "WON"}, "currency"),
        ({"contact": 999_999}, "contact"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ],
)
def test_bad_input_is_400_naming_the_field(api_client, agent, body, change, field):
    api_client.force_authenticate(agent)
    response = api_client.post(PURCHASES, {**body, **change}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Purchase.objects.exists()


def test_a_whole_number_amount_is_accepted(api_client, agent, body):
    api_client.force_authenticate(agent)
    response = api_client.post(PURCHASES, {**body, "amount": 15000}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("method", ["get", "post"])
def test_customers_are_refused(api_client, customer_a, body, method):
    api_client.force_authenticate(customer_a)
    response = getattr(api_client, method)(PURCHASES, body, format="json")
    assert response.status_code == 403


def test_anonymous_callers_are_refused(api_client, body):
    assert api_client.post(PURCHASES, body, format="json").status_code in (401, 403)


# --- reading ------------------------------------------------------------------------------


def test_list_is_newest_first_and_filters(api_client, agent, contact, krw_rate):
    other = ContactFactory()
    old = purchase_record(
        contact=contact,
        amount="5",
        currency="USD",
        occurred_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    )[0]
    new = purchase_record(
        contact=contact,
        amount="5000",
        currency="KRW",
        occurred_at=dt.datetime(2025, 3, 9, tzinfo=dt.UTC),
    )[0]
    elsewhere = purchase_record(
        contact=other,
        amount="7",
        currency="USD",
        occurred_at=dt.datetime(2025, 3, 5, tzinfo=dt.UTC),
    )[0]
    api_client.force_authenticate(agent)

    def ids(**params):
        response = api_client.get(PURCHASES, params)
        assert response.status_code == 200, response.json()
        return [p["id"] for p in response.json()["results"]]

    assert ids() == [new.pk, elsewhere.pk, old.pk]
    assert ids(contact=contact.pk) == [new.pk, old.pk]
    assert ids(currency="krw") == [new.pk]
    # periods are (after, before]: DESIGN §5
    assert ids(occurred_after="2025-03-01T00:00:00Z") == [new.pk, elsewhere.pk]
    assert ids(occurred_before="2025-03-05T00:00:00Z") == [elsewhere.pk, old.pk]
    assert ids(
        occurred_after="2025-03-01T00:00:00Z", occurred_before="2025-03-05T00:00:00Z"
    ) == [elsewhere.pk]


def test_a_bad_filter_is_400_naming_it(api_client, agent):
    api_client.force_authenticate(agent)
    response = api_client.get(PURCHASES, {"occurred_after": "soon"})
    assert response.status_code == 400
    assert list(response.json()) == ["occurred_after"]


def test_list_is_paginated_by_cursor(api_client, agent, contact):
    for day in range(1, 4):
        purchase_record(
            contact=contact,
            amount="1",
            currency="USD",
            occurred_at=dt.datetime(2025, 3, day, tzinfo=dt.UTC),
        )
    api_client.force_authenticate(agent)
    data = api_client.get(PURCHASES, {"page_size": 1}).json()
    assert set(data) == {"next", "previous", "results"}


def test_purchase_list_is_three_queries_at_any_length(
    api_client, agent, contact, django_assert_num_queries
):
    for day in range(1, 21):
        purchase, _created = purchase_record(
            contact=contact,
            amount="10",
            currency="USD",
            occurred_at=dt.datetime(2025, 3, day, tzinfo=dt.UTC),
        )
        purchase_refund(purchase=purchase, amount="1")
    api_client.force_authenticate(agent)
    # the role's groups, the page of purchases, and their refunds
    with django_assert_num_queries(3):
        response = api_client.get(PURCHASES)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 20
    assert response.json()["results"][0]["refunds"][0]["amount"] == "1.00"


def test_purchase_detail_is_three_queries(
    api_client, agent, usd_purchase, django_assert_num_queries
):
    purchase_refund(purchase=usd_purchase, amount="1")
    purchase_refund(purchase=usd_purchase, amount="2")
    api_client.force_authenticate(agent)
    with django_assert_num_queries(3):
        response = api_client.get(detail(usd_purchase))
    assert response.status_code == 200
    data = response.json()
    assert data["refunded_amount"] == "3.00"
    assert [r["amount"] for r in data["refunds"]] == ["2.00", "1.00"]


# --- refunds ------------------------------------------------------------------------------


def test_a_manager_refunds_part_of_a_purchase(api_client, manager, usd_purchase):
    api_client.force_authenticate(manager)
    response = api_client.post(
        refund_url(usd_purchase),
        {"amount": "30.00", "reason": "Damaged in transit"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    refund = Refund.objects.get()
    assert data == {
        "id": refund.pk,
        "purchase": usd_purchase.pk,
        "amount": "30.00",
        "currency": "USD",
        "amount_base": "30.00",
        "base_currency": "USD",
        "occurred_at": data["occurred_at"],
        "reason": "Damaged in transit",
        "created_at": data["created_at"],
    }
    usd_purchase.refresh_from_db()
    assert usd_purchase.refunded_amount == Decimal("30.00")
    assert refund.recorded_by == manager


def test_an_over_refund_is_400_saying_what_remains(api_client, admin, usd_purchase):
    purchase_refund(purchase=usd_purchase, amount="60")
    api_client.force_authenticate(admin)
    response = api_client.post(
        refund_url(usd_purchase), {"amount": "40.01"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"amount": ["Only $40.00 can still be refunded."]}
    usd_purchase.refresh_from_db()
    assert usd_purchase.refunded_amount == Decimal("60")


@pytest.mark.parametrize("user", ["agent", "customer_a"])
def test_agents_and_customers_cannot_refund(api_client, request, usd_purchase, user):
    api_client.force_authenticate(request.getfixturevalue(user))
    response = api_client.post(refund_url(usd_purchase), {"amount": "1"}, format="json")
    assert response.status_code == 403
    assert not Refund.objects.exists()


def test_refunding_an_unknown_purchase_is_404(api_client, manager):
    api_client.force_authenticate(manager)
    response = api_client.post(
        reverse("api:purchase-refund", args=[999_999]), {"amount": "1"}, format="json"
    )
    assert response.status_code == 404


# --- Idempotency-Key ----------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_answer(api_client, agent, body):
    api_client.force_authenticate(agent)
    body = {**body, "external_id": ""}  # only the key protects against a double record
    first = api_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Purchase.objects.count() == 1


def test_the_same_key_with_another_body_is_422(api_client, agent, body):
    api_client.force_authenticate(agent)
    api_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = api_client.post(
        PURCHASES,
        {**body, "amount": "16000"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "This Idempotency-Key was already used with a different request."
    }
    assert Purchase.objects.count() == 1


def test_key_order_and_spacing_of_the_json_do_not_matter(api_client, agent, body):
    api_client.force_authenticate(agent)
    api_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    response = api_client.post(
        PURCHASES,
        reordered,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert response.status_code == 201
    assert response["Idempotent-Replayed"] == "true"


def test_keys_belong_to_their_user(api_client, agent, manager, body):
    api_client.force_authenticate(agent)
    api_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    api_client.force_authenticate(manager)
    response = api_client.post(
        PURCHASES,
        {**body, "external_id": "web-2"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert response.status_code == 201
    assert Purchase.objects.count() == 2


def test_a_key_longer_than_255_characters_is_400_naming_the_header(
    api_client, agent, body
):
    api_client.force_authenticate(agent)
    response = api_client.post(
        PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]
    assert not Purchase.objects.exists()
    ok = api_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 255)
    assert ok.status_code == 201


def test_a_refused_request_is_not_stored_so_a_fixed_retry_succeeds(
    api_client, agent, contact
):
    api_client.force_authenticate(agent)
    body = {
        "contact": contact.pk,
        "amount": "10.00",
        "currency": "EUR",
        "occurred_at": "2025-03-05T10:00:00Z",
    }
    first = api_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert first.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    exchange_rate_set(currency="EUR", date=dt.date(2025, 3, 1), rate="1.1")
    retry = api_client.post(PURCHASES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert retry.status_code == 201
    assert retry.json()["amount_base"] == "11.00"


def test_a_refund_sent_twice_with_a_key_refunds_once(api_client, manager, usd_purchase):
    api_client.force_authenticate(manager)
    for _ in range(2):
        response = api_client.post(
            refund_url(usd_purchase),
            {"amount": "10"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="refund-1",
        )
        assert response.status_code == 201
    usd_purchase.refresh_from_db()
    assert usd_purchase.refunded_amount == Decimal("10")
    assert Refund.objects.count() == 1


def test_the_same_key_on_another_purchase_is_422(api_client, manager, contact):
    purchases = [
        purchase_record(
            contact=contact,
            amount="10",
            currency="USD",
            occurred_at=dt.datetime(2025, 3, 5, tzinfo=dt.UTC),
        )[0]
        for _ in range(2)
    ]
    api_client.force_authenticate(manager)
    statuses = [
        api_client.post(
            refund_url(p), {"amount": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="r"
        ).status_code
        for p in purchases
    ]
    assert statuses == [201, 422]


def test_old_idempotency_records_are_purged(agent, manager):
    old = IdempotencyRecord.objects.create(user=agent, key="old", fingerprint="x")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    IdempotencyRecord.objects.create(user=manager, key="new", fingerprint="x")
    assert idempotency_records_purge_daily() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert idempotency_records_purge(older_than=timezone.now()) == 1


def test_the_daily_jobs_are_in_the_beat_schedule():
    from config.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "crm.tasks.contacts_mark_churned_daily" in tasks
    assert "crm.tasks.idempotency_records_purge_daily" in tasks


# --- exchange rates -----------------------------------------------------------------------


def test_staff_read_rates_and_filter_by_currency(api_client, agent, krw_rate):
    exchange_rate_set(currency="EUR", date=dt.date(2025, 3, 1), rate="1.08")
    api_client.force_authenticate(agent)
    response = api_client.get(RATES, {"currency": "krw"})
    assert response.status_code == 200
    (only,) = response.json()["results"]
    assert only == {
        "id": krw_rate.pk,
        "currency": "KRW",
        "date": "2025-03-01",
        "rate": "0.00075",
        "created_at": only["created_at"],
        "updated_at": only["updated_at"],
    }
    detail_response = api_client.get(
        reverse("api:exchange-rate-detail", args=[krw_rate.pk])
    )
    assert detail_response.json()["rate"] == "0.00075"


def test_agents_cannot_write_rates(api_client, agent, krw_rate):
    api_client.force_authenticate(agent)
    url = reverse("api:exchange-rate-detail", args=[krw_rate.pk])
    assert (
        api_client.post(
            RATES, {"currency": "EUR", "date": "2025-03-01", "rate": "1.1"}
        ).status_code
        == 403
    )
    assert api_client.patch(url, {"rate": "1"}).status_code == 403
    assert api_client.delete(url).status_code == 403


def test_customers_cannot_read_rates(api_client, customer_a):
    api_client.force_authenticate(customer_a)
    assert api_client.get(RATES).status_code == 403


def test_a_manager_sets_changes_and_deletes_a_rate(api_client, manager):
    api_client.force_authenticate(manager)
    created = api_client.post(
        RATES,
        {"currency": "eur", "date": "2025-03-01", "rate": "1.0800"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["currency"] == "EUR"
    assert created.json()["rate"] == "1.08"
    url = reverse("api:exchange-rate-detail", args=[created.json()["id"]])
    changed = api_client.patch(url, {"rate": "1.1"}, format="json")
    assert changed.status_code == 200
    assert ExchangeRate.objects.get().rate == Decimal("1.1")
    replaced = api_client.post(
        RATES, {"currency": "EUR", "date": "2025-03-01", "rate": "1.2"}, format="json"
    )
    assert replaced.json()["id"] == created.json()["id"]
    assert ExchangeRate.objects.count() == 1
    assert api_client.delete(url).status_code == 204
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "USD", "date": "2025-03-01", "rate": "1"}, "currency"),
        ({"currency": "EUR", "date": "2025-03-01", "rate": "0"}, "rate"),
        ({"currency": "EUR", "date": "someday", "rate": "1"}, "date"),
        ({"currency": "EUR", "date": "2025-03-01", "rate": 1.1}, "rate"),
    ],
)
def test_a_bad_rate_is_400_naming_the_field(api_client, manager, body, field):
    api_client.force_authenticate(manager)
    response = api_client.post(RATES, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


# --- schema -------------------------------------------------------------------------------


def test_the_schema_documents_purchases_and_the_idempotency_header(client, agent):
    client.force_login(agent)
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/purchases/" in paths
    assert "/api/v1/purchases/{id}/refund/" in paths
    assert "/api/v1/exchange-rates/{id}/" in paths
    for operation in (
        paths["/api/v1/purchases/"]["post"],
        paths["/api/v1/purchases/{id}/refund/"]["post"],
    ):
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == ["Idempotency-Key"]
        assert "422" in operation["responses"]


# --- admin --------------------------------------------------------------------------------


def test_admin_lists_rates_purchases_and_refunds(client, admin, usd_purchase):
    refund = purchase_refund(purchase=usd_purchase, amount="5")
    client.force_login(admin)
    for url in (
        reverse("admin:crm_exchangerate_changelist"),
        reverse("admin:crm_purchase_changelist") + "?q=" + usd_purchase.contact.email,
        reverse("admin:crm_purchase_change", args=[usd_purchase.pk]),
        reverse("admin:crm_refund_changelist"),
        reverse("admin:crm_refund_change", args=[refund.pk]),
    ):
        assert client.get(url).status_code == 200, url


def test_admin_cannot_add_or_change_money_rows(client, admin, usd_purchase):
    client.force_login(admin)
    assert client.get(reverse("admin:crm_purchase_add")).status_code == 403
    response = client.post(
        reverse("admin:crm_purchase_change", args=[usd_purchase.pk]),
        {"external_id": "changed"},
    )
    assert response.status_code == 403
    usd_purchase.refresh_from_db()
    assert usd_purchase.external_id == ""


def test_admin_sets_rates_through_the_service_rules(client, admin):
    client.force_login(admin)
    url = reverse("admin:crm_exchangerate_add")
    refused = client.post(url, {"currency": "usd", "date": "2025-03-01", "rate": "1"})
    assert refused.status_code == 200  # the form again, with the error
    assert "base currency" in refused.content.decode()
    assert not ExchangeRate.objects.exists()
    saved = client.post(
        url, {"currency": "krw", "date": "2025-03-01", "rate": "0.0007"}
    )
    assert saved.status_code == 302
    rate = ExchangeRate.objects.get()
    assert (rate.currency, rate.rate) == ("KRW", Decimal("0.0007"))
    changed = client.post(
        reverse("admin:crm_exchangerate_change", args=[rate.pk]), {"rate": "0.0008"}
    )
    assert changed.status_code == 302
    rate.refresh_from_db()
    assert rate.rate == Decimal("0.0008")
