"""Ticket tags: the service, the ticket page (HTMX), the queue filter and the API."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import Tag
from feedback.selectors.tickets import ticket_list
from feedback.services import ticket_open, ticket_set_tags
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(agent):
    return ticket_open(contact=ContactFactory(), subject="Broken zipper")


def _names(ticket):
    return sorted(tag.name for tag in ticket.tags.all())


# --- service -------------------------------------------------------------------------------


def test_set_tags_replaces_them_and_reuses_tags_regardless_of_case(ticket):
    Tag.objects.create(name="VIP")
    ticket_set_tags(ticket=ticket, tags=["vip", " refund ", ""])
    assert _names(ticket) == ["VIP", "refund"]
    ticket_set_tags(ticket=ticket, tags=["refund"])
    assert _names(ticket) == ["refund"]
    ticket_set_tags(ticket=ticket, tags=[])
    assert _names(ticket) == []
    assert Tag.objects.filter(name__iexact="vip").count() == 1


@pytest.mark.parametrize("tags", ["vip", [1, 2], ["x" * 61]])
def test_invalid_tags_are_refused_naming_the_field(ticket, tags):
    ticket_set_tags(ticket=ticket, tags=["keep"])
    with pytest.raises(ValidationError) as error:
        ticket_set_tags(ticket=ticket, tags=tags)
    assert "tags" in error.value.message_dict
    assert _names(ticket) == ["keep"]


# --- pages ---------------------------------------------------------------------------------


def test_staff_edit_tags_on_the_ticket_page_with_htmx(client, agent, ticket):
    client.force_login(agent)
    response = client.post(
        reverse("feedback:ticket_tags", args=[ticket.pk]),
        {"tags": "vip, refund"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ticket"' in html
    assert '<li class="tag">' in html
    assert ">vip</a>" in html
    assert _names(ticket) == ["refund", "vip"]
    page = client.get(reverse("feedback:ticket", args=[ticket.pk])).content.decode()
    assert 'value="refund, vip"' in page


def test_a_plain_post_redirects_and_errors_are_shown_on_the_field(
    client, agent, ticket
):
    client.force_login(agent)
    plain = client.post(
        reverse("feedback:ticket_tags", args=[ticket.pk]), {"tags": "vip"}
    )
    assert plain.status_code == 302
    response = client.post(
        reverse("feedback:ticket_tags", args=[ticket.pk]),
        {"tags": "x" * 61},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response.context["tags_form"].errors["tags"]
    assert _names(ticket) == ["vip"]


def test_customers_cannot_tag_tickets(client, customer_a, ticket):
    client.force_login(customer_a)
    response = client.post(
        reverse("feedback:ticket_tags", args=[ticket.pk]), {"tags": "x"}
    )
    assert response.status_code == 403
    assert _names(ticket) == []


def test_the_queue_shows_tag_badges_and_filters_by_tag(client, agent, ticket):
    other = ticket_open(contact=ContactFactory(), subject="Late parcel")
    ticket_set_tags(ticket=ticket, tags=["VIP"])
    client.force_login(agent)
    everything = client.get(reverse("feedback:tickets")).content.decode()
    assert '<li class="tag">VIP</li>' in everything
    assert "Late parcel" in everything
    filtered = client.get(reverse("feedback:tickets"), {"tag": "vip"})
    html = filtered.content.decode()
    assert "Broken zipper" in html
    assert "Late parcel" not in html
    assert list(ticket_list(user=agent, tag="vip")) == [ticket]
    assert other not in ticket_list(user=agent, tag="VIP")


# --- API -----------------------------------------------------------------------------------


def test_the_api_returns_accepts_and_filters_tags(api_client, agent, ticket):
    api_client.force_authenticate(agent)
    url = reverse("api:ticket-detail", args=[ticket.pk])
    assert api_client.get(url).json()["tags"] == []
    response = api_client.patch(url, {"tags": ["vip", "refund"]}, format="json")
    assert response.status_code == 200
    assert sorted(response.json()["tags"]) == ["refund", "vip"]
    created = api_client.post(
        reverse("api:ticket-list"),
        {"contact": ContactFactory().pk, "subject": "New", "tags": ["vip"]},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["tags"] == ["vip"]
    listed = api_client.get(reverse("api:ticket-list"), {"tag": "VIP"}).json()
    assert sorted(r["id"] for r in listed["results"]) == sorted(
        [ticket.pk, created.json()["id"]]
    )


def test_api_tag_errors_name_the_field(api_client, agent, ticket):
    api_client.force_authenticate(agent)
    url = reverse("api:ticket-detail", args=[ticket.pk])
    for tags in ("vip", ["x" * 61]):
        response = api_client.patch(url, {"tags": tags}, format="json")
        assert response.status_code == 400
        assert "tags" in response.json()
    assert _names(ticket) == []
