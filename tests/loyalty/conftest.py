"""A known programme and tier ladder for every loyalty test (not the migration's, which a
transactional test's flush removes)."""

import datetime as dt
from decimal import Decimal

import pytest

from loyalty.models import Program, Tier

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)

TIERS = [  # name, threshold, multiplier
    ("Member", "0", "1"),
    ("Silver", "1000", "1.25"),
    ("Gold", "3000", "1.5"),
    ("VIP", "10000", "2"),
]


@pytest.fixture(autouse=True)
def _money_settings(settings):
    settings.BASE_CURRENCY = "USD"
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def program(db) -> Program:
    program = Program.load()
    for field, value in {
        "name_en": "Rewards",
        "name_ko": "리워즈",
        "points_per_unit": Decimal(1),
        "rounding": Program.Rounding.DOWN,
        "expiry_months": 12,
        "expiry_warning_days": 30,
        "qualification_basis": Program.Basis.POINTS_EARNED,
        "qualification_window": Program.Window.ROLLING,
        "window_months": 12,
        "downgrade_grace_days": 30,
        "welcome_bonus": 0,
        "birthday_bonus": 100,
        "referrer_points": 500,
        "referred_points": 200,
    }.items():
        setattr(program, field, value)
    program.save()
    return program


@pytest.fixture
def tiers(db) -> dict[str, Tier]:
    Tier.objects.all().delete()
    return {
        name: Tier.objects.create(
            name_en=name,
            name_ko=f"{name} (ko)",
            threshold=Decimal(threshold),
            multiplier=Decimal(multiplier),
        )
        for name, threshold, multiplier in TIERS
    }


@pytest.fixture(autouse=True)
def _loyalty_setup(request):
    """Every test that touches the database gets the programme and tiers above."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if uses_db:
        request.getfixturevalue("program")
        request.getfixturevalue("tiers")


class Clock:
    """A settable ``timezone.now`` for the whole stack (crm's checks, auto_now, loyalty)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    from django.utils import timezone

    fake = Clock(NOW)
    monkeypatch.setattr(timezone, "now", fake)
    return fake


@pytest.fixture
def events():
    """The contact events loyalty emits, as (contact_id, event, data)."""
    from crm import hooks

    seen: list[tuple[int, str, dict]] = []

    def listener(*, contact_id, event, data):
        seen.append((contact_id, event, data))

    hooks.contact_events.register(listener)
    yield seen
    hooks.contact_events.unregister(listener)
