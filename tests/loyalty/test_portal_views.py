"""The customer portal: each page for its owner only, in the owner's language and time zone;
redeeming once per form token; preferences; joining through a referral link."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from crm.models import Consent, Contact, User
from crm.services import consents_set
from loyalty.models import LoyaltyAccount, PointsEntry, Redemption, Referral
from loyalty.services import bonus_grant, reward_redeem
from tests.crm.factories import ContactFactory
from tests.loyalty.factories import RewardFactory, key, member

pytestmark = pytest.mark.django_db

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


@pytest.fixture(autouse=True)
def _fresh_limits_and_eager_tasks(monkeypatch):
    cache.clear()  # the sign-in link limit per address
    # The sign-in email is a Celery task; run it in-process here.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


@pytest.fixture
def account_a(customer_a, tiers):
    """customer_a (지민, Korean) as a member with 1,000 points, living in Seoul."""
    tiers["Member"].name_ko = "멤버"
    tiers["Member"].save()
    contact = ContactFactory(
        user=customer_a,
        email=customer_a.email,
        given_name="지민",
        family_name="김",
        language="ko",
        timezone=SEOUL,
    )
    return member(1000, contact=contact)


@pytest.fixture
def account_b(customer_b):
    contact = ContactFactory(
        user=customer_b, email=customer_b.email, given_name="Bea", language="en"
    )
    return member(500, contact=contact)


@pytest.fixture
def voucher_b(account_b):
    return reward_redeem(
        account=account_b, reward=RewardFactory(name_en="Tote bag"), key=key()
    )


def korean_date(moment: dt.datetime) -> str:
    local = moment.astimezone(SEOUL)
    return f"{local.year}년 {local.month}월 {local.day}일"


def portal_pages(account):
    reward = RewardFactory(cost=100)
    redemption = reward_redeem(account=account, reward=reward, key=key())
    return [
        reverse("portal:home"),
        reverse("portal:history"),
        reverse("portal:rewards"),
        reverse("portal:redeem", args=[reward.pk]),
        reverse("portal:vouchers"),
        reverse("portal:voucher", args=[redemption.public_id]),
        reverse("portal:referrals"),
        reverse("portal:preferences"),
    ]


# --- Who may see what ------------------------------------------------------------------------


def test_every_portal_page_opens_for_its_owner(client, customer_a, account_a):
    client.force_login(customer_a)
    for url in portal_pages(account_a):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'class="portal-nav"' in response.content, url


def test_anonymous_visitors_are_sent_to_the_portal_sign_in(client, account_a):
    for url in portal_pages(account_a):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/portal/login/?next="), url


@pytest.mark.parametrize("role", ["agent", "manager", "admin"])
def test_staff_are_refused_from_every_portal_page(client, request, role, account_a):
    client.force_login(request.getfixturevalue(role))
    for url in portal_pages(account_a):
        assert client.get(url).status_code == 403, url


def test_a_customer_without_a_contact_is_told_the_membership_is_not_set_up(
    client, customer_b
):
    client.force_login(customer_b)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert b"membership is not set up" in response.content
    assert not LoyaltyAccount.objects.exists()


def test_the_first_visit_opens_the_loyalty_account(client, customer_b):
    contact = ContactFactory(user=customer_b, email=customer_b.email, language="en")
    client.force_login(customer_b)
    assert client.get(reverse("portal:home")).status_code == 200
    account = LoyaltyAccount.objects.get(contact=contact)
    assert account.tier.name_en == "Member"


def test_another_customers_voucher_is_not_found(
    client, customer_a, account_a, voucher_b
):
    client.force_login(customer_a)
    response = client.get(reverse("portal:voucher", args=[voucher_b.public_id]))
    assert response.status_code == 404
    assert voucher_b.voucher_code.encode() not in response.content
    mine = reward_redeem(account=account_a, reward=RewardFactory(), key=key())
    assert (
        client.get(reverse("portal:voucher", args=[mine.public_id])).status_code == 200
    )


def test_the_voucher_list_shows_only_the_customers_own(
    client, customer_a, account_a, voucher_b
):
    mine = reward_redeem(account=account_a, reward=RewardFactory(), key=key())
    client.force_login(customer_a)
    content = client.get(reverse("portal:vouchers")).content.decode()
    assert mine.voucher_code in content
    assert voucher_b.voucher_code not in content


def test_history_shows_only_the_customers_own_entries_whatever_the_cursor(
    client, customer_a, account_a, account_b
):
    bonus_grant(
        account=account_b, kind="other", points=77, key=key(), reason="Bea's secret"
    )
    foreign = PointsEntry.objects.filter(account=account_b).first()
    client.force_login(customer_a)
    response = client.get(reverse("portal:history"))
    assert b"Bea&#x27;s secret" not in response.content
    # A cursor made from another member's entry still pages through this member's only.
    from crm.pagination import _encode_cursor

    cursor = _encode_cursor("n", foreign, ("-created_at", "-id"))
    response = client.get(reverse("portal:history"), {"cursor": cursor})
    assert response.status_code == 200
    assert b"Bea&#x27;s secret" not in response.content


def test_a_reward_that_does_not_exist_is_not_found(client, customer_a, account_a):
    client.force_login(customer_a)
    assert client.get(reverse("portal:redeem", args=[999_999])).status_code == 404


# --- Overview, history ----------------------------------------------------------------------


def test_the_overview_shows_balance_tier_progress_and_expiring_points(
    client, customer_a, account_a, program
):
    program.expiry_months = 1
    # A month can be 31 days: warn for longer than any month, whatever today is.
    program.expiry_warning_days = 35
    program.save()
    bonus_grant(account=account_a, kind="other", points=250, key=key())
    client.force_login(customer_a)
    response = client.get(reverse("portal:home"))
    content = response.content.decode()
    assert 'lang="ko"' in content
    assert "1,250" in content  # the balance, grouped
    assert "멤버" in content  # the tier, in Korean
    assert "<progress" in content
    assert 'max="1000.00"' in content  # Member (0) → Silver (1,000)
    assert "Silver (ko)" in content
    # The 250 points expire in a month: within the programme's 35 warning days.
    expires = PointsEntry.objects.filter(points=250).get().expires_at
    assert korean_date(expires) in content


def test_dates_are_shown_in_the_customers_time_zone(client, customer_a, account_a):
    # 23:30 in London is already the next day in Seoul.
    moment = (timezone.now() - dt.timedelta(days=3)).replace(
        hour=23, minute=30, second=0, microsecond=0
    )
    bonus_grant(
        account=account_a, kind="other", points=5, key=key(), reason="Late", now=moment
    )
    client.force_login(customer_a)
    content = client.get(reverse("portal:history")).content.decode()
    assert korean_date(moment) in content
    assert moment.astimezone(SEOUL).date() != moment.date()


def test_history_pages_by_cursor(client, customer_a, account_a):
    for n in range(30):
        bonus_grant(
            account=account_a,
            kind="other",
            points=1,
            key=key(),
            reason=f"entry-{n:02d}",
        )
    client.force_login(customer_a)
    first = client.get(reverse("portal:history")).content.decode()
    assert "entry-29" in first
    assert "entry-05" in first
    assert "entry-04" not in first
    cursor = re.search(r'href="\?cursor=([\w-]+)" rel="next"', first).group(1)
    second = client.get(reverse("portal:history"), {"cursor": cursor}).content.decode()
    assert "entry-04" in second
    assert "entry-05" not in second
    assert 'rel="prev"' in second


def test_pages_render_in_the_contacts_language_not_the_browsers(
    client, customer_a, account_a
):
    client.force_login(customer_a)
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    content = response.content.decode()
    assert 'lang="ko"' in content
    assert "로그아웃" in content  # "Sign out"
    assert "멤버" in content


# --- Rewards and redeeming -------------------------------------------------------------------


def redeem(client, reward, token):
    return client.post(reverse("portal:redeem", args=[reward.pk]), {"token": token})


def test_the_catalog_says_what_each_reward_needs(client, customer_b, account_b, tiers):
    RewardFactory(name_en="Cheap", name_ko="저렴한 선물", cost=100)
    RewardFactory(name_en="Dear", cost=800)
    RewardFactory(name_en="Gone", cost=10, stock=0)
    RewardFactory(name_en="Gold only", cost=10, min_tier=tiers["Gold"])
    RewardFactory(name_en="Retired", cost=10, active=False)
    client.force_login(customer_b)
    content = client.get(reverse("portal:rewards")).content.decode()
    assert "Cheap" in content  # customer_b reads English
    assert "저렴한 선물" not in content
    assert "You need 300 more points." in content
    assert "out of stock" in content
    assert "For Gold members and above." in content
    assert "Retired" not in content


def test_redeeming_twice_with_the_same_token_redeems_once(
    client, customer_a, account_a
):
    reward = RewardFactory(cost=300, stock=5)
    client.force_login(customer_a)
    page = client.get(reverse("portal:redeem", args=[reward.pk])).content.decode()
    token = re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)
    first = redeem(client, reward, token)
    second = redeem(client, reward, token)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    redemption = Redemption.objects.get()
    assert first["Location"] == reverse("portal:voucher", args=[redemption.public_id])
    account_a.refresh_from_db()
    reward.refresh_from_db()
    assert (account_a.balance, reward.stock) == (700, 4)
    voucher = client.get(first["Location"]).content.decode()
    assert redemption.voucher_code in voucher
    # A new confirmation (a new token) is a new redemption.
    assert redeem(client, reward, "0" * 31 + "1").status_code == 302
    assert Redemption.objects.count() == 2


def test_not_enough_points_is_explained_and_takes_nothing(
    client, customer_b, account_b
):
    reward = RewardFactory(cost=5000)
    client.force_login(customer_b)
    response = redeem(client, reward, "a" * 32)
    assert response.status_code == 409
    content = response.content.decode()
    assert "Not enough points" in content
    assert "No points were taken." in content
    assert not PointsEntry.objects.filter(kind=PointsEntry.Kind.REDEEM).exists()
    account_b.refresh_from_db()
    assert account_b.balance == 500


def test_out_of_stock_and_tier_refusals_are_explained(
    client, customer_b, account_b, tiers
):
    client.force_login(customer_b)
    gone = RewardFactory(cost=10, stock=0)
    response = redeem(client, gone, "b" * 32)
    assert response.status_code == 409
    assert b"out of stock" in response.content
    gold = RewardFactory(cost=10, min_tier=tiers["Gold"])
    response = redeem(client, gold, "c" * 32)
    assert response.status_code == 409
    assert b"This reward is for Gold members and above." in response.content
    assert not Redemption.objects.exists()


def test_a_redeem_without_a_token_is_refused(client, customer_a, account_a):
    reward = RewardFactory(cost=10)
    client.force_login(customer_a)
    response = client.post(reverse("portal:redeem", args=[reward.pk]), {})
    assert response.status_code == 400
    assert not Redemption.objects.exists()


# --- Referrals -------------------------------------------------------------------------------


def test_the_referral_page_shows_the_absolute_link_and_the_referrals(
    client, customer_a, account_a
):
    friend = ContactFactory(given_name="Minho")
    Referral.objects.create(
        referrer=account_a, referred_contact=friend, code=account_a.referral_code
    )
    client.force_login(customer_a)
    content = client.get(reverse("portal:referrals")).content.decode()
    assert f"http://testserver/portal/join/{account_a.referral_code}/" in content
    assert "data-copy=" in content
    assert "Minho" in content


# --- Preferences -----------------------------------------------------------------------------


def test_preferences_change_language_time_zone_and_consent(
    client, customer_a, account_a
):
    contact = account_a.contact
    consents_set(contact=contact, consents={"sms": True}, source="staff")
    client.force_login(customer_a)
    response = client.post(
        reverse("portal:preferences"),
        {
            "language": "en",
            "timezone": "Europe/Berlin",
            "consent_marketing_email": "on",
            "consent_surveys": "on",
        },
        REMOTE_ADDR="203.0.113.9",
        follow=True,
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'lang="en"' in content  # shown at once in the new language
    assert "Your preferences are saved." in content
    contact.refresh_from_db()
    customer_a.refresh_from_db()
    assert (contact.language, str(contact.timezone)) == ("en", "Europe/Berlin")
    assert customer_a.language == "en"
    consents = {c.purpose: c for c in Consent.objects.filter(contact=contact)}
    assert {p: c.granted for p, c in consents.items()} == {
        "marketing_email": True,
        "sms": False,
        "surveys": True,
    }  # profiling was never asked and left unticked: no answer recorded
    for consent in consents.values():
        assert consent.source == Consent.Source.PORTAL
        assert consent.ip_address == "203.0.113.9"
        assert consent.changed_by == customer_a


def test_a_bad_time_zone_is_refused_naming_the_field(client, customer_a, account_a):
    client.force_login(customer_a)
    response = client.post(
        reverse("portal:preferences"), {"language": "ko", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 400
    assert b'id="id_timezone_error' in response.content or b"errorlist" in (
        response.content
    )
    account_a.contact.refresh_from_db()
    assert account_a.contact.timezone == SEOUL


def test_the_header_language_picker_changes_the_contacts_language(
    client, customer_a, account_a
):
    client.force_login(customer_a)
    response = client.post(
        reverse("portal:language"), {"language": "en", "next": "/portal/rewards/"}
    )
    assert response["Location"] == "/portal/rewards/"
    account_a.contact.refresh_from_db()
    assert account_a.contact.language == "en"
    assert 'lang="en"' in client.get("/portal/rewards/").content.decode()


# --- Joining through a referral link ---------------------------------------------------------


@pytest.fixture
def referrer():
    contact = ContactFactory(
        given_name="Jimin", email="jimin@example.com", language="ko"
    )
    return member(0, contact=contact)


def join(client, code, django_capture_on_commit_callbacks, **fields):
    data = {
        "given_name": "Minho",
        "family_name": "Lee",
        "email": "minho@example.com",
        "language": "ko",
        "timezone": "Asia/Seoul",
        "consent_marketing_email": "on",
        **fields,
    }
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("portal:join", args=[code]), data)


def test_the_join_page_opens_for_a_known_code(client, referrer):
    response = client.get(reverse("portal:join", args=[referrer.referral_code.lower()]))
    assert response.status_code == 200
    assert b"A friend invited you" in response.content


def test_joining_creates_the_contact_the_referral_the_account_and_sends_a_link(
    client, referrer, django_capture_on_commit_callbacks
):
    response = join(client, referrer.referral_code, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert (
        b"Check your inbox" in response.content or "받은" in response.content.decode()
    )
    contact = Contact.objects.get(email="minho@example.com")
    assert (contact.source, contact.language, str(contact.timezone)) == (
        "referral",
        "ko",
        "Asia/Seoul",
    )
    referral = Referral.objects.get(referred_contact=contact)
    assert (referral.referrer, referral.status) == (referrer, "pending")
    assert contact.user.role == "Customer"
    assert LoyaltyAccount.objects.filter(contact=contact).exists()
    consents = {c.purpose: (c.granted, c.source) for c in contact.consents.all()}
    assert consents == {
        "marketing_email": (True, "portal"),
        "surveys": (False, "portal"),
    }
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["minho@example.com"]
    assert "/portal/enter/?sesame=" in mail.outbox[0].body


def test_referring_oneself_is_refused_with_the_reason(
    client, referrer, django_capture_on_commit_callbacks
):
    response = join(
        client,
        referrer.referral_code,
        django_capture_on_commit_callbacks,
        email="jimin+second@example.com",
    )
    assert response.status_code == 400
    assert b"Members cannot refer themselves." in response.content
    assert not Contact.objects.filter(email="jimin+second@example.com").exists()
    assert not User.objects.filter(email="jimin+second@example.com").exists()
    assert mail.outbox == []


def test_an_address_that_is_already_known_is_told_to_sign_in(
    client, referrer, django_capture_on_commit_callbacks
):
    ContactFactory(email="minho@example.com")
    response = join(client, referrer.referral_code, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert b"Sign in with this email address instead" in response.content
    assert b'href="/portal/login/"' in response.content
    assert Contact.objects.filter(email="minho@example.com").count() == 1
    assert not Referral.objects.exists()
    assert mail.outbox == []


def test_missing_fields_are_named(client, referrer, django_capture_on_commit_callbacks):
    response = join(
        client,
        referrer.referral_code,
        django_capture_on_commit_callbacks,
        given_name="",
        email="not-an-email",
    )
    assert response.status_code == 400
    assert b"This field is required." in response.content
    assert b"Enter a valid email address." in response.content
    assert not Contact.objects.filter(source="referral").exists()


def test_an_unknown_code_is_a_friendly_404(client, referrer):
    response = client.get(reverse("portal:join", args=["NOSUCHCODE"]))
    assert response.status_code == 404
    assert b"This invitation link does not work" in response.content
    response = client.post(
        reverse("portal:join", args=["NOSUCHCODE"]), {"email": "x@example.com"}
    )
    assert response.status_code == 404
    assert not Contact.objects.filter(email="x@example.com").exists()


# --- Query counts ----------------------------------------------------------------------------


# session, user, contact, account, then the page's own reads (the overview: the summary's
# programme, tiers, qualification and expiring points, the entries, the open vouchers).
PINNED_QUERIES = {
    "portal:home": 14,
    "portal:history": 7,
    "portal:rewards": 8,
    "portal:vouchers": 4,
}


@pytest.mark.parametrize("url_name", list(PINNED_QUERIES))
def test_portal_pages_run_the_same_queries_for_few_or_many_rows(
    client, customer_a, account_a, url_name
):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(url_name)).status_code == 200
        return len(captured)

    def add_rows(n: int) -> None:
        for _ in range(n):
            reward = RewardFactory(cost=1, stock=10)
            reward_redeem(account=account_a, reward=reward, key=key())

    client.force_login(customer_a)
    add_rows(2)
    few = count()
    add_rows(20)
    assert count() == few
    assert few <= PINNED_QUERIES[url_name]
