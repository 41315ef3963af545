"""The app shell in a real browser: staff sign-in, language switch, sign-out; customers kept out."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_signs_in_switches_to_korean_and_signs_out(page, manager, password):
    sign_in(page, "/accounts/login/", manager.email, password)
    expect(page).to_have_url(re.compile(r"/$"))
    navigation = page.get_by_role("navigation").first
    expect(navigation.get_by_role("link", name="Contacts")).to_be_visible()
    expect(page.locator("body")).to_contain_text(manager.display_name)

    page.locator("select[name=language]").first.select_option("ko")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(navigation.get_by_role("link", name="연락처")).to_be_visible()
    page.reload()  # the choice is kept on the user, not only for this page
    expect(page.locator("html")).to_have_attribute("lang", "ko")

    page.locator("form[action='/accounts/logout/'] [type=submit]").first.click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/"))
    assert not [m for m in page.console_messages if "Content Security Policy" in m]


def test_wrong_password_shows_an_error_in_the_browser(page, agent):
    sign_in(page, "/accounts/login/", agent.email, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text(
        "Please enter a correct email address and password"
    )
    expect(page.locator("input[name=username]")).to_have_value(agent.email)


def test_portal_customer_is_refused_from_admin_and_the_staff_home(
    page, customer_a, password
):
    sign_in(page, "/portal/login/", customer_a.email, password)
    expect(page).to_have_url(re.compile(r"/portal/$"))

    response = page.goto("/")
    assert response.status == 403
    expect(page.locator("a[href='/portal/']").first).to_be_visible()

    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator("body")).not_to_contain_text("Site administration")
