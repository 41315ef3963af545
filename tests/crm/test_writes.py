"""``crm.writes``: one-row writes whose SQL is built once, written as save() writes them."""

import datetime as dt

import pytest
from django.db import DatabaseError, connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import AuditEntry, IdempotencyRecord, Tag
from crm.writes import insert, insert_unless_taken, save_fields
from tests.crm.factories import UserFactory
from tests.loyalty.factories import member

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_a_new_row_is_written_in_one_statement_with_its_key_set():
    tag = Tag(name="vip")
    with CaptureQueriesContext(connection) as queries:
        assert insert_unless_taken(tag) is True
    assert len(queries.captured_queries) == 1
    assert isinstance(tag.pk, int)
    assert tag._state.adding is False
    stored = Tag.objects.get(pk=tag.pk)
    assert stored.name == "vip"


def test_a_taken_unique_value_writes_nothing_and_keeps_the_first_row():
    first = Tag.objects.create(name="vip")
    again = Tag(name="vip")
    assert insert_unless_taken(again) is False
    assert again.pk is None
    assert list(Tag.objects.values_list("pk", "name")) == [(first.pk, "vip")]


def test_the_transaction_goes_on_after_a_taken_value():
    Tag.objects.create(name="vip")
    assert insert_unless_taken(Tag(name="vip")) is False
    other = Tag(name="gold")
    assert insert_unless_taken(other) is True
    assert set(Tag.objects.values_list("name", flat=True)) == {"vip", "gold"}


def test_insert_writes_what_save_writes_and_sets_auto_now_add():
    user = UserFactory()
    before = timezone.now()
    record = IdempotencyRecord(
        user=user, key="k", fingerprint="f", body={"ok": True, "name": "정우"}
    )
    with CaptureQueriesContext(connection) as queries:
        insert(record)
    assert len(queries.captured_queries) == 1
    stored = IdempotencyRecord.objects.get(pk=record.pk)
    assert (stored.user_id, stored.key, stored.body) == (user.pk, "k", record.body)
    assert stored.created_at == record.created_at >= before


def test_insert_raises_on_a_taken_value_as_save_does():
    IdempotencyRecord.objects.create(user=UserFactory(), key="k", fingerprint="f")
    again = IdempotencyRecord(user=IdempotencyRecord.objects.get().user, key="k")
    with pytest.raises(DatabaseError):
        insert(again)


def test_each_write_uses_one_statement_built_once_whatever_the_values():
    user = UserFactory()
    first = AuditEntry(
        at=timezone.now(), action="login", actor_id=user.pk, changes={"a": 1}
    )
    second = AuditEntry(at=timezone.now(), action="logout", changes={}, object_id="7")
    insert(first)
    with CaptureQueriesContext(connection) as queries:
        insert(second)
    assert len(queries.captured_queries) == 1
    stored = {
        e.pk: (e.action, e.actor_id, e.changes, e.object_id)
        for e in AuditEntry.objects.all()
    }
    assert stored == {
        first.pk: ("login", user.pk, {"a": 1}, ""),
        second.pk: ("logout", None, {}, "7"),
    }


def test_save_fields_writes_only_the_named_fields():
    record = IdempotencyRecord.objects.create(
        user=UserFactory(), key="k", fingerprint="f"
    )
    record.status_code, record.body = 201, {"id": 5}
    record.fingerprint = "not written"
    with CaptureQueriesContext(connection) as queries:
        save_fields(record, "status_code", "body")
    assert len(queries.captured_queries) == 1
    stored = IdempotencyRecord.objects.get(pk=record.pk)
    assert (stored.status_code, stored.body, stored.fingerprint) == (
        201,
        {"id": 5},
        "f",
    )


def test_save_fields_sets_auto_now_as_save_does():
    account = member(10)
    stale = account.updated_at - dt.timedelta(days=1)
    type(account).objects.filter(pk=account.pk).update(updated_at=stale)
    account.balance = 10
    save_fields(account, "balance", "updated_at")
    account.refresh_from_db()
    assert account.updated_at > stale + dt.timedelta(hours=23)


def test_save_fields_of_a_row_that_is_gone_raises_and_writes_nothing():
    record = IdempotencyRecord.objects.create(
        user=UserFactory(), key="k", fingerprint="f"
    )
    IdempotencyRecord.objects.filter(pk=record.pk).delete()
    with pytest.raises(DatabaseError):
        save_fields(record, "status_code")
    assert not IdempotencyRecord.objects.exists()


def test_an_expression_value_is_refused_before_anything_is_written():
    record = IdempotencyRecord.objects.create(
        user=UserFactory(), key="k", fingerprint="f", status_code=200
    )
    record.status_code = F("status_code") + 1
    with pytest.raises(ValueError, match="expression"):
        save_fields(record, "status_code")
    assert IdempotencyRecord.objects.get().status_code == 200
