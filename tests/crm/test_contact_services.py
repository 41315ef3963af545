"""Contact, consent, interaction, task, segment and merge services: every rule, and nothing half-written."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm import hooks
from crm.models import (
    Company,
    Consent,
    Contact,
    ContactMerge,
    Interaction,
    Segment,
    Tag,
    Task,
)
from crm.selectors import (
    contact_filter,
    contact_list,
    duplicate_candidates,
    segment_count,
)
from crm.services import (
    company_create,
    company_delete,
    consents_set,
    contact_create,
    contact_delete,
    contact_merge,
    contact_update,
    contacts_bulk_assign,
    contacts_bulk_tag,
    interaction_log,
    parse_birthday,
    purchase_record,
    segment_create,
    task_complete,
    task_create,
    task_update,
)
from crm.timeline import contact_timeline
from tests.crm.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def make(**fields):
    fields.setdefault("given_name", "지민")
    fields.setdefault("family_name", "김")
    return contact_create(**fields)


# --- create / update ------------------------------------------------------------------------


def test_contact_create_normalises_and_indexes_the_contact(agent):
    contact = make(
        actor=agent,
        email=" Jimin.Kim@Example.COM ",
        phone="010-1234-5678",
        country="kr",
        language="ko",
        timezone="Asia/Seoul",
        birthday="--03-14",
        tags=["VIP", "vip", "newsletter"],
    )
    assert contact.email == "jimin.kim@example.com"
    assert str(contact.phone) == "+821012345678"
    assert contact.country == "KR"
    assert (contact.birth_year, contact.birth_month, contact.birth_day) == (None, 3, 14)
    assert contact.birthday_iso == "--03-14"
    assert sorted(t.name for t in contact.tags.all()) == ["VIP", "newsletter"]
    assert contact.owner == agent
    assert "김지민" in contact.search_text
    assert "01012345678" in contact.search_text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"country": "XX"}, "country"),
        ({"language": "tlh"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"phone": "12345", "country": "KR"}, "phone"),
        ({"phone": "not a phone"}, "phone"),
        ({"birthday": "2023-02-29"}, "birthday"),
        ({"birthday": "14/03/1990"}, "birthday"),
        ({"given_name": "", "family_name": ""}, "given_name"),
        ({"attributes": ["not", "an", "object"]}, "attributes"),
        ({"customer_since": None, "search_text": "x"}, "search_text"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(fields, field):
    with pytest.raises(ValidationError) as error:
        make(**fields)
    assert field in error.value.message_dict
    assert not Contact.objects.exists()


def test_a_duplicate_email_names_the_existing_contact_whatever_the_case():
    first = make(email="mina@example.com")
    with pytest.raises(ValidationError) as error:
        make(email="MINA@example.com")
    assert str(first.pk) in error.value.message_dict["email"][0]
    assert Contact.objects.count() == 1


def test_a_failed_update_changes_nothing():
    contact = make(email="a@example.com", country="KR", tags=["vip"])
    with pytest.raises(ValidationError):
        contact_update(
            contact=contact,
            given_name="Changed",
            tags=["other"],
            timezone="Nowhere/Else",
        )
    contact.refresh_from_db()
    assert contact.given_name == "지민"
    assert [t.name for t in contact.tags.all()] == ["vip"]
    assert not Tag.objects.filter(name="other").exists()


def test_a_phone_is_read_in_the_contacts_country():
    contact = make(phone="030 1234567", country="DE")
    assert str(contact.phone).startswith("+4930")
    contact = contact_update(contact=contact, phone="+1 415 555 2671")
    assert str(contact.phone) == "+14155552671"


def test_search_text_follows_name_changes():
    contact = make(email="x@example.com")
    contact = contact_update(
        contact=contact, given_name="Anna", family_name="Schmidt", language="en"
    )
    assert "anna schmidt" in contact.search_text
    assert "지민" not in contact.search_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990-03-14", (1990, 3, 14)),
        ("--02-29", (None, 2, 29)),
        ("--0229", (None, 2, 29)),
        ("", (None, None, None)),
    ],
)
def test_birthdays_with_and_without_a_year(value, expected):
    assert parse_birthday(value) == expected


def test_contact_delete_keeps_contacts_with_purchases(agent):
    contact = make(email="buyer@example.com")
    purchase_record(
        contact=contact,
        amount=Decimal("10"),
        currency="USD",
        occurred_at=timezone.now(),
        actor=agent,
    )
    with pytest.raises(ValidationError):
        contact_delete(contact=contact)
    assert Contact.objects.filter(pk=contact.pk).exists()
    plain = make(email="plain@example.com")
    contact_delete(contact=plain)
    assert not Contact.objects.filter(pk=plain.pk).exists()


# --- consent ---------------------------------------------------------------------------------


def test_consent_records_who_when_and_from_where(agent):
    contact = make(email="c@example.com")
    consents_set(
        contact=contact,
        consents={"marketing_email": True, "sms": False},
        source="api",
        actor=agent,
        ip_address="203.0.113.9",
    )
    row = Consent.objects.get(contact=contact, purpose="marketing_email")
    assert (row.granted, row.source, row.changed_by, row.ip_address) == (
        True,
        "api",
        agent,
        "203.0.113.9",
    )
    first_change = row.changed_at
    consents_set(contact=contact, consents={"marketing_email": True}, source="staff")
    row.refresh_from_db()
    assert (
        row.changed_at == first_change
    )  # unchanged answer: the original record stands
    assert row.source == "api"


def test_unknown_consent_purpose_is_refused_naming_it():
    contact = make(email="d@example.com")
    with pytest.raises(ValidationError) as error:
        consents_set(contact=contact, consents={"telepathy": True}, source="staff")
    assert "consents.telepathy" in error.value.message_dict


# --- bulk ------------------------------------------------------------------------------------


def test_bulk_tag_and_assign(manager, agent):
    contacts = [make(email=f"b{i}@example.com") for i in range(3)]
    ids = [c.pk for c in contacts]
    assert contacts_bulk_tag(contact_ids=ids, tag_names=["wholesale"]) == 3
    assert (
        contacts_bulk_tag(contact_ids=ids, tag_names=["Wholesale"]) == 3
    )  # idempotent, case-insensitive
    assert Tag.objects.filter(name__iexact="wholesale").count() == 1
    assert Contact.objects.filter(tags__name="wholesale").count() == 3
    assert contacts_bulk_assign(contact_ids=ids[:2], owner=manager) == 2
    assert Contact.objects.filter(owner=manager).count() == 2


def test_bulk_assign_refuses_a_customer_as_owner(customer_a):
    contact = make(email="e@example.com")
    with pytest.raises(ValidationError) as error:
        contacts_bulk_assign(contact_ids=[contact.pk], owner=customer_a)
    assert "owner" in error.value.message_dict


# --- search and filters -----------------------------------------------------------------------


def test_search_finds_korean_latin_and_phone_fragments(agent):
    hong = make(
        given_name="길동",
        family_name="홍",
        email="hong@example.com",
        phone="+82 10 2222 3333",
    )
    anna = make(
        given_name="Anna",
        family_name="Schmidt",
        language="en",
        email="anna@example.de",
        company=company_create(name="Müller GmbH"),
    )

    def found(text):
        return set(
            contact_list(user=agent, params={"q": [text]}).values_list("pk", flat=True)
        )

    assert found("홍길동") == {hong.pk}
    assert found("길동") == {hong.pk}
    assert found("anna schmidt") == {anna.pk}
    assert found("SCHMIDT") == {anna.pk}
    assert found("müller") == {anna.pk}
    assert found("010-2222") == {hong.pk}
    assert found("example.de") == {anna.pk}
    assert found("nobody") == set()


def test_filters_combine(agent, manager):
    kr = make(
        email="kr@example.com",
        country="KR",
        birthday="1990-03-14",
        tags=["vip"],
        owner=manager,
    )
    make(email="us@example.com", country="US", language="en", birthday="--07-01")
    params = {
        "country": ["KR"],
        "tag": ["VIP"],
        "birthday_month": ["3"],
        "owner": [str(manager.pk)],
    }
    assert list(contact_list(user=agent, params=params)) == [kr]
    assert contact_list(user=agent, params={"has_purchased": ["true"]}).count() == 0
    assert contact_list(user=agent, params={"owner": ["none"]}).count() == 1


def test_bad_filter_values_name_the_filter(agent):
    with pytest.raises(ValidationError) as error:
        contact_filter(
            Contact.objects.all(),
            {"birthday_month": ["13"], "lifecycle_stage": ["x"]},
            user=agent,
        )
    assert set(error.value.message_dict) == {"birthday_month", "lifecycle_stage"}


def test_customers_see_no_contacts(customer_a):
    make(email="f@example.com")
    assert contact_list(user=customer_a).count() == 0


# --- segments --------------------------------------------------------------------------------


def test_segment_count_is_live(agent):
    segment = segment_create(
        name="Korean VIPs",
        filters={"country": ["KR"], "tag": ["vip"]},
        created_by=agent,
    )
    assert segment_count(segment=segment, user=agent) == 0
    make(email="g@example.com", country="KR", tags=["vip"])
    assert segment_count(segment=segment, user=agent) == 1


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"nonsense": ["1"]},
        {"birthday_month": ["0"]},
        {"segment": ["1"]},
        ["country"],
    ],
)
def test_a_segment_with_bad_filters_is_refused(agent, filters):
    with pytest.raises(ValidationError) as error:
        segment_create(name="Bad", filters=filters, created_by=agent)
    assert "filters" in error.value.message_dict
    assert not Segment.objects.exists()


# --- interactions and tasks --------------------------------------------------------------------


def test_interaction_log_needs_content_and_an_aware_time(agent):
    contact = make(email="h@example.com")
    with pytest.raises(ValidationError) as error:
        interaction_log(contact=contact, author=agent, kind="call")
    assert "body" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        interaction_log(
            contact=contact,
            author=agent,
            kind="call",
            body="x",
            occurred_at=dt.datetime(2026, 1, 1),  # noqa: DTZ001 (naive on purpose)
        )
    assert "occurred_at" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        interaction_log(contact=contact, author=agent, kind="fax", body="x")
    assert "kind" in error.value.message_dict
    call = interaction_log(
        contact=contact,
        author=agent,
        kind="call",
        subject="Renewal",
        duration_seconds=300,
    )
    assert call.occurred_at <= timezone.now()


def test_tasks_are_assigned_to_staff_completed_once_and_reassigned(
    agent, manager, customer_a
):
    due = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        task_create(
            title="Call back", due_at=due, assignee=customer_a, created_by=agent
        )
    assert "assignee" in error.value.message_dict
    task = task_create(title="Call back", due_at=due, assignee=agent, created_by=agent)
    done = task_complete(task=task)
    again = task_complete(task=task)
    assert done.completed_at == again.completed_at
    assert task_complete(task=task, done=False).completed_at is None
    assert task_update(task=task, assignee=manager).assignee == manager
    assert Task.objects.open().count() == 1


# --- timeline --------------------------------------------------------------------------------


def test_timeline_merges_sources_newest_first_and_pages_by_time(agent):
    contact = make(email="t@example.com")
    now = timezone.now()
    for minutes in (30, 20, 10):
        interaction_log(
            contact=contact,
            author=agent,
            kind="note",
            body=f"{minutes}",
            occurred_at=now - dt.timedelta(minutes=minutes),
        )
    purchase_record(
        contact=contact,
        amount=Decimal("5"),
        currency="USD",
        occurred_at=now - dt.timedelta(minutes=15),
        actor=agent,
    )
    crm_kinds = {
        "note",
        "purchase",
    }  # other apps (loyalty points) add their own entries
    entries = contact_timeline(contact_id=contact.pk, kinds=crm_kinds, limit=3)
    assert [e.kind for e in entries] == ["note", "purchase", "note"]
    older = contact_timeline(
        contact_id=contact.pk, kinds=crm_kinds, before=entries[-1].occurred_at, limit=3
    )
    assert [e.body for e in older] == ["30"]
    assert [
        e.kind for e in contact_timeline(contact_id=contact.pk, kinds={"purchase"})
    ] == ["purchase"]


def test_other_apps_add_entries_through_the_registry(agent):
    from crm.timeline import TimelineEntry

    contact = make(email="reg@example.com")

    def points_source(*, contact_id, kinds, before, limit):
        return [
            TimelineEntry(
                kind="points",
                occurred_at=timezone.now(),
                title="+50 points",
                source="loyalty",
            )
        ]

    hooks.timeline_sources.register(points_source)
    try:
        assert [e.kind for e in contact_timeline(contact_id=contact.pk)] == ["points"]
    finally:
        hooks.timeline_sources.unregister(points_source)


# --- merge -----------------------------------------------------------------------------------


def test_merge_keeps_everything_of_both_and_records_itself(manager, agent, customer_b):
    survivor = make(email="", phone="+821011112222", tags=["vip"])
    merged = make(
        given_name="Jimin",
        family_name="Kim",
        language="en",
        email="jimin@example.com",
        country="KR",
        birthday="1990-03-14",
        tags=["newsletter"],
        user=customer_b,
    )
    interaction_log(contact=merged, author=agent, kind="call", body="from merged")
    task_create(
        title="follow up",
        due_at=timezone.now(),
        assignee=agent,
        created_by=agent,
        contact=merged,
    )
    purchase_record(
        contact=merged,
        amount=Decimal("20"),
        currency="USD",
        occurred_at=timezone.now(),
        actor=agent,
    )
    consents_set(contact=merged, consents={"marketing_email": True}, source="staff")
    moved = []
    hooks.contact_merged.register(receiver := lambda **kw: moved.append(kw))
    try:
        record = contact_merge(survivor=survivor, merged=merged, actor=manager)
    finally:
        hooks.contact_merged.unregister(receiver)

    survivor.refresh_from_db()
    assert not Contact.objects.filter(pk=merged.pk).exists()
    assert survivor.email == "jimin@example.com"  # an empty field is filled in
    assert survivor.given_name == "지민"  # a set field is kept
    assert (survivor.birth_month, survivor.birth_day) == (3, 14)
    assert survivor.user == customer_b
    assert survivor.interactions.count() == 1
    assert survivor.tasks.count() == 1
    assert survivor.purchases.count() == 1
    assert survivor.last_purchase_at is not None
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["newsletter", "vip"]
    assert survivor.consents.get(purpose="marketing_email").granted is True
    assert moved == [{"survivor_id": survivor.pk, "merged_id": merged.pk}]
    assert record.snapshot["email"] == "jimin@example.com"
    assert ContactMerge.objects.get().merged_by == manager
    assert contact_timeline(contact_id=survivor.pk, kinds={"merge"})[0].title.endswith(
        "Jimin Kim"
    )


def test_merge_refuses_the_same_contact_and_two_portal_accounts(
    manager, customer_a, customer_b
):
    a = make(email="a1@example.com", user=customer_a)
    b = make(email="b1@example.com", user=customer_b)
    with pytest.raises(ValidationError):
        contact_merge(survivor=a, merged=a, actor=manager)
    with pytest.raises(ValidationError):
        contact_merge(survivor=a, merged=b, actor=manager)
    assert Contact.objects.count() == 2
    assert Interaction.objects.count() == 0


def test_duplicate_candidates_find_phone_mailbox_and_name_matches(manager):
    company = company_create(name="Acme")
    a = ContactFactory(email="jimin@example.com", phone="+821012345678")
    b = ContactFactory(email="jimin+shop@example.com")
    c = ContactFactory(email="other@example.com", phone="+821012345678")
    d = ContactFactory(
        given_name="Anna", family_name="Schmidt", company=company, email=""
    )
    e = ContactFactory(
        given_name="Anna", family_name="Schmidt", company=company, email=""
    )
    found = {
        frozenset((p["first"].pk, p["second"].pk))
        for p in duplicate_candidates(user=manager)
    }
    assert frozenset((a.pk, c.pk)) in found
    assert frozenset((a.pk, b.pk)) in found
    assert frozenset((d.pk, e.pk)) in found


def test_a_company_typed_by_name_is_reused_or_created_and_never_left_behind():
    existing = company_create(name="Hanbit Trading")
    contact = make(email="n1@example.com", company="hanbit trading")
    assert contact.company == existing
    with pytest.raises(ValidationError):
        make(email="not-an-email", company="Brand New Co")
    assert not Company.objects.filter(name="Brand New Co").exists()
    other = make(email="n2@example.com", company="Brand New Co")
    assert other.company.name == "Brand New Co"


def test_deleting_a_company_keeps_its_contacts_and_their_search(agent):
    contact = make(email="c9@example.com", company="Gone Ltd")
    company_delete(company=contact.company)
    contact.refresh_from_db()
    assert contact.company is None
    assert "gone ltd" not in contact.search_text
