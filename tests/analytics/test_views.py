"""The dashboard pages: cards with formulas, the agents' reduced view, drill-down to the
contacts behind a number with follow-up tasks, CSV exports, permissions and query counts."""

import csv
import io

import pytest
from django.urls import reverse

from analytics.services import rollups_rebuild
from crm.models import Task
from feedback.models import Survey
from tests.analytics.factories import at, buy, customer, respond
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("analytics:dashboard")
MARCH = {"period": "custom", "start": "2025-03-01", "end": "2025-03-31"}


@pytest.fixture
def lost(agent):
    """Two customers lost in March 2025 (one owned by the agent, one by nobody), one kept."""
    owned = customer(
        since=at("2024-01-01"),
        churned=at("2025-03-10"),
        owner=agent,
        given_name="Lost",
        family_name="Owned",
    )
    orphan = customer(
        since=at("2024-01-01"),
        last_purchase=at("2024-03-20"),  # inactive: gone on 2025-03-20
        given_name="=HYPERLINK(1)",
        family_name="Orphan",
    )
    customer(since=at("2024-01-01"), given_name="Kept")
    buyer = ContactFactory()
    buy(buyer, "10.00", "USD", at("2025-03-05"))
    respond(buyer, Survey.Kind.NPS, 2, at("2025-03-06"))
    rollups_rebuild()
    return owned, orphan


def _csv(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_manager_sees_cards_with_value_change_and_formula(client, manager, lost):
    client.force_login(manager)

    response = client.get(DASHBOARD, MARCH)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="metric-churn_rate"' in html
    assert "lost / S \u00d7 100 = 2 / 3 \u00d7 100" in html
    assert 'id="metric-revenue"' in html
    assert 'id="metric-cltv"' in html
    assert "Not enough data" in html  # CSAT: no answers
    assert 'id="dashboard-data"' in html  # chart data through json_script
    assert "cohort-table" in html


def test_agents_see_the_reduced_view_without_money_cards_or_revenue_export(
    client, agent, lost
):
    client.force_login(agent)

    html = client.get(DASHBOARD, MARCH).content.decode()

    assert 'id="metric-churn_rate"' in html
    assert 'id="metric-revenue"' not in html
    assert 'id="metric-average_order_value"' not in html
    assert 'id="metric-cltv"' not in html
    assert 'id="chart-revenue"' not in html
    revenue = reverse("analytics:export-csv", args=["revenue"])
    assert client.get(revenue, MARCH).status_code == 403
    customers = reverse("analytics:export-csv", args=["customers"])
    assert client.get(customers, MARCH).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        DASHBOARD,
        reverse("analytics:drilldown", args=["lost"]),
        reverse("analytics:drilldown-csv", args=["lost"]),
        reverse("analytics:export-csv", args=["customers"]),
        reverse("analytics:cohorts-csv"),
    ],
)
def test_customers_are_refused_and_anonymous_visitors_sent_to_sign_in(
    client, customer_a, url
):
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response.url
    client.force_login(customer_a)
    assert client.get(url).status_code == 403


def test_the_churn_number_drills_down_to_the_lost_customers(client, manager, lost):
    client.force_login(manager)
    html = client.get(DASHBOARD, MARCH).content.decode()
    link = reverse("analytics:drilldown", args=["lost"])
    assert link in html

    response = client.get(link, MARCH)

    names = [c.pk for c in response.context["contacts"]]
    assert sorted(names) == sorted(c.pk for c in lost)


def test_a_manager_starts_a_win_back_campaign_for_the_lost_customers(
    client, manager, agent, lost
):
    client.force_login(manager)
    page = client.get(reverse("analytics:drilldown", args=["lost"]), MARCH)
    assert 'id="start-campaign"' in page.content.decode()
    # The button submits the checked contacts to the new-campaign form (GET).
    form = client.get(
        reverse("crm:campaign_create"), {"contacts": [c.pk for c in lost]}
    )
    assert form.status_code == 200
    prefilled = form.context["form"].initial["contact_ids"]
    assert sorted(int(pk) for pk in prefilled.split(",")) == sorted(c.pk for c in lost)
    # Agents do not create campaigns, so they do not get the button.
    client.force_login(agent)
    page = client.get(reverse("analytics:drilldown", args=["lost"]), MARCH)
    assert 'id="start-campaign"' not in page.content.decode()


