"""The programme's settings row and the default tiers, in English and Korean.

Thresholds are points earned from purchases in a rolling 12-month window (one point per unit
of the base currency); admins change all of it in Django admin.
"""

from decimal import Decimal

from django.db import migrations

PROGRAMME = {
    "name": "Rapport Rewards",
    "name_en": "Rapport Rewards",
    "name_ko": "라포 리워즈",
    "points_per_unit": Decimal("1"),
    "rounding": "down",
    "expiry_months": 12,
    "expiry_warning_days": 30,
    "qualification_basis": "points_earned",
    "qualification_window": "rolling",
    "window_months": 12,
    "downgrade_grace_days": 30,
    "welcome_bonus": 100,
    "birthday_bonus": 200,
    "referrer_points": 500,
    "referred_points": 200,
}

TIERS = [
    {
        "name_en": "Member",
        "name_ko": "멤버",
        "threshold": Decimal("0"),
        "multiplier": Decimal("1.00"),
        "benefits_en": "Earn 1 point per dollar spent. Birthday bonus points.",
        "benefits_ko": "구매 금액 1달러당 1포인트 적립. 생일 보너스 포인트.",
    },
    {
        "name_en": "Silver",
        "name_ko": "실버",
        "threshold": Decimal("1000"),
        "multiplier": Decimal("1.25"),
        "benefits_en": "25% more points on every purchase. Free shipping on orders over $50.",
        "benefits_ko": "모든 구매 시 포인트 25% 추가 적립. 50달러 이상 주문 시 무료 배송.",
    },
    {
        "name_en": "Gold",
        "name_ko": "골드",
        "threshold": Decimal("3000"),
        "multiplier": Decimal("1.50"),
        "benefits_en": "50% more points on every purchase. Free shipping. Early access to sales.",
        "benefits_ko": "모든 구매 시 포인트 50% 추가 적립. 무료 배송. 세일 사전 참여.",
    },
    {
        "name_en": "VIP",
        "name_ko": "VIP",
        "threshold": Decimal("10000"),
        "multiplier": Decimal("2.00"),
        "benefits_en": "Double points. Free express shipping. A personal shopper and VIP events.",
        "benefits_ko": "포인트 2배 적립. 무료 특급 배송. 전담 쇼퍼와 VIP 이벤트 초대.",
    },
]


def create_defaults(apps, schema_editor):
    Program = apps.get_model("loyalty", "Program")
    Tier = apps.get_model("loyalty", "Tier")
    Program.objects.update_or_create(pk=1, defaults=PROGRAMME)
    if Tier.objects.exists():
        return  # tiers already set up by hand
    for tier in TIERS:
        Tier.objects.create(name=tier["name_en"], benefits=tier["benefits_en"], **tier)


def remove_defaults(apps, schema_editor):
    Tier = apps.get_model("loyalty", "Tier")
    Tier.objects.filter(name_en__in=[tier["name_en"] for tier in TIERS]).delete()
    apps.get_model("loyalty", "Program").objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
