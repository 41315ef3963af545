"""The loyalty API: payloads, permissions per role, 409s, Idempotency-Key, pinned query counts."""

import pytest
from django.urls import reverse

from loyalty.models import LoyaltyAccount, PointsEntry, Redemption, Reward
from loyalty.services import points_adjust, reward_redeem
from tests.crm.factories import ContactFactory
from tests.loyalty.factories import RewardFactory, key, member

pytestmark = pytest.mark.django_db

REWARDS = reverse("api:loyalty-reward-list")
REDEMPTIONS = reverse("api:loyalty-redemption-list")
ADJUSTMENTS = reverse("api:loyalty-adjustment-list")


def account_url(contact_id: int) -> str:
    return reverse("api:loyalty-account-detail", args=[contact_id])


def entries_url(contact_id: int) -> str:
    return reverse("api:loyalty-account-entries", args=[contact_id])


def redemption_url(redemption, action: str = "") -> str:
    name = f"api:loyalty-redemption-{action or 'detail'}"
    return reverse(name, args=[redemption.public_id])


@pytest.fixture
def as_agent(api_client, agent):
    api_client.force_authenticate(agent)
    return api_client


@pytest.fixture
def as_manager(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "account"),
        ("get", "entries"),
        ("get", REWARDS),
        ("post", REWARDS),
        ("get", REDEMPTIONS),
        ("post", REDEMPTIONS),
        ("post", "cancel"),
        ("post", ADJUSTMENTS),
    ],
)
def test_customers_get_403_on_all_of_it(api_client, customer_a, method, url):
    account = member(50, contact=ContactFactory(user=customer_a))
    redemption = reward_redeem(account=account, reward=RewardFactory(), key=key())
    url = {
        "account": account_url(account.contact_id),
        "entries": entries_url(account.contact_id),
        "cancel": redemption_url(redemption, "cancel"),
    }.get(url, url)
    api_client.force_authenticate(customer_a)
    assert getattr(api_client, method)(url, {}, format="json").status_code == 403


def test_anonymous_callers_are_asked_to_authenticate(api_client):
    assert api_client.get(REWARDS).status_code in (401, 403)


# --- accounts -------------------------------------------------------------------------------


def test_the_account_shows_balance_tier_next_tier_and_what_expires_soon(as_agent):
    account = member(120)
    response = as_agent.get(account_url(account.contact_id))
    assert response.status_code == 200
    data = response.json()
    assert data["member"] is True
    assert data["balance"] == 120
    assert data["tier"]["name"] == "Member"
    assert data["next_tier"]["name"] == "Silver"
    assert data["points_to_next_tier"] == 1000
    assert data["spend_to_next_tier"] is None
    assert data["expiring_soon"] == {"points": 0, "expires_at": None}
    assert data["referral_code"] == account.referral_code


def test_a_contact_who_is_not_a_member_reads_as_zero(as_agent):
    contact = ContactFactory()
    data = as_agent.get(account_url(contact.pk)).json()
    assert (data["member"], data["balance"], data["referral_code"]) == (False, 0, None)


def test_an_unknown_contact_is_404(as_agent):
    assert as_agent.get(account_url(999_999)).status_code == 404


def test_tier_names_follow_the_readers_language(as_agent):
    account = member()
    data = as_agent.get(
        account_url(account.contact_id), HTTP_ACCEPT_LANGUAGE="ko"
    ).json()
    assert data["tier"]["name"] == "Member (ko)"


def test_the_account_is_a_fixed_number_of_queries(as_agent, django_assert_num_queries):
    account = member(10)
    as_agent.get(account_url(account.contact_id))  # the role is cached on the user
    with django_assert_num_queries(
        6
    ):  # contact, programme, tiers, account, value, expiring
        assert as_agent.get(account_url(account.contact_id)).status_code == 200


