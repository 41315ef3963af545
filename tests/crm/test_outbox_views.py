"""The staff outbox at /outreach/: list, filters, counts, one message, retry, the timeline."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import OutboundMessage
from crm.services import outbox_retry
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status
URL = "/outreach/"
NOW = dt.datetime(2027, 5, 10, 1, 0, tzinfo=dt.UTC)


def message(contact=None, *, occurrence="2027", **extra):
    extra.setdefault("occasion", "birthday")
    extra.setdefault("subject", "Happy birthday")
    extra.setdefault("body_text", "Many happy returns.")
    extra.setdefault("scheduled_for", NOW)
    return OutboundMessage.objects.create(
        contact=contact or ContactFactory(), occurrence=occurrence, **extra
    )


def test_agents_see_the_outbox_customers_are_refused_anonymous_sign_in(
    client, agent, customer_a
):
    assert client.get(URL)["Location"] == f"/accounts/login/?next={URL}"
    client.force_login(customer_a)
    assert client.get(URL).status_code == 403
    client.force_login(agent)
    response = client.get(URL)
    assert response.status_code == 200
    assert "The outbox is empty" in response.content.decode()


def test_every_status_is_listed_newest_first_with_counts(client, agent):
    sent = message(status=Status.SENT, sent_at=NOW, subject="Sent one")
    skipped = message(
        status=Status.SKIPPED,
        skip_reason=OutboundMessage.SkipReason.NO_CONSENT,
        subject="",
    )
    failed = message(status=Status.FAILED, error="550 mailbox unavailable")
    unknown = message(status=Status.UNKNOWN)
    client.force_login(agent)
    response = client.get(URL)
    rows = response.context["page"].object_list
    assert rows == [unknown, failed, skipped, sent]
    counts = {value: count for value, _, count in response.context["status_counts"]}
    assert counts == {
        "planned": 0,
        "queued": 0,
        "sending": 0,
        "sent": 1,
        "failed": 1,
        "skipped": 1,
        "unknown": 1,
    }
    html = response.content.decode()
    assert "No consent" in html
    assert reverse("crm:outreach_message", args=[sent.pk]) in html


def test_filters_by_status_occasion_skip_reason_and_contact(client, agent):
    kim = ContactFactory(given_name="Jimin", family_name="Kim", email="kim@x.example")
    lee = ContactFactory(given_name="Sora", family_name="Lee", email="lee@x.example")
    a = message(kim, status=Status.SENT, sent_at=NOW)
    b = message(
        lee, status=Status.SKIPPED, skip_reason=OutboundMessage.SkipReason.NO_EMAIL
    )
    c = message(kim, occasion="winback", occurrence="q2", status=Status.PLANNED)
    client.force_login(agent)

    def rows(**params):
        return client.get(URL, params).context["page"].object_list

    assert rows(status="sent") == [a]
    assert rows(occasion="winback") == [c]
    assert rows(skip_reason="no_email") == [b]
    assert set(rows(q="kim")) == {a, c}
    assert rows(q="sora lee") == [b]
    assert set(rows(status="nonsense")) == {a, b, c}  # an unknown choice: no filter
    # Counts follow the other filters, not the status one.
    response = client.get(URL, {"q": "kim", "status": "sent"})
    counts = {v: n for v, _, n in response.context["status_counts"]}
    assert (counts["sent"], counts["planned"], counts["skipped"]) == (1, 1, 0)
    empty = client.get(URL, {"q": "nobody"}).content.decode()
    assert "No messages match" in empty


def test_list_is_keyset_paged_and_htmx_gets_the_results_only(client, agent):
    contact = ContactFactory()
    for year in range(55):
        message(contact, occurrence=str(2000 + year))
    client.force_login(agent)
    first = client.get(URL)
    assert len(first.context["page"].object_list) == 50
    cursor = first.context["page"].next_cursor
    second = client.get(URL, {"cursor": cursor}, HTTP_HX_REQUEST="true")
    assert len(second.context["page"].object_list) == 5
    assert "<html" not in second.content.decode()


def test_list_runs_a_fixed_number_of_queries(client, agent, django_assert_num_queries):
    for _ in range(20):
        message(status=Status.SENT, sent_at=NOW)
    client.force_login(agent)
    # session, user, role, occasions, the page (with contacts), the status counts
    with django_assert_num_queries(6):
        assert client.get(URL).status_code == 200


def test_a_message_shows_what_was_sent_in_the_viewers_time_zone(client, agent):
    agent.timezone = "Asia/Seoul"
    agent.save()
    sent = message(
        status=Status.SENT,
        sent_at=NOW,
        sending_at=NOW,
        attempts=1,
        subject="생일 축하합니다",
        body_text="Dear Jimin,\nhappy birthday!",
    )
    client.force_login(agent)
    response = client.get(reverse("crm:outreach_message", args=[sent.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "생일 축하합니다" in html
    assert "happy birthday!" in html
    assert sent.contact.email in html
    assert "2027-05-10T10:00:00+09:00" in html  # 01:00 UTC is 10:00 in Seoul
    assert "Retry" not in html
    assert client.get(reverse("crm:outreach_message", args=[999999])).status_code == 404


def test_a_failed_message_shows_its_error_and_managers_can_retry_it(
    client, agent, manager
):
    failed = message(status=Status.FAILED, error="550 mailbox unavailable", attempts=1)
    retry = reverse("crm:outreach_message_retry", args=[failed.pk])
    client.force_login(agent)
    html = client.get(reverse("crm:outreach_message", args=[failed.pk])).content
    assert b"550 mailbox unavailable" in html
    assert retry.encode() not in html
    assert client.post(retry).status_code == 403
    failed.refresh_from_db()
    assert failed.status == Status.FAILED

    client.force_login(manager)
    assert (
        retry.encode()
        in client.get(reverse("crm:outreach_message", args=[failed.pk])).content
    )
    assert client.get(retry).status_code == 405
    response = client.post(retry)
    assert response["Location"] == reverse("crm:outreach_message", args=[failed.pk])
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.PLANNED, 1)


@pytest.mark.parametrize(
    "status",
    [Status.SENT, Status.UNKNOWN, Status.SENDING, Status.QUEUED, Status.SKIPPED],
)
def test_only_failed_messages_can_be_retried(client, manager, status):
    other = message(status=status)
    assert outbox_retry(message=other) is False
    client.force_login(manager)
    response = client.post(
        reverse("crm:outreach_message_retry", args=[other.pk]), follow=True
    )
    assert "Only a failed message can be retried." in response.content.decode()
    other.refresh_from_db()
    assert other.status == status


def test_retry_rechecks_the_status_in_the_database():
    stale = message(status=Status.FAILED)
    OutboundMessage.objects.filter(pk=stale.pk).update(status=Status.SENT)
    assert outbox_retry(message=stale) is False  # the copy in hand still says failed
    stale.refresh_from_db()
    assert stale.status == Status.SENT
    again = message(status=Status.FAILED)
    assert outbox_retry(message=again) is True
    again.refresh_from_db()
    assert again.status == Status.PLANNED


def test_sent_and_unknown_messages_appear_on_the_contact_timeline(client, agent):
    contact = ContactFactory()
    message(
        contact,
        status=Status.SENT,
        sent_at=timezone.now(),
        subject="Happy birthday, Jimin",
    )
    message(
        contact,
        occurrence="2026",
        status=Status.UNKNOWN,
        sending_at=timezone.now() - dt.timedelta(days=1),
        subject="Maybe delivered",
    )
    message(contact, occurrence="2025", status=Status.SKIPPED, subject="Not sent")
    message(contact, occurrence="2024", status=Status.FAILED, subject="Refused")
    client.force_login(agent)
    html = client.get(contact.get_absolute_url()).content.decode()
    assert "Happy birthday, Jimin" in html
    assert "Maybe delivered" in html
    assert "Not sent" not in html
    assert "Refused" not in html
    only = client.get(contact.get_absolute_url(), {"kind": "outreach"})
    entries = next(c for c in only.context if "chips" in c)["entries"]
    assert [e.title for e in entries] == ["Happy birthday, Jimin", "Maybe delivered"]
    assert {e.kind for e in entries} == {"outreach"}
    assert entries[0].data["direction"] == "outbound"
