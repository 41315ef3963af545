"""prepared_cursor: the hot reads' statements are planned once per connection on PostgreSQL."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Contact
from crm.prepared import PREPARE_THRESHOLD, prepared_cursor
from crm.querycache import cached_rows
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@needs_postgres
def test_a_statement_run_again_is_prepared_once_and_reused_with_other_values():
    first, second = ContactFactory(given_name="Minji"), ContactFactory(given_name="Ana")
    sql = 'SELECT "given_name" FROM "crm_contact" WHERE "id" = %s'
    names = []
    for contact in [first, second] * PREPARE_THRESHOLD:
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, [contact.pk])
            names.append(cursor.fetchone()[0])
    assert names == ["Minji", "Ana"] * PREPARE_THRESHOLD
    matching = [
        s for s in prepared_statements() if '"crm_contact" WHERE "id" = $1' in s
    ]
    assert len(matching) == 1


@needs_postgres
def test_djangos_own_cursors_still_bind_on_the_client_and_prepare_nothing():
    contact = ContactFactory()
    for _run in range(PREPARE_THRESHOLD + 2):
        assert Contact.objects.filter(pk=contact.pk).exists()
    assert not [s for s in prepared_statements() if "crm_contact" in s]


def test_its_statements_are_logged_like_any_other():
    contact = ContactFactory()
    with (
        CaptureQueriesContext(connection) as queries,
        prepared_cursor(connection) as cursor,
    ):
        cursor.execute('SELECT "id" FROM "crm_contact" WHERE "id" = %s', [contact.pk])
        assert cursor.fetchone()[0] == contact.pk
    assert len(queries.captured_queries) == 1


@pytest.mark.smoke
def test_cached_rows_reads_through_it_with_datetimes_intact(settings):
    contact = ContactFactory()
    since = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for _run in range(PREPARE_THRESHOLD + 1):
        rows = cached_rows(
            ("test_prepared", "created"),
            lambda pk, since: Contact.objects.filter(pk=pk, created_at__gt=since),
            pk=contact.pk,
            since=since,
        )
        assert [row.pk for row in rows] == [contact.pk]
        assert rows[0].created_at == Contact.objects.get(pk=contact.pk).created_at
        assert rows[0].created_at.tzinfo is not None


@needs_postgres
def test_the_setting_turns_them_off_for_a_transaction_mode_pooler(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    contact = ContactFactory()
    for _run in range(PREPARE_THRESHOLD + 2):
        with prepared_cursor(connection) as cursor:
            cursor.execute(
                'SELECT "id" FROM "crm_contact" WHERE "id" = %s', [contact.pk]
            )
            assert cursor.fetchone()[0] == contact.pk
    assert not [s for s in prepared_statements() if "crm_contact" in s]