def test_entries_are_cursor_paginated_newest_first(as_agent, manager):
    account = member()
    for n in range(1, 56):
        points_adjust(
            account=account, points=n, reason=f"#{n}", actor=manager, key=key()
        )
    page = as_agent.get(entries_url(account.contact_id)).json()
    assert [e["points"] for e in page["results"][:2]] == [55, 54]
    assert len(page["results"]) == 50
    assert page["results"][0]["description"] == "#55"
    assert page["results"][0]["actor"] == manager.display_name
    rest = as_agent.get(page["next"]).json()
    assert [e["points"] for e in rest["results"]] == [5, 4, 3, 2, 1]


def test_entries_are_a_fixed_number_of_queries_at_any_length(
    as_agent, manager, django_assert_num_queries
):
    account = member(5)
    for _ in range(20):
        points_adjust(account=account, points=1, reason="r", actor=manager, key=key())
    as_agent.get(entries_url(account.contact_id))
    with django_assert_num_queries(3):  # contact, account, one page of entries
        assert as_agent.get(entries_url(account.contact_id)).status_code == 200


# --- rewards --------------------------------------------------------------------------------


def test_staff_read_rewards_and_agents_cannot_write_them(as_agent):
    RewardFactory(name_en="Coffee", name_ko="커피", cost=300)
    data = as_agent.get(REWARDS, HTTP_ACCEPT_LANGUAGE="ko").json()
    [reward] = data["results"]
    assert (reward["name"], reward["name_en"], reward["cost"]) == (
        "커피",
        "Coffee",
        300,
    )
    assert as_agent.post(REWARDS, {"name": "x", "cost": 1}).status_code == 403


def test_a_manager_creates_updates_and_deletes_a_reward(as_manager, tiers):
    response = as_manager.post(
        REWARDS,
        {
            "name": "Free shipping",
            "name_ko": "무료 배송",
            "cost": 200,
            "stock": 10,
            "min_tier": tiers["Silver"].pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["name_en"], data["name_ko"], data["min_tier"]["name"]) == (
        "Free shipping",
        "무료 배송",
        "Silver",
    )
    url = reverse("api:loyalty-reward-detail", args=[data["id"]])
    patched = as_manager.patch(url, {"active": False, "stock": None}, format="json")
    assert (patched.json()["active"], patched.json()["stock"]) == (False, None)
    assert as_manager.delete(url).status_code == 204
    assert not Reward.objects.exists()


def test_a_reward_needs_a_name_and_a_positive_cost(as_manager):
    response = as_manager.post(REWARDS, {"cost": 0}, format="json")
    assert response.status_code == 400
    assert "cost" in response.json()
    response = as_manager.post(REWARDS, {"cost": 5}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_a_redeemed_reward_cannot_be_deleted(as_manager):
    reward = RewardFactory()
    reward_redeem(account=member(10), reward=reward, key=key())
    response = as_manager.delete(reverse("api:loyalty-reward-detail", args=[reward.pk]))
    assert response.status_code == 409
    assert response.json()["code"] == "reward_in_use"


def test_rewards_are_a_fixed_number_of_queries(
    as_agent, tiers, django_assert_num_queries
):
    for n in range(15):
        RewardFactory(min_tier=tiers["Gold"] if n % 2 else None)
    as_agent.get(REWARDS)
    with django_assert_num_queries(1):
        assert as_agent.get(REWARDS).status_code == 200


# --- redemptions ----------------------------------------------------------------------------


def test_an_agent_redeems_for_a_member(as_agent, agent):
    account = member(100)
    reward = RewardFactory(cost=30, name_en="Coffee")
    response = as_agent.post(
        REDEMPTIONS, {"contact": account.contact_id, "reward": reward.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["points"], data["status"], data["reward_name"]) == (
        30,
        "issued",
        "Coffee",
    )
    assert data["voucher_code"].startswith("RPT-")
    assert data["created_by"] == agent.display_name
    account.refresh_from_db()
    assert account.balance == 70
    detail = as_agent.get(reverse("api:loyalty-redemption-detail", args=[data["id"]]))
    assert detail.json() == data


def test_not_enough_points_is_409_with_the_reason_and_no_entry(as_agent):
    account = member(20)
    reward = RewardFactory(cost=30)
    before = PointsEntry.objects.count()
    response = as_agent.post(
        REDEMPTIONS,
        {"contact": account.contact_id, "reward": reward.pk},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Not enough points: this reward costs 30 points and the balance is 20.",
        "code": "insufficient_points",
    }
    assert PointsEntry.objects.count() == before


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"active": False}, "reward_inactive"), ({"stock": 0}, "out_of_stock")],
)
def test_an_inactive_or_sold_out_reward_is_409(as_agent, fields, code):
    account = member(100)
    reward = RewardFactory(cost=10, **fields)
    response = as_agent.post(
        REDEMPTIONS, {"contact": account.contact_id, "reward": reward.pk}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, code)


