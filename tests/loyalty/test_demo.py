"""The loyalty demo data: a real ledger with every tier, a translated catalog, and no drift."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty.models import (
    LoyaltyAccount,
    PointsEntry,
    Redemption,
    Referral,
    Reward,
    Tier,
)
from loyalty.selectors import account_summary
from loyalty.services import loyalty_verify

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_the_demo_has_members_in_every_tier_a_catalog_redemptions_referrals_and_expiring_points():
    call_command("seed_demo", stdout=io.StringIO())
    for tier in Tier.objects.all():
        assert LoyaltyAccount.objects.filter(tier=tier).exists(), tier.name
    assert Reward.objects.filter(name_ko="아메리카노 쿠폰").exists()
    assert Reward.objects.filter(name_ko="₩10,000 할인권").exists()
    assert Redemption.objects.filter(status="issued").exists()
    assert Redemption.objects.filter(status="cancelled").exists()
    assert Referral.objects.filter(status="completed").count() == 2
    assert Referral.objects.filter(status="pending").count() == 1
    earned = PointsEntry.objects.filter(kind="earn").values_list("source_id", flat=True)
    from crm.models import Purchase

    assert set(earned) == {
        str(pk) for pk in Purchase.objects.values_list("pk", flat=True)
    }
    portal = LoyaltyAccount.objects.get(contact__user__email="customer@rapport.example")
    summary = account_summary(contact=portal.contact, now=timezone.now())
    assert summary.expiring_points > 0
    assert summary.expiring_at < timezone.now() + dt.timedelta(days=30)
    assert loyalty_verify() == []

    entries = PointsEntry.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert PointsEntry.objects.count() == entries
