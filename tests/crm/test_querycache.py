"""``crm.querycache``: a statement built once answers exactly what its queryset answers."""

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone

from crm import querycache
from crm.models import Interaction
from crm.services import interaction_log
from tests.crm.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

NOW = timezone.now().replace(microsecond=0)


def interactions(contact_id: int, before: dt.datetime | None = None):
    qs = (
        Interaction.objects.filter(contact_id=contact_id)
        .select_related("author", "contact")
        .annotate(seconds=F("duration_seconds"))
    )
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    return qs.order_by("-occurred_at", "-id")[:3]


def facts(rows):
    return [
        (r.pk, r.contact_id, r.body, r.occurred_at, r.seconds, r.author.email, r.contact.email)
        for r in rows
    ]  # fmt: skip


@pytest.fixture(autouse=True)
def _empty_cache():
    querycache.clear()
    yield
    querycache.clear()


@pytest.fixture
def two_contacts(agent, manager):
    contacts = [ContactFactory(), ContactFactory()]
    for index, contact in enumerate(contacts):
        for minutes in range(5):
            interaction_log(
                contact=contact,
                author=agent if minutes % 2 else manager,
                kind="call",
                body=f"{index}-{minutes}",
                occurred_at=NOW - dt.timedelta(minutes=minutes),
                duration_seconds=60 * minutes + index,
            )
    return contacts


def test_each_value_gets_the_rows_its_queryset_gets(two_contacts):
    for contact in two_contacts:
        for before in (
            None,
            NOW,
            NOW - dt.timedelta(minutes=2),
            NOW - dt.timedelta(days=1),
        ):
            values = {"contact_id": contact.pk}
            if before is not None:
                values["before"] = before
            assert facts(querycache.cached_rows("i", interactions, **values)) == facts(
                interactions(**values)
            )


def test_related_rows_and_annotations_come_in_the_one_query(
    two_contacts, django_assert_num_queries
):
    querycache.cached_rows("i", interactions, contact_id=two_contacts[0].pk)
    with django_assert_num_queries(1):
        rows = querycache.cached_rows("i", interactions, contact_id=two_contacts[1].pk)
        assert [r.author.email for r in rows] == [
            "manager@test.example",
            "agent@test.example",
            "manager@test.example",
        ]
        assert [r.seconds for r in rows] == [1, 61, 121]


def test_the_queryset_is_built_only_the_first_time_a_key_is_seen(two_contacts):
    built = []

    def build(contact_id: int):
        built.append(contact_id)
        return interactions(contact_id)

    first = querycache.cached_rows("once", build, contact_id=two_contacts[0].pk)
    assert len(built) == 2  # with each set of stand-ins
    second = querycache.cached_rows("once", build, contact_id=two_contacts[1].pk)
    assert len(built) == 2
    assert {r.contact_id for r in first} == {two_contacts[0].pk}
    assert {r.contact_id for r in second} == {two_contacts[1].pk}


def test_a_value_the_statement_does_not_take_as_a_parameter_is_refused(two_contacts):
    with pytest.raises(ValueError, match="before"):
        querycache.cached_rows(
            "ignores-before",
            lambda contact_id, before: interactions(contact_id),
            contact_id=two_contacts[0].pk,
            before=NOW,
        )
    with pytest.raises(ValueError, match="altered"):
        querycache.cached_rows(
            "contains",
            lambda body: Interaction.objects.filter(body__contains=body),
            body="0-1",
        )
    with pytest.raises(TypeError, match="only int, str and datetime"):
        querycache.cached_rows(
            "a-list", lambda ids: Interaction.objects.filter(pk__in=ids), ids=[1, 2]
        )


def test_text_values_and_small_integer_columns(two_contacts):
    def by_body(body: str, seconds: int):
        return Interaction.objects.filter(body=body, duration_seconds=seconds)

    for body, seconds in (("0-1", 60), ("1-1", 61), ("1-1", 60)):
        assert [
            r.pk
            for r in querycache.cached_rows("text", by_body, body=body, seconds=seconds)
        ] == [r.pk for r in by_body(body, seconds)]
