"""insert_unless_taken: one INSERT … ON CONFLICT DO NOTHING, the row's key set when written."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.inserts import insert_unless_taken
from crm.models import Tag

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
