"""The rollups equal live computation on random data, after a rebuild and after an
incremental refresh that must pick up back-dated rows (hypothesis, bounded examples)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from analytics.metrics import Filters, live_inputs, rollup_inputs
from analytics.metrics.live import live_cohorts
from analytics.models import ContactDay, CustomerSpan, RollupState
from analytics.periods import Period
from analytics.selectors import cohorts
from analytics.services import rollups
from analytics.services.rollups import (
    rollups_rebuild,
    rollups_refresh,
)
from crm.models import Contact, OutboundMessage, Segment
from crm.roles import Role
from crm.services import purchase_refund
from feedback.models import Survey
from loyalty.models import PointsEntry, Tier, TierChange
from tests.analytics.factories import (
    account,
    at,
    buy,
    message,
    points,
    rate,
    respond,
    ticket,
    unsubscribe,
)
from tests.crm.factories import ContactFactory, UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.smoke,
]  # SQLite too: `make run` uses it

BASE = dt.date(2024, 1, 1)
DAYS = 600

offsets = st.integers(min_value=0, max_value=DAYS)
hours = st.sampled_from(["00:00", "08:30", "15:00", "23:59"])
contact_st = st.fixed_dictionaries(
    {
        "since": st.none() | offsets,
        "last": st.none() | offsets,
        "churned": st.none() | offsets,
        "country": st.sampled_from(["KR", "US"]),
        "language": st.sampled_from(["ko", "en"]),
    }
)
purchase_st = st.tuples(
    st.integers(0, 7), offsets, hours, st.sampled_from(["USD", "KRW"]), st.booleans()
)
response_st = st.tuples(
    st.integers(0, 7),
    st.sampled_from([Survey.Kind.NPS, Survey.Kind.CSAT, Survey.Kind.CES]),
    st.integers(0, 10),
    offsets,
    hours,
)
ticket_st = st.tuples(
    st.integers(0, 7), offsets, st.none() | st.integers(1, 500), st.booleans()
)
points_st = st.tuples(
    st.integers(0, 7),
    st.sampled_from(["earn", "bonus", "redeem", "expire", "adjust"]),
    st.integers(1, 300),
    offsets,
)
period_st = st.tuples(offsets, st.integers(0, 200))
data_st = st.fixed_dictionaries(
    {
        "contacts": st.lists(contact_st, min_size=1, max_size=8),
        "purchases": st.lists(purchase_st, max_size=10),
        "responses": st.lists(response_st, max_size=8),
        "tickets": st.lists(ticket_st, max_size=4),
        "points": st.lists(points_st, max_size=6),
        "messages": st.lists(
            st.tuples(st.integers(0, 7), st.booleans(), offsets), max_size=4
        ),
        "periods": st.lists(period_st, min_size=1, max_size=3),
        "late": st.lists(purchase_st, max_size=3),
        "late_responses": st.lists(response_st, max_size=3),
        "late_points": st.lists(points_st, max_size=3),
        "moved": st.lists(st.tuples(st.integers(0, 7), contact_st), max_size=2),
        # Tier history: (member, tier index or None for "no tier", day); some members only
        # have an account (no change: their current tier from the account's creation).
        "tier_moves": st.lists(
            st.tuples(st.integers(0, 7), st.none() | st.integers(0, 2), offsets),
            max_size=8,
        ),
        "late_tier_moves": st.lists(
            st.tuples(st.integers(0, 7), st.none() | st.integers(0, 2), offsets),
            max_size=3,
        ),
        "owned": st.lists(st.booleans(), min_size=8, max_size=8),
    }
)


def day(offset: int, hour: str = "12:00") -> dt.datetime:
    return at((BASE + dt.timedelta(days=offset)).isoformat(), hour)


def _opt(offset):
    return None if offset is None else day(offset)


def _score(kind: str, score: int) -> int:
    return {Survey.Kind.NPS: score, Survey.Kind.CSAT: 1 + score % 5}.get(
        kind, 1 + score % 7
    )


def _add_purchases(contacts, rows):
    for index, offset, hour, currency, refund in rows:
        contact = contacts[index % len(contacts)]
        amount = "12345" if currency == "KRW" else "19.99"
        purchase = buy(contact, amount, currency, day(offset, hour))
        if refund:
            half = "5000" if currency == "KRW" else "10.00"
            purchase_refund(
                purchase=purchase, amount=half, occurred_at=purchase.occurred_at
            )


def _add_responses(contacts, rows):
    for index, kind, score, offset, hour in rows:
        respond(
            contacts[index % len(contacts)],
            kind,
            _score(kind, score),
            day(offset, hour),
        )


def _add_points(contacts, rows):
    for index, kind, amount, offset in rows:
        signed = -amount if kind in ("redeem", "expire") else amount
        if kind == "adjust" and amount % 2:
            signed = -amount
        points(contacts[index % len(contacts)], kind, signed, day(offset))


def _set(contact, spec, **extra):
    Contact.objects.filter(pk=contact.pk).update(
        customer_since=_opt(spec["since"]),
        last_purchase_at=_opt(spec["last"]),
        churned_at=_opt(spec["churned"]),
        country=spec["country"],
        language=spec["language"],
        **extra,
    )


def _add_tier_moves(contacts, tiers, rows):
    """Tier changes on past days, each from the member's tier at that point in the list."""
    for index, tier_index, offset in rows:
        member = account(contacts[index % len(contacts)])
        to_tier = None if tier_index is None else tiers[tier_index]
        TierChange.objects.create(
            account=member,
            from_tier=member.tier,
            to_tier=to_tier,
            reason=TierChange.Reason.MANUAL,
            created_at=day(offset, "23:59" if offset % 2 else "00:00"),
        )
        member.tier = to_tier
        member.save()