def test_a_contact_who_is_not_a_member_is_409_and_does_not_become_one(as_agent):
    contact = ContactFactory()
    response = as_agent.post(
        REDEMPTIONS,
        {"contact": contact.pk, "reward": RewardFactory().pk},
        format="json",
    )
    assert response.status_code == 409
    assert not LoyaltyAccount.objects.filter(contact=contact).exists()


def test_an_unknown_reward_or_contact_is_400(as_agent):
    response = as_agent.post(REDEMPTIONS, {"contact": 0, "reward": 0}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"contact", "reward"}


def test_a_retried_redemption_replays_the_first_answer_and_spends_once(as_agent):
    account = member(100)
    body = {"contact": account.contact_id, "reward": RewardFactory(cost=10).pk}
    first = as_agent.post(REDEMPTIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = as_agent.post(REDEMPTIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = dict(body, reward=RewardFactory(cost=10).pk)
    reused = as_agent.post(REDEMPTIONS, other, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert reused.status_code == 422
    account.refresh_from_db()
    assert account.balance == 90


def test_a_refused_redemption_is_not_stored_so_the_same_key_works_later(
    as_agent, manager
):
    account = member(5)
    body = {"contact": account.contact_id, "reward": RewardFactory(cost=10).pk}
    assert (
        as_agent.post(
            REDEMPTIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="k2"
        ).status_code
        == 409
    )
    points_adjust(account=account, points=5, reason="top up", actor=manager, key=key())
    retry = as_agent.post(REDEMPTIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert retry.status_code == 201


def test_redemptions_filter_by_contact_and_status(as_agent):
    mine, theirs = member(100), member(100)
    reward = RewardFactory(cost=10)
    reward_redeem(account=mine, reward=reward, key=key())
    reward_redeem(account=theirs, reward=reward, key=key())
    data = as_agent.get(REDEMPTIONS, {"contact": mine.contact_id}).json()
    assert [r["contact"] for r in data["results"]] == [mine.contact_id]
    assert as_agent.get(REDEMPTIONS, {"status": "cancelled"}).json()["results"] == []
    assert as_agent.get(REDEMPTIONS, {"contact": "x"}).status_code == 400


def test_redemptions_are_a_fixed_number_of_queries(as_agent, django_assert_num_queries):
    reward = RewardFactory(cost=1)
    for _ in range(12):
        reward_redeem(account=member(1), reward=reward, key=key())
    redemption = Redemption.objects.first()
    as_agent.get(REDEMPTIONS)
    with django_assert_num_queries(1):
        assert as_agent.get(REDEMPTIONS).status_code == 200
    with django_assert_num_queries(1):
        assert as_agent.get(redemption_url(redemption)).status_code == 200


def test_only_managers_cancel_and_only_once(as_agent, api_client, manager):
    redemption = reward_redeem(
        account=member(10), reward=RewardFactory(cost=10), key=key()
    )
    assert as_agent.post(redemption_url(redemption, "cancel")).status_code == 403
    api_client.force_authenticate(manager)
    response = api_client.post(redemption_url(redemption, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = api_client.post(redemption_url(redemption, "cancel"))
    assert (again.status_code, again.json()["code"]) == (409, "already_cancelled")
    redemption.account.refresh_from_db()
    assert redemption.account.balance == 10


def test_staff_mark_a_voucher_used_once(as_agent):
    redemption = reward_redeem(
        account=member(10), reward=RewardFactory(cost=10), key=key()
    )
    assert as_agent.post(redemption_url(redemption, "use")).json()["status"] == "used"
    assert as_agent.post(redemption_url(redemption, "use")).status_code == 409


# --- adjustments ----------------------------------------------------------------------------


def test_a_manager_adjusts_points_with_a_reason(as_manager, manager):
    contact = ContactFactory()  # not a member yet: the adjustment opens the account
    response = as_manager.post(
        ADJUSTMENTS,
        {"contact": contact.pk, "points": 250, "reason": "Service recovery"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["contact"], data["points"], data["balance"], data["kind"]) == (
        contact.pk,
        250,
        250,
        "adjust",
    )
    assert (data["reason"], data["actor"]) == ("Service recovery", manager.display_name)


def test_a_members_adjustment_is_a_fixed_number_of_queries(
    as_manager, django_assert_num_queries
):
    account = member(40)
    as_manager.post(  # the first of its kind builds the statements it reuses
        ADJUSTMENTS,
        {"contact": account.contact_id, "points": 1, "reason": "warm-up"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="warm-up",
    )
    # (the test's transaction makes BEGIN/COMMIT savepoints) idempotency key in; contact
    # key (a deduction needs no programme); account found and locked; entry; open lots, lot
    # taken from, its use; balance; audit; idempotency answer stored. The service takes no
    # savepoint inside the idempotency transaction (crm.transactions).
    with django_assert_num_queries(12):
        response = as_manager.post(
            ADJUSTMENTS,
            {"contact": account.contact_id, "points": -5, "reason": "correction"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="adjust-once",
        )
    assert response.status_code == 201, response.json()
    assert response.json()["balance"] == 36


def test_agents_cannot_adjust(as_agent):
    response = as_agent.post(
        ADJUSTMENTS,
        {"contact": ContactFactory().pk, "points": 5, "reason": "x"},
        format="json",
    )
    assert response.status_code == 403


def test_an_adjustment_never_overdraws(as_manager):
    account = member(40)
    response = as_manager.post(
        ADJUSTMENTS,
        {"contact": account.contact_id, "points": -41, "reason": "correction"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (
        409,
        "insufficient_points",
    )
    account.refresh_from_db()
    assert account.balance == 40


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 0, "reason": "x"}, "points"),
        ({"points": 5, "reason": ""}, "reason"),
        ({"points": 5}, "reason"),
        ({"points": 100_000_000, "reason": "x"}, "points"),
    ],
)
def test_an_adjustment_needs_points_and_a_reason(as_manager, body, field):
    response = as_manager.post(
        ADJUSTMENTS, {"contact": ContactFactory().pk, **body}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()


def test_adjusting_a_contact_that_does_not_exist_names_the_contact_field(as_manager):
    missing = ContactFactory()
    missing_id = missing.pk
    missing.delete()
    response = as_manager.post(
        ADJUSTMENTS,
        {"contact": missing_id, "points": 5, "reason": "x"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 400
    assert response.json() == {"contact": ["이 ID의 연락처가 없습니다."]}
    assert not LoyaltyAccount.objects.filter(contact_id=missing_id).exists()


def test_a_retried_adjustment_is_applied_once(as_manager):
    account = member()
    body = {"contact": account.contact_id, "points": 30, "reason": "goodwill"}
    for _ in range(3):
        response = as_manager.post(
            ADJUSTMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="adj-1"
        )
        assert response.status_code == 201
    account.refresh_from_db()
    assert account.balance == 30


def test_removing_points_from_a_non_member_is_409_and_opens_no_account(as_manager):
    contact = ContactFactory()
    response = as_manager.post(
        ADJUSTMENTS, {"contact": contact.pk, "points": -5, "reason": "x"}, format="json"
    )
    assert response.status_code == 409
    assert not LoyaltyAccount.objects.filter(contact=contact).exists()
