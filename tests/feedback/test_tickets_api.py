"""The tickets API: permissions, payloads, replies and notes, pinned query counts."""

import pytest
from django.urls import reverse

from feedback.models import Ticket
from feedback.services import ticket_open, ticket_reply, ticket_set_status
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    return ticket_open(contact=ContactFactory(), subject="No invoice", priority="high")


def test_customers_and_anonymous_callers_are_refused(api_client, customer_a, ticket):
    assert api_client.get(reverse("api:ticket-list")).status_code in (401, 403)
    api_client.force_authenticate(customer_a)
    assert api_client.get(reverse("api:ticket-list")).status_code == 403
    url = reverse("api:ticket-messages", args=[ticket.pk])
    assert api_client.post(url, {"body": "hi"}).status_code == 403


def test_the_list_payload_carries_deadlines_and_breach(api_client, agent, ticket):
    api_client.force_authenticate(agent)
    response = api_client.get(reverse("api:ticket-list"))
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["id"] == ticket.pk
    assert row["priority"] == "high"
    assert row["status"] == "new"
    assert row["first_response_due_at"]
    assert row["resolution_due_at"]
    assert row["breached"] is False
    assert set(row) >= {"contact", "subject", "channel", "assignee", "due_soon"}


def test_the_list_is_a_fixed_number_of_queries_at_any_size(
    api_client, agent, django_assert_num_queries
):
    for index in range(60):
        ticket_open(contact=ContactFactory(), subject=f"T{index}")
    api_client.force_authenticate(agent)
    api_client.get(reverse("api:ticket-list"))  # warm the role cache on the user
    # the page (with contact and assignee) + its tags + the business calendar + its holidays
    with django_assert_num_queries(4):
        response = api_client.get(reverse("api:ticket-list"))
    assert len(response.json()["results"]) == 50
    assert response.json()["next"]


def test_the_queue_is_sorted_by_sla_urgency(api_client, agent):
    low = ticket_open(contact=ContactFactory(), subject="low", priority="low")
    urgent = ticket_open(contact=ContactFactory(), subject="urgent", priority="urgent")
    api_client.force_authenticate(agent)
    ids = [
        r["id"] for r in api_client.get(reverse("api:ticket-list")).json()["results"]
    ]
    assert ids == [urgent.pk, low.pk]


def test_agents_create_update_and_answer(api_client, agent):
    contact = ContactFactory()
    api_client.force_authenticate(agent)
    response = api_client.post(
        reverse("api:ticket-list"),
        {
            "contact": contact.pk,
            "subject": "Help",
            "channel": "chat",
            "priority": "urgent",
        },
        format="json",
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    url = reverse("api:ticket-messages", args=[pk])
    assert api_client.post(url, {"body": "Hello"}, format="json").status_code == 201
    note = api_client.post(url, {"body": "psst", "internal": True}, format="json")
    assert note.json()["kind"] == "internal_note"
    thread = api_client.get(url).json()
    assert [m["kind"] for m in thread] == ["reply", "internal_note"]
    patched = api_client.patch(
        reverse("api:ticket-detail", args=[pk]), {"status": "resolved"}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["status"] == "resolved"
    assert patched.json()["resolved_at"]


def test_bad_input_names_the_field(api_client, agent, ticket):
    api_client.force_authenticate(agent)
    response = api_client.post(
        reverse("api:ticket-list"), {"contact": 999999, "subject": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "contact" in response.json()
    ticket_set_status(ticket=ticket, status="open")
    response = api_client.patch(
        reverse("api:ticket-detail", args=[ticket.pk]), {"status": "new"}, format="json"
    )
    assert response.status_code == 400
    assert "status" in response.json()


def test_only_managers_delete(api_client, agent, manager, ticket):
    url = reverse("api:ticket-detail", args=[ticket.pk])
    api_client.force_authenticate(agent)
    assert api_client.delete(url).status_code == 403
    api_client.force_authenticate(manager)
    assert api_client.delete(url).status_code == 204
    assert not Ticket.objects.exists()


def test_the_thread_is_a_fixed_number_of_queries(
    api_client, agent, ticket, django_assert_num_queries
):
    for index in range(10):
        ticket_reply(
            ticket=ticket, author=agent, body=f"r{index}", internal=index % 2 == 0
        )
    api_client.force_authenticate(agent)
    api_client.get(reverse("api:ticket-list"))
    with django_assert_num_queries(2):  # the ticket + the thread with authors
        response = api_client.get(reverse("api:ticket-messages", args=[ticket.pk]))
    assert len(response.json()) == 10


def test_a_non_numeric_assignee_filter_is_a_400_naming_it(api_client, agent):
    """Found by the API fuzzer (tests/test_api_fuzz.py): it was a 500."""
    api_client.force_authenticate(agent)
    response = api_client.get(reverse("api:ticket-list"), {"assignee": "\x7f¼"})
    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]