def _compare(periods, now, filters_list):
    for filters in filters_list:
        rolled = rollup_inputs(periods, filters)
        for period, got in zip(periods, rolled, strict=True):
            expected = live_inputs(period, filters, now=now)
            # Tiers: the distribution at the end of the period, rebuilt from the history.
            assert dict(got.tiers) == dict(expected.tiers), (period, filters)
            if filters.segment_id is not None:  # the tier history is not per segment
                got.tiers = expected.tiers = []
            assert got == expected, (period, filters)
        for period in periods:
            assert cohorts(period=period, filters=filters) == live_cohorts(
                filters, end=period.end
            ), (period, filters)


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=data_st)
def test_rollups_equal_live_computation_after_rebuild_and_refresh(
    data, settings, monkeypatch
):
    settings.TIME_ZONE = "Asia/Seoul"
    monkeypatch.setattr(rollups, "OVERLAP", dt.timedelta(0))
    with transaction.atomic():
        rate("KRW", "2023-01-01", "0.00075")
        rate("KRW", "2024-06-01", "0.0008")
        owner = UserFactory(role=Role.AGENT)
        contacts = [
            ContactFactory(owner=owner if owned else None)
            for owned, _spec in zip(data["owned"], data["contacts"], strict=False)
        ]
        tiers = list(Tier.objects.order_by("threshold")[:3]) + [
            Tier.objects.create(
                name_en=f"T{n}", threshold=Decimal(90_000 + n), multiplier=Decimal(1)
            )
            for n in range(3 - Tier.objects.count())
        ]
        _add_tier_moves(contacts, tiers, data["tier_moves"])
        _add_purchases(contacts, data["purchases"])
        for contact, spec in zip(contacts, data["contacts"], strict=True):
            _set(contact, spec)
        _add_responses(contacts, data["responses"])
        for index, offset, minutes, breached in data["tickets"]:
            ticket(
                contacts[index % len(contacts)],
                opened=day(offset),
                first_response_minutes=minutes,
                resolution_minutes=minutes * 3 if minutes and minutes % 2 else None,
                breached=breached,
            )
        _add_points(contacts, data["points"])
        for index, sent, offset in data["messages"]:
            status = (
                OutboundMessage.Status.SENT if sent else OutboundMessage.Status.FAILED
            )
            message(contacts[index % len(contacts)], status, day(offset))
        unsubscribe(contacts[0], day(300))
        segment = Segment.objects.create(name="Koreans", filters={"country": ["KR"]})
        periods = [
            Period(BASE + dt.timedelta(days=s), BASE + dt.timedelta(days=s + length))
            for s, length in data["periods"]
        ]
        filters_list = [
            Filters(),
            Filters(country="KR"),
            Filters(language="en"),
            Filters(segment_id=segment.pk),
            Filters(owner_id=owner.pk),
            Filters(owner_id=owner.pk, country="US"),
        ]

        first = timezone.now()
        rollups_rebuild(now=first)
        _compare(periods, first, filters_list)

        # Back-dated rows and changed contacts after the rebuild: the refresh must see them.
        _add_purchases(contacts, data["late"])
        _add_responses(contacts, data["late_responses"])
        _add_points(contacts, data["late_points"])
        _add_tier_moves(contacts, tiers, data["late_tier_moves"])
        for index, spec in data["moved"]:
            _set(contacts[index % len(contacts)], spec, updated_at=timezone.now())
        second = timezone.now()
        rollups_refresh(now=second)
        _compare(periods, second, filters_list)
        transaction.set_rollback(True)


