"""Admin pages (the programme as one page, a read-only ledger, the cancel action) and the jobs."""

import datetime as dt

import pytest
from django.urls import reverse

from config.celery import app as celery_app
from loyalty import tasks
from loyalty.models import ExpiryWarning, PointsEntry, Program, Redemption
from loyalty.services import bonus_grant, reward_redeem
from tests.loyalty.factories import RewardFactory, key, member

pytestmark = pytest.mark.django_db

MODELS = [
    "program",
    "tier",
    "reward",
    "loyaltyaccount",
    "pointsentry",
    "lotuse",
    "tierchange",
    "redemption",
    "referral",
]


@pytest.mark.parametrize("model", MODELS)
def test_every_loyalty_admin_page_opens_for_a_manager(client, manager, model):
    member(10)
    client.force_login(manager)
    response = client.get(reverse(f"admin:loyalty_{model}_changelist"), follow=True)
    assert response.status_code == 200


def test_the_programme_list_is_its_single_settings_page(client, admin):
    client.force_login(admin)
    response = client.get(reverse("admin:loyalty_program_changelist"))
    assert response.url == reverse("admin:loyalty_program_change", args=[1])
    page = client.get(response.url)
    assert b"name_ko" in page.content
    assert client.get(reverse("admin:loyalty_program_add")).status_code == 403


def test_ledger_entries_are_read_only_in_admin(client, admin):
    entry = member(10).entries.get()
    client.force_login(admin)
    url = reverse("admin:loyalty_pointsentry_change", args=[entry.pk])
    client.post(url, {"points": 999})
    entry.refresh_from_db()
    assert entry.points == 10
    assert client.get(reverse("admin:loyalty_pointsentry_add")).status_code == 403


def test_the_cancel_action_returns_the_points(client, manager):
    account = member(10)
    redemption = reward_redeem(
        account=account, reward=RewardFactory(cost=10), key=key()
    )
    client.force_login(manager)
    client.post(
        reverse("admin:loyalty_redemption_changelist"),
        {"action": "cancel", "_selected_action": [redemption.pk]},
    )
    redemption.refresh_from_db()
    account.refresh_from_db()
    assert (redemption.status, account.balance) == (Redemption.Status.CANCELLED, 10)


def test_agents_never_reach_admin(client, agent):
    client.force_login(agent)
    response = client.get(reverse("admin:loyalty_reward_changelist"))
    assert response.status_code == 302


def test_the_jobs_are_scheduled_and_safe_to_run_twice(events):
    schedule = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert {
        "loyalty.tasks.loyalty_expire_points_nightly",
        "loyalty.tasks.loyalty_reevaluate_tiers_nightly",
        "loyalty.tasks.loyalty_warn_expiring_daily",
        "loyalty.tasks.loyalty_birthday_bonus_hourly",
    } <= schedule
    account = member()
    now = dt.datetime.now(dt.UTC)
    bonus_grant(
        account=account,
        kind="other",
        points=5,
        key="old",
        now=now - dt.timedelta(days=400),
    )
    bonus_grant(
        account=account,
        kind="other",
        points=7,
        key="soon",
        now=now - dt.timedelta(days=350),
    )
    assert tasks.loyalty_expire_points_nightly() == 1
    assert tasks.loyalty_expire_points_nightly() == 0
    assert tasks.loyalty_warn_expiring_daily() == 1
    assert tasks.loyalty_warn_expiring_daily() == 0
    assert tasks.loyalty_reevaluate_tiers_nightly() == 0
    assert tasks.loyalty_birthday_bonus_hourly() == 0
    assert ExpiryWarning.objects.count() == 1
    assert [e[1] for e in events] == ["points_expiring"]
    assert PointsEntry.objects.filter(kind="expire").count() == 1
    assert Program.load().expiry_months == 12


@pytest.mark.parametrize(
    ("role", "codename", "granted"),
    [
        ("Agent", "view_pointsentry", True),
        ("Agent", "view_reward", True),
        ("Agent", "add_reward", False),
        ("Agent", "change_loyaltyaccount", False),
        (
            "Agent",
            "add_redemption",
            False,
        ),  # agents redeem through the service, not admin
        ("Manager", "change_reward", True),
        ("Manager", "change_program", True),
    ],
)
def test_agents_view_loyalty_records_and_managers_write_them(role, codename, granted):
    from crm.roles import Role, role_grants

    assert role_grants(Role(role), app_label="loyalty", codename=codename) is granted
