"""The dashboard journey in a real browser, in Korean, under the strict CSP: a manager picks
last month, clicks the churn number, sees the customers lost and creates follow-up tasks for
their owners."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from analytics.periods import preset_period
from analytics.services import rollups_rebuild
from analytics.services.rollups import company_tz
from crm.models import Task
from crm.roles import Role
from tests.analytics.factories import customer
from tests.crm.factories import UserFactory
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=company_tz())


def test_manager_drills_into_churn_in_korean_and_creates_follow_up_tasks(
    page, password
):
    manager = UserFactory(
        role=Role.MANAGER,
        email="manager.ko@test.example",
        language="ko",
        password=password,
    )
    agent = UserFactory(role=Role.AGENT, email="agent.ko@test.example", language="ko")
    last_month = preset_period("last_month")
    a_year_before = moment(last_month.start - dt.timedelta(days=365))
    gone = moment(last_month.start + dt.timedelta(days=3))
    customer(
        since=a_year_before,
        churned=gone,
        given_name="민준",
        family_name="박",
        language="ko",
        owner=agent,
    )
    customer(since=a_year_before, churned=gone, given_name="Jane", family_name="Lost")
    customer(since=a_year_before, given_name="Stays", family_name="Loyal")
    rollups_rebuild()

    sign_in(page, "/accounts/login/", manager.email, password)
    page.goto("/dashboard/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#metric-churn_rate")).to_be_visible()
    # Chart.js is served from the vendored static files and drew the charts.
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-retention')")
    assert page.evaluate("Chart.getChart('chart-feedback') !== undefined")

    # Changing the period submits the form (static JS, no inline script).
    with page.expect_navigation():
        page.select_option("#id_period", "last_month")
    assert "period=last_month" in page.url
    churn = page.locator("#metric-churn_rate a.metric__value--link")
    expect(churn).to_contain_text("66.7")  # 2 lost of the 3 customers at the start

    churn.click()
    page.wait_for_load_state()
    rows = page.locator("#drilldown-contacts tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#drilldown-contacts")).to_contain_text("박민준")
    expect(page.locator("#drilldown-contacts")).to_contain_text("Jane")
    expect(page.locator("#drilldown-contacts")).not_to_contain_text("Stays")

    page.locator("#create-followups").click()
    page.wait_for_load_state()
    expect(page.locator("#drilldown-contacts")).to_be_visible()

    tasks = Task.objects.select_related("assignee", "contact").order_by(
        "contact__given_name"
    )
    assert {(t.contact.given_name, t.assignee.email) for t in tasks} == {
        ("민준", agent.email),
        ("Jane", manager.email),  # no owner: the manager's own task
    }
    assert not [m for m in page.console_messages if "Content Security Policy" in m]
