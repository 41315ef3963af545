"""The customer portal in a real browser: a Korean member opens an emailed sign-in link, sees
their points and tier in Korean, redeems a reward after confirming, gets the voucher, and
cannot open anyone else's."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sesame.utils import get_query_string

from loyalty.models import Program, Redemption, Tier
from loyalty.services import account_get_or_create, bonus_grant, reward_redeem
from tests.crm.factories import ContactFactory
from tests.loyalty.factories import RewardFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def programme():
    """The data migration's tiers are gone after a transactional test's flush: make our own."""
    program = Program.load()
    program.welcome_bonus = 0
    program.save()
    Tier.objects.all().delete()
    for name_en, name_ko, threshold in (
        ("Member", "멤버", "0"),
        ("Gold", "골드", "3000"),
    ):
        Tier.objects.create(
            name_en=name_en, name_ko=name_ko, threshold=Decimal(threshold)
        )
    return program


def member(user, points, language):
    contact = ContactFactory(user=user, email=user.email, language=language)
    account, _created = account_get_or_create(contact=contact)
    bonus_grant(account=account, kind="other", points=points, key=f"e2e:{user.pk}")
    account.refresh_from_db()
    return account


def test_a_korean_member_redeems_a_reward_from_an_emailed_link(
    page, programme, customer_a, customer_b
):
    member(customer_a, 1250, "ko")
    reward = RewardFactory(name_en="Americano", name_ko="아메리카노 쿠폰", cost=300)
    other = reward_redeem(
        account=member(customer_b, 500, "en"), reward=reward, key="e2e:other"
    )

    page.goto(f"/portal/enter/{get_query_string(customer_a)}")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("[data-balance]")).to_have_text("1,250")
    expect(page.locator("[data-tier]")).to_have_text("멤버")
    expect(page.locator("progress")).to_be_visible()
    expect(page.locator(".tier-progress__ends")).to_contain_text("골드")

    page.locator("a[href='/portal/rewards/']").first.click()
    card = page.locator(".reward", has_text="아메리카노 쿠폰")
    card.locator(f"a[href='/portal/rewards/{reward.pk}/redeem/']").click()
    expect(page).to_have_url(re.compile(rf"/portal/rewards/{reward.pk}/redeem/$"))
    expect(page.locator(".sums")).to_contain_text("950")  # 1,250 - 300, left after
    page.locator("form[data-once] button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/portal/vouchers/[0-9a-f-]{36}/$"))
    redemption = Redemption.objects.get(account__contact__user=customer_a)
    expect(page.locator("[data-voucher-code]")).to_have_text(redemption.voucher_code)
    expect(page.locator("h1")).to_have_text("아메리카노 쿠폰")

    page.goto("/portal/")
    expect(page.locator("[data-balance]")).to_have_text("950")

    response = page.goto(f"/portal/vouchers/{other.public_id}/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(other.voucher_code)

    assert not [m for m in page.console_messages if "Content Security Policy" in m]


def test_the_portal_works_on_a_phone(browser, live_server, programme, customer_a):
    member(customer_a, 1250, "ko")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 375, "height": 740}
    )
    page = context.new_page()
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"/portal/enter/{get_query_string(customer_a)}")
    expect(page.locator("[data-balance]")).to_be_visible()
    # The page never scrolls sideways; the navigation scrolls within itself.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    navigation = page.locator("[data-portal-nav]")
    expect(navigation.locator("a[href='/portal/preferences/']")).to_be_attached()
    navigation.locator("a[href='/portal/referrals/']").click()
    expect(page).to_have_url(re.compile(r"/portal/referrals/$"))
    expect(page.locator("#referral-link")).to_have_value(
        re.compile(r"/portal/join/[2-9A-Z]{8}/$")
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert not [m for m in messages if "Content Security Policy" in m]
    context.close()
