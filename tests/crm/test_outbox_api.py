"""The outbox over the REST API: read-only, staff only, filters, keyset pages, fixed queries."""

import datetime as dt

import pytest
from rest_framework.authtoken.models import Token

from crm.models import OutboundMessage
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status
URL = "/api/v1/outreach/messages/"
NOW = dt.datetime(2027, 5, 10, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def as_agent(api_client, agent):
    api_client.force_authenticate(agent)
    return api_client


def message(contact=None, *, occurrence="2027", **extra):
    extra.setdefault("occasion", "birthday")
    extra.setdefault("scheduled_for", NOW)
    return OutboundMessage.objects.create(
        contact=contact or ContactFactory(), occurrence=occurrence, **extra
    )


def test_a_message_in_the_api(as_agent):
    sent = message(
        status=Status.SENT,
        sent_at=NOW,
        language="ko",
        subject="생일 축하합니다",
        body_text="secret body is not listed",
    )
    payload = as_agent.get(URL).json()
    assert payload["next"] is None
    assert payload["results"] == [
        {
            "id": sent.pk,
            "contact": sent.contact_id,
            "occasion": "birthday",
            "occasion_key": "birthday:2027",
            "status": "sent",
            "skip_reason": "",
            "language": "ko",
            "subject": "생일 축하합니다",
            "scheduled_for": "2027-05-10T01:00:00Z",
            "sent_at": "2027-05-10T01:00:00Z",
        }
    ]
    detail = as_agent.get(f"{URL}{sent.pk}/").json()
    assert detail["occasion_key"] == "birthday:2027"
    assert as_agent.get(f"{URL}999999/").status_code == 404


def test_filters(as_agent):
    kim = ContactFactory()
    a = message(kim, status=Status.SENT, sent_at=NOW)
    b = message(kim, occasion="winback", occurrence="q2", status=Status.FAILED)
    c = message(status=Status.SKIPPED, skip_reason="no_consent")

    def ids(**params):
        return [r["id"] for r in as_agent.get(URL, params).json()["results"]]

    assert ids() == [c.pk, b.pk, a.pk]
    assert ids(contact=kim.pk) == [b.pk, a.pk]
    assert ids(contact="abc") == []
    assert ids(status="sent") == [a.pk]
    assert ids(status="sent,skipped") == [c.pk, a.pk]
    assert ids(occasion="winback") == [b.pk]
    skipped = as_agent.get(URL, {"status": "skipped"}).json()["results"][0]
    assert skipped["skip_reason"] == "no_consent"


def test_read_only_and_staff_only(api_client, as_agent, customer_a):
    sent = message(status=Status.SENT)
    assert as_agent.post(URL, {}).status_code == 405
    assert as_agent.delete(f"{URL}{sent.pk}/").status_code == 405
    api_client.force_authenticate(None)
    assert api_client.get(URL).status_code == 401
    api_client.force_authenticate(customer_a)
    assert api_client.get(URL).status_code == 403
    assert api_client.get(f"{URL}{sent.pk}/").status_code == 403


def test_keyset_pages(as_agent):
    contact = ContactFactory()
    made = [message(contact, occurrence=str(1900 + i)) for i in range(55)]
    first = as_agent.get(URL).json()
    assert len(first["results"]) == 50
    second = as_agent.get(first["next"]).json()
    assert [r["id"] for r in first["results"] + second["results"]] == [
        m.pk for m in reversed(made)
    ]
    assert second["next"] is None


@pytest.mark.parametrize("count", [3, 30])
def test_list_is_a_fixed_number_of_queries(
    api_client, agent, count, django_assert_num_queries
):
    for _ in range(count):
        message(status=Status.SENT, sent_at=NOW)
    token = Token.objects.create(user=agent)
    with django_assert_num_queries(2):  # token with user and role, the page
        response = api_client.get(URL, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert len(response.json()["results"]) == count


def test_detail_is_a_fixed_number_of_queries(as_agent, django_assert_num_queries):
    sent = message(status=Status.SENT)
    with django_assert_num_queries(2):  # role, the message
        assert as_agent.get(f"{URL}{sent.pk}/").status_code == 200
