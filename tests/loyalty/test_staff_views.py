"""Staff loyalty pages: the programme overview, cancelling vouchers, and the contact page panel
with its HTMX forms (adjust points: managers; redeem on behalf: all staff)."""

import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import hooks
from loyalty.models import LoyaltyAccount, PointsEntry, Redemption, Referral
from loyalty.panels import contact_panel
from loyalty.services import reward_redeem
from tests.crm.factories import ContactFactory
from tests.loyalty.factories import RewardFactory, key, member

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def account():
    return member(1000, contact=ContactFactory(given_name="Hana", language="en"))


@pytest.fixture
def voucher(account):
    return reward_redeem(
        account=account,
        reward=RewardFactory(name_en="Tote bag", cost=200, stock=3),
        key=key(),
    )


def adjust_url(account):
    return reverse("loyalty:contact_adjust", args=[account.contact_id])


def redeem_url(account):
    return reverse("loyalty:contact_redeem", args=[account.contact_id])


# --- Overview --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("agent", 200), ("manager", 200), ("admin", 200), ("customer_a", 403)],
)
def test_the_overview_is_for_staff(client, request, role, status, voucher):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("loyalty:overview"))
    assert response.status_code == status
    if status == 200:
        content = response.content.decode()
        assert "Members per tier" in content
        assert "Tote bag" in content
        assert voucher.voucher_code in content
        assert "$800.00" in content  # 800 points outstanding at 1 point per USD


