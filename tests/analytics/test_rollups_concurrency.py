"""A full rebuild swaps in a fresh contact-day table inside its transaction: a reader running
meanwhile, on its own connection, keeps seeing the old rows until the rebuild commits."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from analytics.models import ContactDay
from analytics.services.rollups import rollups_rebuild
from tests.analytics.factories import at, buy
from tests.crm.factories import ContactFactory


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite allows one writer, no such readers",
)
@pytest.mark.django_db(transaction=True)
def test_readers_keep_the_old_rows_until_the_rebuild_commits(monkeypatch):
    contact = ContactFactory()
    buy(contact, "10.00", "USD", at("2025-01-05"))
    rollups_rebuild()
    buy(contact, "5.00", "USD", at("2025-01-06"))  # only a rebuild will count it

    built, release = threading.Event(), threading.Event()
    from analytics.services import rollups

    original = rollups._build_segments

    def pause_after_contact_days():
        original()
        built.set()
        release.wait(timeout=30)  # the rebuild holds its transaction open here

    monkeypatch.setattr(rollups, "_build_segments", pause_after_contact_days)
    errors: list[BaseException] = []

    def rebuild():
        try:
            rollups_rebuild()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=rebuild)
    worker.start()
    try:
        assert built.wait(timeout=60)
        with transaction.atomic():
            during = ContactDay.objects.filter(
                contact_id=contact.pk, orders__gt=0
            ).count()
    finally:
        release.set()
        worker.join(timeout=60)
    assert not errors
    assert during == 1  # the old table, read while the new one was being built
    days = set(
        ContactDay.objects.filter(contact_id=contact.pk, orders__gt=0).values_list(
            "day", flat=True
        )
    )
    assert days == {dt.date(2025, 1, 5), dt.date(2025, 1, 6)}