def test_follow_up_tasks_go_to_each_owner_or_to_me(client, manager, agent, lost):
    owned, orphan = lost
    client.force_login(manager)
    url = (
        reverse("analytics:drilldown", args=["lost"])
        + "?"
        + "&".join(f"{k}={v}" for k, v in MARCH.items())
    )

    response = client.post(
        url,
        {
            "contacts": [owned.pk, orphan.pk],
            "title": "Win them back",
            "due_on": "2099-01-10",
            "notes": "",
        },
    )

    assert response.status_code == 302
    tasks = {t.contact_id: t for t in Task.objects.filter(title="Win them back")}
    assert tasks[owned.pk].assignee == agent
    assert tasks[orphan.pk].assignee == manager  # no owner: the task is the manager's
    assert tasks[owned.pk].created_by == manager


def test_follow_up_needs_a_contact_and_a_future_day(client, manager, lost):
    client.force_login(manager)
    url = (
        reverse("analytics:drilldown", args=["lost"])
        + "?period=custom&start=2025-03-01&end=2025-03-31"
    )

    response = client.post(url, {"title": "x", "due_on": "2000-01-01"})

    assert response.status_code == 200
    assert response.context["followup"].errors.keys() == {"contacts", "due_on"}
    assert not Task.objects.filter(title="x").exists()


def test_drilldown_and_card_exports_neutralise_formulas(client, manager, lost):
    client.force_login(manager)

    rows = _csv(client.get(reverse("analytics:drilldown-csv", args=["lost"]), MARCH))

    assert rows[0][:3] == ["contact_id", "given_name", "family_name"]
    given_names = {row[1] for row in rows[1:]}
    assert "'=HYPERLINK(1)" in given_names
    revenue = _csv(client.get(reverse("analytics:export-csv", args=["revenue"]), MARCH))
    assert revenue[0] == [
        "contact_id",
        "day",
        "country",
        "language",
        "orders",
        "revenue",
    ]
    assert len(revenue) == 2
    customers = _csv(
        client.get(reverse("analytics:export-csv", args=["customers"]), MARCH)
    )
    assert sorted(row[5] for row in customers[1:]) == [
        "lost",
        "lost",
        "new",
        "retained",
    ]


def test_cohort_matrix_exports_as_csv(client, manager, lost):
    client.force_login(manager)

    rows = _csv(client.get(reverse("analytics:cohorts-csv"), MARCH))

    assert rows[0][:3] == ["cohort", "customers", "month_0"]
    assert len(rows) == 13  # header + 12 cohorts


def test_a_bad_custom_period_names_the_field_and_shows_this_month(client, manager):
    client.force_login(manager)

    response = client.get(
        DASHBOARD, {"period": "custom", "start": "2025-03-31", "end": "2025-03-01"}
    )

    assert response.status_code == 200
    assert "end" in response.context["form"].errors


def test_the_dashboard_page_query_count_is_pinned(
    client, manager, lost, django_assert_max_num_queries
):
    client.force_login(manager)
    client.get(DASHBOARD, MARCH)  # warm the session and caches

    # 19: + the staff users of the owner filter's list (read once, when it is rendered).
    with django_assert_max_num_queries(19):
        response = client.get(DASHBOARD, MARCH)

    assert response.status_code == 200


def test_drilldown_page_query_count_is_pinned(
    client, manager, lost, django_assert_max_num_queries
):
    client.force_login(manager)
    url = reverse("analytics:drilldown", args=["lost"])
    client.get(url, MARCH)

    with django_assert_max_num_queries(4):
        response = client.get(url, MARCH)

    assert response.status_code == 200


def test_unknown_drilldown_or_export_is_404(client, manager):
    client.force_login(manager)

    assert client.get(reverse("analytics:drilldown", args=["nope"])).status_code == 404
    assert client.get(reverse("analytics:export-csv", args=["nope"])).status_code == 404


def test_the_dashboard_filters_by_a_brand_new_segment(client, manager, agent, lost):
    from crm.models import Segment

    segment = Segment.objects.create(name="Aron's", filters={"owner": [str(agent.pk)]})
    client.force_login(manager)

    response = client.get(DASHBOARD, {**MARCH, "segment": segment.pk})

    assert response.context["data"].metrics["churn_rate"].inputs == {"lost": 1, "S": 1}
