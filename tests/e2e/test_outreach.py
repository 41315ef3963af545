"""The campaign journey in a real browser: a manager writes a campaign for a segment, watches the
live preview in Korean, sees who it reaches, sends a test to themself, schedules it and then
cancels it, all under the strict CSP."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import Campaign
from crm.services import consents_set, contact_create, segment_create
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_creates_tests_schedules_and_cancels_a_campaign(
    page, manager, password
):
    contact_create(given_name="No", family_name="Consent", country="KR")
    for given, family, email, language in (
        ("Anna", "Schmidt", "anna@example.de", "en"),
        ("길동", "홍", "gildong@example.kr", "ko"),  # the newest: the preview's default
    ):
        person = contact_create(
            given_name=given,
            family_name=family,
            email=email,
            language=language,
            country="KR",
            timezone="Asia/Seoul",
        )
        consents_set(contact=person, consents={"marketing_email": True}, source="staff")
    segment_create(name="Korea", filters={"country": ["KR"]}, created_by=manager)
    send_on = timezone.localdate() + dt.timedelta(days=7)

    sign_in(page, "/accounts/login/", manager.email, password)
    page.goto("/outreach/")
    page.get_by_role("navigation", name="Outreach").get_by_role(
        "link", name="Campaigns"
    ).click()
    expect(page.get_by_role("heading", name="No campaigns yet")).to_be_visible()
    page.get_by_role("link", name="Create the first campaign").click()
    page.wait_for_load_state()

    form = page.locator("#campaign-form")
    form.locator("input[name=name]").fill("Chuseok greetings")
    form.locator("select[name=segment]").select_option(label="Korea")
    form.locator("input[name=send_on]").fill(send_on.isoformat())
    form.locator("input[name=send_time]").fill("10:30")
    form.locator("input[name=subject_en]").fill("Happy Chuseok, {{ first_name }}")
    form.locator("textarea[name=body_text_en]").fill("{{ salutation }}, enjoy!")
    form.locator("textarea[name=body_text_ko]").fill("{{ salutation }}, 풍성한 한가위!")
    form.locator("input[name=subject_ko]").fill("{{ salutation }}, 즐거운 한가위")

    # The live preview follows the typing: Korean, with the Korean salutation.
    preview = page.locator("#preview-result")
    expect(preview).to_contain_text("홍길동 고객님, 즐거운 한가위")
    expect(preview).to_contain_text("Korean")
    # An unknown placeholder is named before saving.
    form.locator("input[name=subject_ko]").fill("{{ coupon }}")
    expect(preview).to_contain_text("Subject (Korean)")
    expect(preview).to_contain_text("Unknown placeholder")
    form.locator("input[name=subject_ko]").fill("{{ salutation }}, 즐거운 한가위")
    expect(preview).to_contain_text("홍길동 고객님, 즐거운 한가위")

    form.get_by_role("button", name="Save as draft").click()
    campaign = Campaign.objects.get()
    expect(page).to_have_url(re.compile(rf"/outreach/campaigns/{campaign.pk}/$"))
    expect(page.locator("[data-stat=total]")).to_have_text("3")
    expect(page.locator("[data-stat=reachable]")).to_have_text("2")
    expect(page.locator("[data-stat=no_consent]")).to_have_text("1")

    page.get_by_role("button", name="Send a test to me").click()
    expect(page.locator("[data-messages]")).to_contain_text(
        f"A test was sent to {manager.email}"
    )
    assert [message.to for message in mail.outbox] == [[manager.email]]

    page.get_by_role("link", name="Schedule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule the campaign?")
    expect(page.locator("main")).to_contain_text("10:30")
    expect(page.locator("[data-confirm-count]")).to_contain_text(
        "2 of 3 recipients will receive it"
    )
    page.get_by_role("button", name="Schedule it").click()
    expect(page.locator("[data-messages]")).to_contain_text("is scheduled")
    expect(page.locator(".page-header__lead .badge")).to_have_text("Scheduled")

    page.get_by_role("link", name="Cancel campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel the campaign?")
    page.get_by_role("button", name="Cancel the campaign").click()
    expect(page.locator("[data-messages]")).to_contain_text(
        "0 planned messages were stopped"
    )
    expect(page.locator(".page-header__lead .badge")).to_have_text("Cancelled")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED

    assert not [m for m in page.console_messages if "Content Security Policy" in m]
    assert not [m for m in page.console_messages if "Refused to" in m]
