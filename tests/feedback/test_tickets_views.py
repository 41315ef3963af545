"""Staff ticket pages and the customer's portal pages: permissions, HTMX forms, isolation."""

import pytest
from django.urls import reverse

from feedback.models import Ticket, TicketMessage
from feedback.services import ticket_open, ticket_reply
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(agent):
    return ticket_open(
        contact=ContactFactory(), subject="Broken zipper", description="Please help"
    )


@pytest.fixture
def portal_ticket(customer_a):
    contact = ContactFactory(user=customer_a, language="en")
    return ticket_open(
        contact=contact, subject="My parcel", description="Late", channel="portal"
    )


@pytest.mark.parametrize("name", ["feedback:tickets", "feedback:ticket_new"])
def test_customers_get_403_on_staff_ticket_pages(client, customer_a, name):
    client.force_login(customer_a)
    assert client.get(reverse(name)).status_code == 403


def test_customers_cannot_open_a_staff_ticket_page(client, customer_a, ticket):
    client.force_login(customer_a)
    assert client.get(reverse("feedback:ticket", args=[ticket.pk])).status_code == 403


def test_the_queue_lists_tickets_with_sla_badges(client, agent, ticket):
    client.force_login(agent)
    response = client.get(reverse("feedback:tickets"))
    assert response.status_code == 200
    assert "Broken zipper" in response.content.decode()
    assert ticket in response.context["page"].object_list
    assert response.context["page"].object_list[0].sla.state in {
        "breached",
        "due_soon",
        "on_track",
    }


def test_my_tickets_shows_only_mine(client, agent, ticket):
    client.force_login(agent)
    response = client.get(reverse("feedback:tickets"), {"assignee": "me"})
    assert list(response.context["page"].object_list) == []


def test_agents_answer_and_note_with_htmx(client, agent, ticket):
    client.force_login(agent)
    url = reverse("feedback:ticket_reply", args=[ticket.pk])
    response = client.post(url, {"body": "We are on it"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "We are on it" in response.content.decode()
    client.post(url, {"body": "Check stock", "internal": "on"}, HTTP_HX_REQUEST="true")
    kinds = list(ticket.messages.order_by("id").values_list("kind", flat=True))
    assert kinds == ["reply", "internal_note"]
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.first_response_at


def test_agents_change_status_priority_and_assignee(client, agent, ticket):
    client.force_login(agent)
    response = client.post(
        reverse("feedback:ticket_update", args=[ticket.pk]),
        {"status": "pending_customer", "priority": "urgent", "assignee": agent.pk},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (
        "pending_customer",
        "urgent",
        agent,
    )


def test_only_managers_delete(client, agent, manager, ticket):
    url = reverse("feedback:ticket_delete", args=[ticket.pk])
    client.force_login(agent)
    assert client.post(url).status_code == 403
    client.force_login(manager)
    assert client.post(url).status_code == 302
    assert not Ticket.objects.exists()


def test_staff_open_a_ticket_for_a_contact(client, agent):
    contact = ContactFactory(email="kim@example.com")
    client.force_login(agent)
    page = client.get(reverse("feedback:ticket_new"), {"contact": contact.pk})
    assert page.context["form"].initial["contact_email"] == "kim@example.com"
    response = client.post(
        reverse("feedback:ticket_new"),
        {
            "contact_email": "KIM@example.com",
            "subject": "Call back",
            "channel": "phone",
            "priority": "high",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert (ticket.contact, ticket.channel, ticket.assignee) == (
        contact,
        "phone",
        agent,
    )


def test_the_contact_page_has_a_tickets_panel(client, agent, ticket):
    client.force_login(agent)
    response = client.get(ticket.contact.get_absolute_url())
    body = response.content.decode()
    assert "tickets-panel" in body
    assert "Broken zipper" in body
    assert f"?contact={ticket.contact.pk}" in body


def test_the_ticket_page_shows_notes_apart(client, agent, ticket):
    ticket_reply(ticket=ticket, author=agent, body="Secret note", internal=True)
    client.force_login(agent)
    body = client.get(reverse("feedback:ticket", args=[ticket.pk])).content.decode()
    assert "ticket-message--internal_note" in body


# The customer portal ----------------------------------------------------------------------


def test_customers_open_and_read_their_own_tickets(client, customer_a):
    ContactFactory(user=customer_a, language="en")
    client.force_login(customer_a)
    assert client.get(reverse("portal:tickets")).status_code == 200
    response = client.post(
        reverse("portal:ticket_new"), {"subject": "Refund", "description": "Please"}
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert ticket.channel == "portal"
    assert ticket.contact.user == customer_a
    assert "Refund" in client.get(reverse("portal:tickets")).content.decode()


def test_the_portal_thread_hides_internal_notes(
    client, agent, customer_a, portal_ticket
):
    ticket_reply(ticket=portal_ticket, author=agent, body="Public answer")
    ticket_reply(ticket=portal_ticket, author=agent, body="Secret note", internal=True)
    client.force_login(customer_a)
    body = client.get(
        reverse("portal:ticket", args=[portal_ticket.public_id])
    ).content.decode()
    assert "Public answer" in body
    assert "Secret note" not in body


def test_customers_reply_from_the_portal(client, customer_a, portal_ticket):
    client.force_login(customer_a)
    url = reverse("portal:ticket", args=[portal_ticket.public_id])
    assert client.post(url, {"body": "Any news?"}).status_code == 302
    message = TicketMessage.objects.get()
    assert (message.kind, message.author) == ("customer_reply", customer_a)


def test_another_customers_ticket_is_a_404(client, customer_b, portal_ticket):
    ContactFactory(user=customer_b)
    client.force_login(customer_b)
    url = reverse("portal:ticket", args=[portal_ticket.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "hi"}).status_code == 404
    assert not TicketMessage.objects.exists()


def test_staff_get_403_on_portal_ticket_pages(client, agent):
    client.force_login(agent)
    assert client.get(reverse("portal:tickets")).status_code == 403
