"""A full rebuild on helper connections (PostgreSQL, as its own transaction): the same rows as
on one connection, every helper reading the rebuild's snapshot, and a failing helper leaving
the old rows and no copy behind."""

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from analytics.models import (
    ContactDay,
    CustomerPeriod,
    CustomerSpan,
    RollupState,
    SegmentMember,
    TicketFact,
    TierDay,
)
from analytics.services import rollups
from analytics.services.rollups import rollups_rebuild, rollups_refresh
from analytics.services.table_swap import SUFFIX
from crm.models import Contact, Segment
from loyalty.models import PointsEntry
from tests.analytics.factories import (
    at,
    buy,
    message,
    points,
    respond,
    ticket,
    unsubscribe,
)
from tests.crm.factories import ContactFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="helpers share a PostgreSQL snapshot"
    ),
    pytest.mark.django_db(transaction=True),
]

ROLLUPS = (ContactDay, CustomerSpan, CustomerPeriod, TicketFact, SegmentMember, TierDay)


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row, without the ids a fresh table numbers anew."""
    rows = {}
    for model in ROLLUPS:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        rows[model.__name__] = sorted(
            model.objects.values_list(*fields), key=lambda row: repr(row)
        )
    return rows


def _data() -> list[Any]:
    contacts = [
        ContactFactory(country=("KR", "US", "JP")[i % 3], language=("ko", "en")[i % 2])
        for i in range(12)
    ]
    for index, contact in enumerate(contacts):
        buy(contact, f"{10 + index}.00", "USD", at(f"2025-01-{index + 1:02d}"))
        if index % 2:
            buy(contact, "7.50", "USD", at(f"2025-02-{index + 1:02d}"))
        if index % 3 == 0:
            respond(contact, "nps", index % 11, at(f"2025-03-{index + 1:02d}"))
            ticket(contact, opened=at("2025-03-01"), first_response_minutes=30)
        points(contact, PointsEntry.Kind.EARN, 100 + index, at("2025-01-20"))
        message(contact, "sent", at("2025-04-01"))
    unsubscribe(contacts[0], at("2025-05-01"))
    Segment.objects.create(name="Koreans", filters={"country": ["KR"]})
    return contacts


def _leftover_copies() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE %s", [f"%{SUFFIX}"]
        )
        return [row[0] for row in cursor.fetchall()]


def test_helpers_build_the_same_rows_as_one_connection(monkeypatch, settings):
    _data()
    monkeypatch.setattr(rollups, "CHUNK", 4)  # 12 contacts: three ranges
    threads: set[str] = set()
    original = rollups._build_contacts

    def noting_the_thread(*args: Any, **kwargs: Any) -> None:
        threads.add(threading.current_thread().name)
        original(*args, **kwargs)

    monkeypatch.setattr(rollups, "_build_contacts", noting_the_thread)

    settings.ROLLUP_REBUILD_CONNECTIONS = 1
    assert rollups_rebuild() == 3
    in_turn = _rows()
    assert threads == {threading.current_thread().name}

    threads.clear()
    settings.ROLLUP_REBUILD_CONNECTIONS = 2
    assert rollups_rebuild() == 3
    on_helpers = _rows()

    assert threads  # the ranges were built on helper threads
    assert threading.current_thread().name not in threads
    assert on_helpers == in_turn
    assert sum(len(rows) for rows in in_turn.values()) > 50
    assert _leftover_copies() == []


def test_helpers_read_the_rebuilds_snapshot_and_the_refresh_catches_up(
    monkeypatch, settings
):
    settings.ROLLUP_REBUILD_CONNECTIONS = 2
    early, late = ContactFactory(), ContactFactory()
    buy(early, "10.00", "USD", at("2025-01-05"))
    original = rollups.snapshot_export

    def export_then_commit_a_purchase() -> str:
        snapshot = original()

        def elsewhere() -> None:  # another session commits after the snapshot was taken
            try:
                buy(late, "20.00", "USD", at("2025-01-06"))
            finally:
                connection.close()

        writer = threading.Thread(target=elsewhere)
        writer.start()
        writer.join(timeout=30)
        return snapshot

    monkeypatch.setattr(rollups, "snapshot_export", export_then_commit_a_purchase)
    rollups_rebuild()

    assert ContactDay.objects.filter(contact_id=early.pk, orders=1).exists()
    # Committed after the snapshot: not in this rebuild, although the helpers started later.
    assert not ContactDay.objects.filter(contact_id=late.pk, orders__gt=0).exists()

    assert rollups_refresh() >= 1
    row = ContactDay.objects.get(contact_id=late.pk, day="2025-01-06")
    assert row.orders == 1


def test_a_failing_helper_leaves_the_old_rows_and_no_copy(monkeypatch, settings):
    settings.ROLLUP_REBUILD_CONNECTIONS = 2
    contacts = _data()
    rollups_rebuild()
    before = _rows()
    state = RollupState.objects.get()
    buy(contacts[0], "99.00", "USD", at("2025-06-01"))  # a rebuild would count it

    monkeypatch.setattr(rollups, "CHUNK", 4)
    original = rollups._insert_contact_days

    def fails_on_the_last_range(scope: Any, **kwargs: Any) -> None:
        original(scope, **kwargs)  # the rows are in the copy: the failure comes after
        if Contact.objects.filter(scope("id"), pk=contacts[-1].pk).exists():
            raise RuntimeError("helper failed")

    monkeypatch.setattr(rollups, "_insert_contact_days", fails_on_the_last_range)
    with pytest.raises(RuntimeError, match="helper failed"):
        rollups_rebuild()

    assert _rows() == before
    assert not ContactDay.objects.filter(day="2025-06-01").exists()
    assert RollupState.objects.get().rebuilt_at == state.rebuilt_at
    assert _leftover_copies() == []
    # And the next rebuild goes through.
    monkeypatch.setattr(rollups, "_insert_contact_days", original)
    rollups_rebuild()
    assert ContactDay.objects.filter(day="2025-06-01", orders=1).exists()


def test_helpers_only_for_a_rebuild_that_is_its_own_transaction(settings):
    settings.ROLLUP_REBUILD_CONNECTIONS = 3
    assert rollups._rebuild_helpers() == 3
    with transaction.atomic():  # helpers could not see what this transaction wrote
        assert rollups._rebuild_helpers() == 0
    settings.ROLLUP_REBUILD_CONNECTIONS = 1
    assert rollups._rebuild_helpers() == 0


def test_a_refresh_past_the_limit_rebuilds_on_helpers(monkeypatch, settings):
    settings.ROLLUP_REBUILD_CONNECTIONS = 2
    contact = ContactFactory()
    rollups_rebuild()
    buy(contact, "10.00", "USD", at("2025-01-05"))
    monkeypatch.setattr(rollups, "REBUILD_ABOVE", 0)
    used: list[int] = []
    original = rollups._rebuild_on_helpers

    def noting(**kwargs: Any) -> int:
        used.append(kwargs["helpers"])
        return original(**kwargs)

    monkeypatch.setattr(rollups, "_rebuild_on_helpers", noting)

    assert rollups_refresh() == 1
    assert used == [2]
    assert ContactDay.objects.filter(contact_id=contact.pk, orders=1).exists()


def test_a_rebuild_with_no_contacts_on_helpers_empties_the_rollups(settings):
    settings.ROLLUP_REBUILD_CONNECTIONS = 2
    contact = ContactFactory()
    # A message goes with its contact when it is deleted (a purchase would stop that).
    message(contact, "sent", at("2025-01-05"))
    rollups_rebuild()
    assert ContactDay.objects.filter(contact_id=contact.pk, outreach_sent=1).exists()
    contact.delete()

    assert rollups_rebuild() == 0  # no contact-id range to build

    assert not ContactDay.objects.exists()
    assert not CustomerSpan.objects.exists()
    assert RollupState.objects.get().rebuilt_at is not None
    assert _leftover_copies() == []
