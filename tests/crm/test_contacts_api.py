"""The contacts API: payloads, permissions per role, bad input naming the field, pinned query counts."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.utils.encoders import JSONEncoder

from crm.api.contacts import ContactOutputSerializer
from crm.models import Contact, Erasure, Interaction, Segment, Task
from crm.selectors import contact_list
from crm.services import contact_create, interaction_log, purchase_record
from crm.services.privacy import contact_erase
from tests.crm.factories import CompanyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

URL = "/api/v1/contacts/"


def make(**fields):
    fields.setdefault("given_name", "지민")
    fields.setdefault("family_name", "김")
    return contact_create(**fields)


@pytest.fixture
def as_agent(api_client, agent):
    api_client.force_authenticate(agent)
    return api_client


@pytest.fixture
def as_manager(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


def test_create_returns_the_full_record(as_agent, agent):
    company = CompanyFactory(name="Hanbit")
    response = as_agent.post(
        URL,
        {
            "given_name": "길동",
            "family_name": "홍",
            "email": "Hong@Example.com",
            "phone": "010-1234-5678",
            "country": "KR",
            "language": "ko",
            "timezone": "Asia/Seoul",
            "birthday": "--03-14",
            "tags": ["vip"],
            "company": company.pk,
            "consents": {"marketing_email": True},
            "attributes": {"size": "M"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "홍길동"
    assert body["email"] == "hong@example.com"
    assert body["phone"] == "+821012345678"
    assert body["birthday"] == "--03-14"
    assert body["timezone"] == "Asia/Seoul"
    assert body["company_name"] == "Hanbit"
    assert body["tags"] == ["vip"]
    assert body["owner"] == agent.pk
    assert body["source"] == "api"
    assert body["consents"] == {
        "marketing_email": True,
        "sms": False,
        "surveys": False,
        "profiling": False,
    }
    consent = Contact.objects.get(pk=body["id"]).consents.get()
    assert (consent.source, consent.changed_by) == ("api", agent)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"country": "ZZ"}, "country"),
        ({"language": "xx"}, "language"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"phone": "123", "country": "KR"}, "phone"),
        ({"birthday": "1990-02-30"}, "birthday"),
        ({"company": 999999}, "company"),
        ({"owner": 999999}, "owner"),
        ({"consents": {"telepathy": True}}, "consents.telepathy"),
        ({"lifecycle_stage": "whale"}, "lifecycle_stage"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(as_agent, payload, field):
    response = as_agent.post(URL, {"given_name": "A", **payload}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Contact.objects.exists()


def test_duplicate_email_is_400_naming_the_existing_contact(as_agent):
    existing = make(email="mina@example.com")
    response = as_agent.post(
        URL, {"given_name": "Mina", "email": "MINA@example.com"}, format="json"
    )
    assert response.status_code == 400
    assert str(existing.pk) in response.json()["email"][0]


def test_errors_are_translated(as_agent):
    response = as_agent.post(
        URL,
        {"given_name": "A", "timezone": "Mars/Base"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 400
    assert "Mars/Base" in response.json()["timezone"][0]
    assert "time zone" not in response.json()["timezone"][0]


def test_partial_update_changes_only_what_is_sent(as_agent):
    contact = make(email="p@example.com", country="KR", tags=["vip"])
    response = as_agent.patch(
        f"{URL}{contact.pk}/", {"lifecycle_stage": "customer"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["lifecycle_stage"] == "customer"
    assert response.json()["tags"] == ["vip"]
    bad = as_agent.patch(
        f"{URL}{contact.pk}/",
        {"lifecycle_stage": "customer", "timezone": "Nope/Nope"},
        format="json",
    )
    assert bad.status_code == 400


def test_list_searches_filters_and_pages_with_a_cursor(as_agent):
    for i in range(60):
        make(
            given_name=f"N{i:02d}",
            family_name="Park",
            email=f"n{i}@example.com",
            country="KR" if i % 2 else "US",
        )
    make(given_name="길동", family_name="홍", email="hong@example.com")
    first = as_agent.get(URL, {"country": "KR"}).json()
    assert len(first["results"]) == 30
    assert first["next"] is None
    page = as_agent.get(URL).json()
    assert len(page["results"]) == 50
    assert page["next"]
    rest = as_agent.get(page["next"]).json()
    assert len(rest["results"]) == 11
    assert {r["id"] for r in page["results"]}.isdisjoint(
        {r["id"] for r in rest["results"]}
    )
    assert [
        r["name"] for r in as_agent.get(URL, {"search": "길동"}).json()["results"]
    ] == ["홍길동"]
    assert as_agent.get(URL, {"ordering": "sideways"}).status_code == 400
    assert as_agent.get(URL, {"birthday_month": "13"}).status_code == 400


def test_a_search_answers_newest_first_unless_an_order_is_chosen(as_agent):
    """Name order would make a common name read most of the table before its first page."""
    made = [
        make(given_name=given, family_name="Kim", email=f"{given}@example.com")
        for given in ("Minjun", "Ara", "Seoyeon")
    ]
    make(given_name="Anna", family_name="Schmidt", email="anna@example.com")
    newest_first = [c.pk for c in sorted(made, key=lambda c: (c.created_at, c.pk))][
        ::-1
    ]
    searched = as_agent.get(URL, {"search": "kim"}).json()["results"]
    assert [r["id"] for r in searched] == newest_first
    by_name = as_agent.get(URL, {"search": "kim", "ordering": "name"}).json()
    assert [r["given_name"] for r in by_name["results"]] == ["Ara", "Minjun", "Seoyeon"]
    browsing = as_agent.get(URL).json()["results"]
    assert [r["family_name"] for r in browsing] == ["Kim", "Kim", "Kim", "Schmidt"]


@pytest.mark.parametrize("count", [5, 40])
def test_contact_list_is_a_fixed_number_of_queries(
    api_client, agent, count, django_assert_num_queries
):
    for i in range(count):
        make(
            email=f"q{i}@example.com",
            tags=["vip", "newsletter"],
            company=CompanyFactory(),
            consents={"marketing_email": True},
        )
    token = Token.objects.create(user=agent)
    # token with user and role, contacts page (with company name), tags, consents
    with django_assert_num_queries(4):
        response = api_client.get(URL, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert len(response.json()["results"]) == count


def test_list_rows_are_what_the_detail_serializer_gives_for_the_same_contacts(
    as_agent, agent, manager
):
    """The list builds its rows without the serializer (speed); it must answer exactly what
    ``ContactOutputSerializer`` answers, for every kind of contact."""
    kinds = [
        make(
            email="full@example.com",
            phone="010-1234-5678",
            country="KR",
            language="ko",
            timezone="Asia/Seoul",
            birthday="1990-02-28",
            tags=["vip", "alpha"],
            company=CompanyFactory(name="Hanbit"),
            consents={"sms": True, "marketing_email": False},
            attributes={"size": "M", "n": 3},
        ),
        make(
            given_name="Anna",
            family_name="Schmidt",
            email="anna@example.com",
            language="en",
            birthday="--02-29",
        ),
        make(given_name="Erase", family_name="Me", email="only-email@example.com"),
        make(
            given_name="Bence",
            country="HU",
            family_name="Nagy",
            phone="+36 1 234 5678",
        ),
        make(
            given_name="太郎",
            family_name="山田",
            email="yamada@example.com",
            owner=manager,
            lifecycle_stage="customer",
        ),
    ]
    purchase_record(
        contact=kinds[1],
        amount=Decimal("12.50"),
        currency="USD",
        occurred_at=timezone.now() - dt.timedelta(days=3),
    )
    contact_erase(
        contact=kinds[2], actor=manager, reason="asked", via=Erasure.Via.STAFF
    )
    listed = {row["id"]: row for row in as_agent.get(URL).json()["results"]}
    assert set(listed) == {c.pk for c in kinds}
    for contact in kinds:
        serialized = ContactOutputSerializer(
            contact_list(user=agent).get(pk=contact.pk)
        )
        assert listed[contact.pk] == json.loads(
            json.dumps(serialized.data, cls=JSONEncoder)
        )
    erased = listed[kinds[2].pk]
    assert erased["name"].startswith("Erased contact")
    assert erased["email"] != "only-email@example.com"


def test_contact_detail_is_a_fixed_number_of_queries(
    as_agent, django_assert_num_queries
):
    contact = make(
        email="d@example.com",
        tags=["vip"],
        consents={"sms": True},
        company=CompanyFactory(),
    )
    # role, contact, tags, consents, the audit entry for the view
    with django_assert_num_queries(5):
        response = as_agent.get(f"{URL}{contact.pk}/")
    assert response.json()["consents"]["sms"] is True


def test_delete_is_for_managers(as_agent, api_client, manager):
    contact = make(email="del@example.com")
    assert as_agent.delete(f"{URL}{contact.pk}/").status_code == 403
    api_client.force_authenticate(manager)
    assert api_client.delete(f"{URL}{contact.pk}/").status_code == 204
    assert not Contact.objects.exists()


def test_customers_and_anonymous_callers_are_refused(api_client, customer_a):
    contact = make(email="x@example.com")
    assert api_client.get(URL).status_code == 401
    api_client.force_authenticate(customer_a)
    assert api_client.get(URL).status_code == 403
    assert api_client.get(f"{URL}{contact.pk}/").status_code == 403
    assert api_client.get(f"{URL}{contact.pk}/timeline/").status_code == 403


def test_timeline_endpoint_pages_newest_first(as_agent, agent):
    contact = make(email="tl@example.com")
    now = timezone.now()
    for minutes in range(5):
        interaction_log(
            contact=contact,
            author=agent,
            kind="call",
            body=f"call {minutes}",
            occurred_at=now - dt.timedelta(minutes=minutes),
        )
    purchase_record(
        contact=contact,
        amount=Decimal("9.99"),
        currency="USD",
        occurred_at=now - dt.timedelta(seconds=30),
        actor=agent,
    )
    crm_kinds = "call,purchase"  # other apps (loyalty points) add their own entries
    body = as_agent.get(
        f"{URL}{contact.pk}/timeline/", {"limit": 3, "kind": crm_kinds}
    ).json()
    assert [e["kind"] for e in body["results"]] == ["call", "purchase", "call"]
    assert body["results"][1]["data"]["amount"] == "9.99"
    more = as_agent.get(
        f"{URL}{contact.pk}/timeline/",
        {"limit": 3, "before": body["next_before"], "kind": crm_kinds},
    ).json()
    assert [e["body"] for e in more["results"]] == ["call 2", "call 3", "call 4"]
    assert (
        as_agent.get(
            f"{URL}{contact.pk}/timeline/", {"before": "yesterday"}
        ).status_code
        == 400
    )


@pytest.mark.parametrize("calls", [2, 30])
def test_a_timeline_page_is_one_query_per_source(
    api_client, agent, calls, django_assert_num_queries
):
    contact = make(email="tlq@example.com")
    for minute in range(calls):
        interaction_log(
            contact=contact,
            author=agent,
            kind="call",
            body=f"call {minute}",
            occurred_at=timezone.now() - dt.timedelta(minutes=minute),
        )
    token = Token.objects.create(user=agent)
    url = f"{URL}{contact.pk}/timeline/"
    api_client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}")  # statements built
    # token with user and role, the contact's visibility, then one query per source: crm's
    # interactions, purchases, refunds, tasks, merges and outreach, loyalty's points,
    # redemptions and tier changes, feedback's survey responses and tickets
    with django_assert_num_queries(13):
        response = api_client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert len(response.json()["results"]) == min(calls, 50)


def test_merge_is_for_managers_and_moves_the_records(
    as_agent, api_client, manager, agent
):
    survivor, merged = make(email="s@example.com"), make(email="m@example.com")
    interaction_log(contact=merged, author=agent, kind="note", body="keep me")
    assert (
        as_agent.post(
            f"{URL}{survivor.pk}/merge/", {"merged": merged.pk}, format="json"
        ).status_code
        == 403
    )
    api_client.force_authenticate(manager)
    response = api_client.post(
        f"{URL}{survivor.pk}/merge/", {"merged": merged.pk}, format="json"
    )
    assert response.status_code == 200
    assert Interaction.objects.get().contact_id == survivor.pk
    assert (
        api_client.post(
            f"{URL}{survivor.pk}/merge/", {"merged": 0}, format="json"
        ).status_code
        == 400
    )


def test_bulk_tag_for_staff_and_bulk_assign_for_managers(as_agent, api_client, manager):
    ids = [make(email=f"bulk{i}@example.com").pk for i in range(3)]
    response = as_agent.post(
        f"{URL}bulk-tag/", {"ids": ids, "tags": ["event"]}, format="json"
    )
    assert response.json() == {"updated": 3}
    assert (
        as_agent.post(
            f"{URL}bulk-assign/", {"ids": ids, "owner": manager.pk}, format="json"
        ).status_code
        == 403
    )
    api_client.force_authenticate(manager)
    assert api_client.post(
        f"{URL}bulk-assign/", {"ids": ids, "owner": manager.pk}, format="json"
    ).json() == {"updated": 3}
    assert (
        api_client.post(
            f"{URL}bulk-tag/", {"ids": "1,2", "tags": ["x"]}, format="json"
        ).status_code
        == 400
    )


def test_segments_carry_a_live_count(as_agent):
    make(email="seg@example.com", country="KR")
    response = as_agent.post(
        "/api/v1/segments/",
        {"name": "Korea", "filters": {"country": ["KR"]}},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["count"] == 1
    make(email="seg2@example.com", country="KR")
    assert (
        as_agent.get(f"/api/v1/segments/{response.json()['id']}/").json()["count"] == 2
    )
    bad = as_agent.post(
        "/api/v1/segments/",
        {"name": "Bad", "filters": {"colour": "red"}},
        format="json",
    )
    assert bad.status_code == 400
    assert "filters" in bad.json()
    assert Segment.objects.count() == 1
    segment_id = response.json()["id"]
    assert (
        as_agent.get(URL, {"segment": segment_id}).json()["results"][0]["country"]
        == "KR"
    )


def test_interactions_are_logged_and_listed(as_agent, agent):
    contact = make(email="i@example.com")
    response = as_agent.post(
        "/api/v1/interactions/",
        {
            "contact": contact.pk,
            "kind": "meeting",
            "subject": "Quarterly review",
            "duration_seconds": 1800,
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["author"] == agent.pk
    assert (
        as_agent.get("/api/v1/interactions/", {"contact": contact.pk}).json()[
            "results"
        ][0]["kind"]
        == "meeting"
    )
    bad = as_agent.post(
        "/api/v1/interactions/", {"contact": contact.pk, "kind": "call"}, format="json"
    )
    assert bad.status_code == 400
    assert "body" in bad.json()
    assert (
        as_agent.post(
            "/api/v1/interactions/",
            {"contact": 0, "kind": "call", "body": "x"},
            format="json",
        ).status_code
        == 400
    )


def test_tasks_create_complete_and_filter(as_agent, agent, manager):
    due = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    response = as_agent.post(
        "/api/v1/tasks/", {"title": "Call back", "due_at": due}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["assignee"] == agent.pk
    task_id = response.json()["id"]
    assert (
        as_agent.get("/api/v1/tasks/", {"assignee": "me", "state": "open"}).json()[
            "results"
        ][0]["id"]
        == task_id
    )
    done = as_agent.patch(
        f"/api/v1/tasks/{task_id}/",
        {"completed": True, "assignee": manager.pk},
        format="json",
    )
    assert done.json()["completed_at"] is not None
    assert Task.objects.get().assignee == manager
    assert as_agent.get("/api/v1/tasks/", {"state": "sideways"}).status_code == 400


def test_company_detail_sums_revenue_in_the_base_currency(as_agent, agent):
    company = CompanyFactory(name="Acme")
    for amount in ("10.00", "15.50"):
        purchase_record(
            contact=make(email=f"c{amount}@example.com", company=company),
            amount=Decimal(amount),
            currency="USD",
            occurred_at=timezone.now(),
            actor=agent,
        )
    body = as_agent.get(f"/api/v1/companies/{company.pk}/").json()
    assert body["contact_count"] == 2
    assert Decimal(body["revenue"]["net"]) == Decimal("25.50")
    assert body["revenue"]["orders"] == 2


def test_pages_never_repeat_or_skip_even_with_a_thousand_namesakes(as_agent):
    Contact.objects.bulk_create(
        Contact(
            given_name="민준",
            family_name="김",
            email=f"kim{i}@example.com",
            search_text="김민준",
        )
        for i in range(1060)
    )
    seen: list[int] = []
    url = URL + "?ordering=name"
    while url:
        body = as_agent.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == 1060
    assert len(set(seen)) == 1060


@pytest.mark.parametrize("ordering", ["name", "-created", "created", "-last_purchase"])
def test_previous_links_give_back_the_same_pages_in_every_ordering(as_agent, ordering):
    """Forward and backward cursors (row comparisons, or the expanded form where a column may
    be NULL) walk the same pages, namesakes and missing purchase dates included."""
    contacts = Contact.objects.bulk_create(
        Contact(
            given_name="Ana" if i % 3 else f"Zoe{i % 7}",
            family_name="Smith" if i % 2 else "Kim",
            email=f"p{i}@example.com",
            last_purchase_at=None
            if i % 4 == 0
            else timezone.now() - dt.timedelta(days=i % 9),
        )
        for i in range(230)
    )
    assert len(contacts) == 230
    forward, url = [], f"{URL}?ordering={ordering}"
    while url:
        body = as_agent.get(url).json()
        forward.append([row["id"] for row in body["results"]])
        url, last = body["next"], body
    assert sorted(i for page in forward for i in page) == sorted(c.pk for c in contacts)
    backward, url = [forward[-1]], last["previous"]
    while url:
        body = as_agent.get(url).json()
        backward.append([row["id"] for row in body["results"]])
        url = body["previous"]
    assert backward[::-1] == forward


# --- Found by the API fuzzer (tests/test_api_fuzz.py) ---------------------------------------


def test_a_non_numeric_task_assignee_filter_is_a_400_naming_it(as_agent):
    response = as_agent.get("/api/v1/tasks/", {"assignee": "q\rÇ", "state": "done"})
    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]


def test_a_contact_without_company_has_a_null_company_name_the_schema_allows(
    as_agent,
):
    make(given_name="Solo", email="solo@example.com")
    listed = as_agent.get("/api/v1/contacts/").json()["results"]
    assert [c["company_name"] for c in listed] == [None]
    schema = as_agent.get("/api/schema/", {"format": "json"}).json()
    field = schema["components"]["schemas"]["ContactOutput"]["properties"][
        "company_name"
    ]
    assert field.get("nullable") is True
