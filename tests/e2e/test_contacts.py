"""The contact journey in a real browser: search a Korean name, open the contact, log a call and
record a purchase in KRW inline (HTMX, no page reload), all under the strict CSP."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.services import contact_create, exchange_rate_set
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _base_usd(settings):
    settings.BASE_CURRENCY = "USD"
    settings.TIME_ZONE = "UTC"


def test_agent_finds_a_korean_contact_logs_a_call_and_records_a_krw_purchase(
    page, agent, password
):
    contact = contact_create(
        given_name="길동",
        family_name="홍",
        language="ko",
        email="gildong@example.kr",
        phone="+82 10-1234-5678",
        country="KR",
        timezone="Asia/Seoul",
    )
    contact_create(given_name="Anna", family_name="Schmidt", email="anna@example.de")
    exchange_rate_set(
        currency="KRW",
        date=timezone.localdate() - dt.timedelta(days=1),
        rate="0.0007425",
    )

    sign_in(page, "/accounts/login/", agent.email, password)
    page.get_by_role("navigation").first.get_by_role("link", name="Contacts").click()
    page.wait_for_load_state()  # htmx is loaded (deferred) before the load event
    expect(page.locator("#contact-results")).to_contain_text("Anna Schmidt")

    # The search updates the table in place (HTMX) and the address bar keeps the query.
    page.fill("input[name=q]", "길동")
    expect(page.locator("#contact-results")).not_to_contain_text("Anna Schmidt")
    expect(page).to_have_url(re.compile(r"q=%EA%B8%B8%EB%8F%99|q=길동"))
    results = page.locator("#contact-results")
    expect(results.get_by_role("link", name="홍길동")).to_be_visible()
    expect(results).to_contain_text("+82 10-1234-5678")
    results.get_by_role("link", name="홍길동").click()
    expect(page).to_have_url(re.compile(rf"/contacts/{contact.pk}/$"))
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("홍길동")

    # Mark the page: if anything below reloaded it, the mark would be gone.
    page.evaluate("window.__stillTheSamePage = true")

    form = page.locator("#interaction-form")
    form.locator("select[name=kind]").select_option("call")
    form.locator("input[name=subject]").fill("Asked about the spring catalogue")
    form.locator("textarea[name=body]").fill("Wants the Korean edition.")
    form.locator("input[name=duration_minutes]").fill("12")
    form.get_by_role("button", name="Log interaction").click()
    timeline = page.locator("#timeline")
    first_entry = timeline.locator(".timeline__entry").first
    expect(first_entry).to_contain_text("Asked about the spring catalogue")
    expect(first_entry).to_contain_text("12 min")
    expect(page.locator("#interaction-form")).to_contain_text("Interaction logged.")
    expect(page.locator("#interaction-form input[name=subject]")).to_have_value("")

    page.locator("summary", has_text="Record a purchase").click()
    purchase = page.locator("#purchase-form")
    expect(purchase.locator("input[name=amount]")).to_be_visible()
    purchase.locator("input[name=amount]").fill("120000")
    purchase.locator("select[name=currency]").select_option("KRW")
    purchase.get_by_role("button", name="Record purchase").click()
    entry = timeline.locator(".timeline__entry--purchase").first
    expect(entry).to_contain_text("₩120,000")
    expect(entry).to_contain_text("$89.10")
    expect(page.locator("#contact-profile")).to_contain_text("Customer since")
    expect(page.locator("#contact-profile")).not_to_contain_text("Not a customer yet")

    assert page.evaluate("window.__stillTheSamePage") is True
    assert not [m for m in page.console_messages if "Content Security Policy" in m]
    assert not [m for m in page.console_messages if "Refused to" in m]


def test_a_missing_exchange_rate_is_shown_in_the_form(page, agent, password):
    contact = contact_create(given_name="Anna", family_name="Schmidt")
    sign_in(page, "/accounts/login/", agent.email, password)
    page.goto(f"/contacts/{contact.pk}/")
    page.locator("summary", has_text="Record a purchase").click()
    purchase = page.locator("#purchase-form")
    expect(purchase.locator("input[name=amount]")).to_be_visible()
    purchase.locator("input[name=amount]").fill("5000")
    purchase.locator("select[name=currency]").select_option("JPY")
    purchase.get_by_role("button", name="Record purchase").click()
    expect(page.locator("#purchase-form")).to_contain_text(
        "No exchange rate for JPY on or before"
    )
    assert not [m for m in page.console_messages if "Content Security Policy" in m]
