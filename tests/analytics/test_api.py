"""The metrics and cohorts API: payload, the agents' reduced set, errors naming the field,
permissions and pinned query counts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics.services import rollups_rebuild, rollups_refresh
from crm.models import Segment
from feedback.models import Survey
from tests.analytics.factories import at, buy, customer, respond
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

METRICS = reverse("api:analytics-metrics")
COHORTS = reverse("api:analytics-cohorts")
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.fixture
def data():
    customer(since=at("2024-01-01"))
    customer(since=at("2024-01-01"), churned=at("2025-03-10"))
    buyer = ContactFactory()
    buy(buyer, "25.50", "USD", at("2025-03-05"))
    respond(buyer, Survey.Kind.NPS, 10, at("2025-03-06"))
    rollups_rebuild()


def test_manager_gets_every_metric_with_formula_and_inputs(api_client, manager, data):
    api_client.force_authenticate(manager)

    response = api_client.get(METRICS, MARCH)

    assert response.status_code == 200
    body = response.json()
    assert body["period"]["start"] == "2025-03-01"
    assert body["period"]["previous_end"] == "2025-02-28"
    metrics = body["metrics"]
    for key in (
        "retention_rate",
        "churn_rate",
        "nps",
        "csat",
        "ces",
        "cltv",
        "repeat_purchase_rate",
        "revenue",
        "average_order_value",
        "sla_breach_rate",
        "points_outstanding",
        "outreach_sent",
    ):
        assert {"value", "formula", "inputs"} <= set(metrics[key]), key
    assert metrics["churn_rate"]["value"] == 50  # 1 lost of S = 2, in 0-100
    assert metrics["churn_rate"]["inputs"] == {"lost": 1, "S": 2}
    assert metrics["churn_rate"]["formula"] == "lost / S \u00d7 100 = 1 / 2 \u00d7 100"
    assert metrics["revenue"]["value"] == "25.50"  # money: a decimal string
    assert Decimal(metrics["average_order_value"]["value"]) == Decimal("25.50")
    assert metrics["nps"]["value"] == 100
    assert metrics["csat"]["value"] is None  # no CSAT answers: not enough data
    assert {"liability", "currency"} <= set(metrics["points_outstanding"]["inputs"])


def test_agents_get_the_reduced_set_without_revenue_cltv_and_aov(
    api_client, agent, data
):
    api_client.force_authenticate(agent)

    metrics = api_client.get(METRICS, MARCH).json()["metrics"]

    assert "revenue" not in metrics
    assert "cltv" not in metrics
    assert "average_order_value" not in metrics
    assert "churn_rate" in metrics


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"end": "2025-03-31"}, "start"),
        ({"start": "2025-03-01"}, "end"),
        ({"start": "2025-02-30", "end": "2025-03-31"}, "start"),
        ({"start": "2025-03-31", "end": "2025-03-01"}, "end"),
        ({"start": "2020-01-01", "end": "2025-03-01"}, "end"),
        ({**MARCH, "segment": "9999"}, "segment"),
        ({**MARCH, "segment": "x"}, "segment"),
        ({**MARCH, "country": "XX"}, "country"),
        ({**MARCH, "language": "tlh"}, "language"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_the_field(
    api_client, manager, params, field
):
    api_client.force_authenticate(manager)

    for url in (METRICS, COHORTS):
        response = api_client.get(url, params)
        assert response.status_code == 400
        assert field in response.json()


def test_a_segment_narrows_the_metrics(api_client, manager):
    customer(since=at("2024-01-01"), country="KR")
    customer(since=at("2024-01-01"), country="US")
    segment = Segment.objects.create(name="Korea", filters={"country": ["KR"]})
    rollups_rebuild()
    api_client.force_authenticate(manager)

    body = api_client.get(METRICS, {**MARCH, "segment": segment.pk}).json()

    assert body["filters"]["segment"] == segment.pk
    assert body["metrics"]["retention_rate"]["inputs"]["S"] == 1


def test_cohorts_endpoint_returns_the_matrix(api_client, manager):
    customer(since=at("2025-01-15"))
    customer(since=at("2025-01-20"), churned=at("2025-02-10"))
    rollups_rebuild()
    api_client.force_authenticate(manager)

    body = api_client.get(COHORTS, MARCH).json()

    january = next(row for row in body["rows"] if row["cohort"] == "2025-01")
    assert january["customers"] == 2
    assert january["retention"][:3] == [100.0, 50.0, 50.0]
    assert january["retention"][3] is None  # April has not ended by 2025-03-31
    assert len(body["rows"]) == 12


@pytest.mark.parametrize("url", [METRICS, COHORTS])
def test_customers_and_anonymous_callers_are_refused(api_client, customer_a, url):
    assert api_client.get(url, MARCH).status_code in (401, 403)
    api_client.force_authenticate(customer_a)
    assert api_client.get(url, MARCH).status_code == 403


def test_metrics_query_count_is_pinned(
    api_client, manager, data, django_assert_max_num_queries
):
    segment = Segment.objects.create(name="Korea", filters={"country": ["KR"]})
    api_client.force_authenticate(manager)
    api_client.get(
        METRICS, {**MARCH, "segment": segment.pk}
    )  # materialises the segment
    rollups_refresh()

    with django_assert_max_num_queries(14):  # + segment, rollup state, programme
        response = api_client.get(
            METRICS, {**MARCH, "segment": segment.pk, "country": "KR"}
        )

    assert response.status_code == 200


def test_cohorts_query_count_is_pinned(
    api_client, manager, data, django_assert_max_num_queries
):
    api_client.force_authenticate(manager)

    # 3: + the rollups' refresh time, part of the cache key; the matrix itself is one query.
    with django_assert_max_num_queries(3):
        response = api_client.get(COHORTS, MARCH)
    # Served from the cache until the next refresh: no matrix query.
    with django_assert_max_num_queries(2):
        again = api_client.get(COHORTS, MARCH)

    assert response.status_code == 200
    assert again.json() == response.json()


def test_both_endpoints_are_in_the_openapi_schema(api_client, manager):
    api_client.force_authenticate(manager)

    schema = api_client.get(reverse("schema"), {"format": "json"}).json()

    assert "/api/v1/analytics/metrics/" in schema["paths"]
    assert "/api/v1/analytics/cohorts/" in schema["paths"]
    parameters = {
        p["name"]
        for p in schema["paths"]["/api/v1/analytics/metrics/"]["get"]["parameters"]
    }
    assert {"start", "end", "segment"} <= parameters


def test_a_period_of_a_single_day_works(api_client, manager, data):
    api_client.force_authenticate(manager)
    day = dt.date(2025, 3, 5).isoformat()

    body = api_client.get(METRICS, {"start": day, "end": day}).json()

    assert body["period"]["days"] == 1
    assert body["metrics"]["revenue"]["value"] == "25.50"


def test_a_segment_created_after_the_last_refresh_is_filtered_at_once(
    api_client, manager
):
    customer(since=at("2024-01-01"), country="KR")
    customer(since=at("2024-01-01"), country="US")
    rollups_rebuild()
    segment = Segment.objects.create(name="Korea", filters={"country": ["KR"]})
    api_client.force_authenticate(manager)

    body = api_client.get(METRICS, {**MARCH, "segment": segment.pk}).json()

    assert body["metrics"]["retention_rate"]["inputs"]["S"] == 1