def test_anonymous_visitors_sign_in_for_the_overview(client):
    response = client.get(reverse("loyalty:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_only_managers_see_the_cancel_action(client, agent, manager, voucher):
    cancel = reverse("loyalty:redemption_cancel", args=[voucher.public_id])
    client.force_login(agent)
    assert cancel not in client.get(reverse("loyalty:overview")).content.decode()
    client.force_login(manager)
    assert cancel in client.get(reverse("loyalty:overview")).content.decode()


# --- Cancelling a voucher --------------------------------------------------------------------


def test_a_manager_confirms_then_cancels_a_voucher(client, manager, account, voucher):
    client.force_login(manager)
    url = reverse("loyalty:redemption_cancel", args=[voucher.public_id])
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert b"Cancel voucher" in confirm.content
    voucher.refresh_from_db()
    assert voucher.status == "issued"  # a GET changes nothing
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("loyalty:overview")
    assert f"Voucher {voucher.voucher_code} cancelled" in response.content.decode()
    voucher.refresh_from_db()
    account.refresh_from_db()
    assert (voucher.status, voucher.cancelled_by) == ("cancelled", manager)
    assert account.balance == 1000
    # Cancelling again is refused with the reason, not an error page.
    again = client.post(url, follow=True)
    assert b"already been cancelled" in again.content


def test_agents_cannot_cancel(client, agent, voucher):
    client.force_login(agent)
    url = reverse("loyalty:redemption_cancel", args=[voucher.public_id])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    voucher.refresh_from_db()
    assert voucher.status == "issued"


def test_cancel_returns_to_a_safe_next_page(client, manager, account, voucher):
    client.force_login(manager)
    url = reverse("loyalty:redemption_cancel", args=[voucher.public_id])
    contact_page = account.contact.get_absolute_url()
    assert client.post(url, {"next": contact_page})["Location"] == contact_page
    other = reward_redeem(account=account, reward=RewardFactory(), key=key())
    url = reverse("loyalty:redemption_cancel", args=[other.public_id])
    response = client.post(url, {"next": "https://evil.example/"})
    assert response["Location"] == reverse("loyalty:overview")


# --- Adjusting points ------------------------------------------------------------------------


def test_a_manager_adjusts_points_and_gets_the_panel_back(client, manager, account):
    client.force_login(manager)
    response = client.post(
        adjust_url(account),
        {"points": "-250", "reason": "Damaged parcel refund", "token": TOKEN},
        **HTMX,
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="loyalty-panel"')
    assert "New balance: 750" in content
    assert "Damaged parcel refund" in content  # the new entry in the panel
    entry = PointsEntry.objects.get(kind="adjust")
    assert (entry.points, entry.actor, entry.reason) == (
        -250,
        manager,
        "Damaged parcel refund",
    )
    # The same form sent again (a double click) adjusts once.
    client.post(
        adjust_url(account),
        {"points": "-250", "reason": "Damaged parcel refund", "token": TOKEN},
        **HTMX,
    )
    account.refresh_from_db()
    assert account.balance == 750
    assert PointsEntry.objects.filter(kind="adjust").count() == 1


def test_agents_cannot_adjust_points(client, agent, account):
    client.force_login(agent)
    response = client.post(
        adjust_url(account), {"points": "100", "reason": "Nice", "token": TOKEN}, **HTMX
    )
    assert response.status_code == 403
    assert not PointsEntry.objects.filter(kind="adjust").exists()


def test_an_adjustment_needs_a_reason_and_says_so(client, manager, account):
    client.force_login(manager)
    response = client.post(
        adjust_url(account), {"points": "100", "reason": "", "token": TOKEN}, **HTMX
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert re.search(
        r'id="loyalty_adjust_reason_error".*This field is required', content, re.S
    )
    assert 'aria-invalid="true"' in content
    assert not PointsEntry.objects.filter(kind="adjust").exists()


def test_an_adjustment_below_zero_is_refused_on_the_points_field(
    client, manager, account
):
    client.force_login(manager)
    response = client.post(
        adjust_url(account),
        {"points": "-5000", "reason": "Oops", "token": TOKEN},
        **HTMX,
    )
    content = response.content.decode()
    assert re.search(
        r'id="loyalty_adjust_points_error".*Not enough points', content, re.S
    )
    account.refresh_from_db()
    assert account.balance == 1000


def test_without_javascript_an_adjustment_returns_to_the_contact_page(
    client, manager, account
):
    client.force_login(manager)
    response = client.post(
        adjust_url(account),
        {"points": "50", "reason": "Welcome gift", "token": TOKEN},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == account.contact.get_absolute_url()
    assert b"Points adjusted by +50" in response.content


def test_adjusting_a_contact_who_is_not_a_member_opens_their_account(client, manager):
    contact = ContactFactory(language="en")
    client.force_login(manager)
    client.post(
        reverse("loyalty:contact_adjust", args=[contact.pk]),
        {"points": "40", "reason": "Goodwill", "token": TOKEN},
        **HTMX,
    )
    assert LoyaltyAccount.objects.get(contact=contact).balance == 40


def test_removing_points_from_a_non_member_is_refused_and_opens_no_account(
    client, manager
):
    contact = ContactFactory(language="en")
    client.force_login(manager)
    response = client.post(
        reverse("loyalty:contact_adjust", args=[contact.pk]),
        {"points": "-5", "reason": "Correction", "token": TOKEN},
        **HTMX,
    )
    assert b"not a loyalty member yet" in response.content
    assert not LoyaltyAccount.objects.filter(contact=contact).exists()


def test_an_unknown_contact_is_not_found(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("loyalty:contact_adjust", args=[999_999]),
        {"points": "40", "reason": "Goodwill", "token": TOKEN},
    )
    assert response.status_code == 404


# --- Redeeming on a member's behalf ----------------------------------------------------------


def test_an_agent_redeems_on_behalf_of_a_member(client, agent, account):
    reward = RewardFactory(name_en="Coffee", cost=300)
    client.force_login(agent)
    response = client.post(
        redeem_url(account), {"reward": reward.pk, "token": TOKEN}, **HTMX
    )
    assert response.status_code == 200
    redemption = Redemption.objects.get()
    assert redemption.created_by == agent
    assert f"voucher {redemption.voucher_code}" in response.content.decode()
    client.post(redeem_url(account), {"reward": reward.pk, "token": TOKEN}, **HTMX)
    assert Redemption.objects.count() == 1
    account.refresh_from_db()
    assert account.balance == 700


def test_redeeming_beyond_the_balance_is_shown_on_the_reward_field(
    client, agent, account
):
    reward = RewardFactory(cost=5000)
    client.force_login(agent)
    response = client.post(
        redeem_url(account), {"reward": reward.pk, "token": TOKEN}, **HTMX
    )
    content = response.content.decode()
    assert re.search(
        r'id="loyalty_redeem_reward_error".*Not enough points', content, re.S
    )
    assert not Redemption.objects.exists()


def test_customers_cannot_use_the_staff_forms(client, customer_a, account):
    client.force_login(customer_a)
    reward = RewardFactory(cost=10)
    assert (
        client.post(
            redeem_url(account), {"reward": reward.pk, "token": TOKEN}
        ).status_code
        == 403
    )


# --- The panel -------------------------------------------------------------------------------


def test_the_panel_is_registered_with_crm():
    assert contact_panel in list(hooks.contact_page_panels)


def test_the_panel_shows_the_member_and_the_forms_each_role_may_use(
    agent, manager, customer_a, account, voucher
):
    request = RequestFactory().get("/")
    request.user = manager
    panel = contact_panel(request=request, contact=account.contact)
    assert (panel["id"], panel["title"], panel["order"]) == ("loyalty", "Loyalty", 10)
    html = panel["html"]
    assert 'id="loyalty-panel"' in html
    assert "800" in html  # the balance
    assert "Member" in html  # the tier
    assert voucher.voucher_code in html
    assert adjust_url(account) in html
    assert redeem_url(account) in html
    request.user = agent
    html = contact_panel(request=request, contact=account.contact)["html"]
    assert adjust_url(account) not in html
    assert redeem_url(account) in html
    request.user = customer_a
    assert contact_panel(request=request, contact=account.contact) is None


def test_the_panel_appears_on_the_contact_page(client, manager, account):
    client.force_login(manager)
    response = client.get(account.contact.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="loyalty-panel"' in content
    assert f'hx-post="{adjust_url(account)}"' in content
    assert f'hx-post="{redeem_url(account)}"' in content


def test_the_overview_runs_the_same_queries_for_few_or_many_redemptions(
    client, manager, account
):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("loyalty:overview")).status_code == 200
        return len(captured)

    def redeem(n: int) -> None:
        for _ in range(n):
            other = member(10, contact=ContactFactory())
            reward_redeem(account=other, reward=RewardFactory(cost=1), key=key())

    client.force_login(manager)
    redeem(2)
    few = count()
    redeem(15)
    assert count() == few


# --- Referral entered by staff ----------------------------------------------------------------


def referral_url(contact):
    return reverse("loyalty:contact_referral", args=[contact.pk])


def test_staff_record_the_code_a_new_person_was_referred_with(client, agent, account):
    newcomer = ContactFactory(given_name="Mira", email="mira@example.com", phone="")
    client.force_login(agent)
    response = client.post(
        referral_url(newcomer), {"code": account.referral_code}, **HTMX
    )
    assert response.status_code == 200
    assert "Hana" in response.content.decode()
    referral = Referral.objects.get()
    assert (referral.referrer, referral.referred_contact) == (account, newcomer)
    assert referral.status == Referral.Status.PENDING


def test_a_refused_referral_says_why_on_the_code_field(client, agent, account):
    client.force_login(agent)
    response = client.post(
        referral_url(account.contact), {"code": account.referral_code}, **HTMX
    )
    assert 'id="loyalty_referral_code_error"' in response.content.decode()
    assert not Referral.objects.exists()
    unknown = client.post(referral_url(ContactFactory()), {"code": "NOPE1234"}, **HTMX)
    assert 'id="loyalty_referral_code_error"' in unknown.content.decode()
    assert not Referral.objects.exists()


def test_customers_cannot_record_referrals(client, customer_a, account):
    client.force_login(customer_a)
    assert (
        client.post(
            referral_url(ContactFactory()), {"code": account.referral_code}
        ).status_code
        == 403
    )


def test_the_api_records_a_referral_and_names_the_field_of_a_refusal(
    api_client, agent, customer_a, account
):
    newcomer = ContactFactory(given_name="Joon", email="joon@example.com", phone="")
    api_client.force_authenticate(agent)
    created = api_client.post(
        "/api/v1/loyalty/referrals/",
        {"contact": newcomer.pk, "code": account.referral_code},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["referrer_contact"] == account.contact_id
    again = api_client.post(
        "/api/v1/loyalty/referrals/",
        {"contact": newcomer.pk, "code": account.referral_code},
        format="json",
    )
    assert again.status_code == 400
    assert "contact" in again.json()
    unknown = api_client.post(
        "/api/v1/loyalty/referrals/",
        {"contact": ContactFactory().pk, "code": "ZZZZ9999"},
        format="json",
    )
    assert "code" in unknown.json()
    assert (
        api_client.get("/api/v1/loyalty/referrals/", {"contact": newcomer.pk}).json()[
            "results"
        ][0]["status"]
        == "pending"
    )
    api_client.force_authenticate(customer_a)
    assert api_client.get("/api/v1/loyalty/referrals/").status_code == 403