def test_refresh_recomputes_only_touched_contacts_and_reflects_back_dated_purchases(
    monkeypatch,
):
    monkeypatch.setattr(rollups, "OVERLAP", dt.timedelta(0))
    quiet, busy = ContactFactory(), ContactFactory()
    buy(quiet, "10.00", "USD", at("2025-01-05"))
    rollups_rebuild()
    # Tamper with the quiet contact's row: an untouched contact must be left alone.
    ContactDay.objects.filter(contact_id=quiet.pk).update(orders=42)

    buy(busy, "30.00", "USD", at("2025-01-03"))  # back-dated to an already built day
    count = rollups_refresh()

    assert count == 1
    assert ContactDay.objects.get(contact_id=quiet.pk, day="2025-01-05").orders == 42
    row = ContactDay.objects.get(contact_id=busy.pk, day="2025-01-03")
    assert (row.orders, row.revenue) == (1, Decimal("30.0000"))
    assert CustomerSpan.objects.filter(contact_id=busy.pk).exists()


def test_refresh_catches_back_dated_points_and_responses_by_id():
    contact = ContactFactory()
    rollups_rebuild()
    state = RollupState.objects.get()
    state.refreshed_at = timezone.now() + dt.timedelta(hours=1)  # nothing by time
    state.save()

    points(contact, PointsEntry.Kind.EARN, 70, at("2024-02-02"))
    respond(contact, Survey.Kind.NPS, 9, at("2024-02-02"))
    rollups_refresh(now=timezone.now() + dt.timedelta(hours=2))

    row = ContactDay.objects.get(contact_id=contact.pk)
    assert (row.points_issued, row.nps_promoters) == (70, 1)


def test_first_refresh_without_state_is_a_full_rebuild():
    contact = ContactFactory()
    buy(contact, "10.00", "USD", at("2025-01-05"))

    rollups_refresh()

    assert RollupState.objects.get().rebuilt_at is not None
    assert ContactDay.objects.filter(contact_id=contact.pk).exists()


def _schema(table):
    """Every index and constraint of ``table`` as (name, definition) pairs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, regexp_replace(pg_get_indexdef(i.oid), ' ON \\S+', '') "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass",
            [table],
        )
        indexes = set(cursor.fetchall())
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass",
            [table],
        )
        return indexes, set(cursor.fetchall())


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the swap is PostgreSQL's (catalogue)"
)
def test_a_rebuild_swaps_in_a_table_with_the_same_indexes_and_constraints():
    """The rebuild fills an index-less copy of the contact days and swaps it in: the result
    has exactly the migrated indexes and constraints, and later writes still work."""
    table = ContactDay._meta.db_table
    before = _schema(table)
    contact = ContactFactory()
    buy(contact, "10.00", "USD", at("2025-01-05"))

    rollups_rebuild()

    assert _schema(table) == before
    assert (
        ContactDay.objects.get(contact_id=contact.pk, day=dt.date(2025, 1, 5)).orders
        == 1
    )
    ContactDay.objects.create(contact_id=contact.pk + 1, day=dt.date(2025, 1, 7))
    with (
        pytest.raises(Exception, match="analytics_contactday_unique"),
        transaction.atomic(),
    ):
        ContactDay.objects.create(contact_id=contact.pk, day=dt.date(2025, 1, 5))
