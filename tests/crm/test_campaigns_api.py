"""Campaigns over the REST API: staff read, managers write; recipients, test send, schedule,
cancel; errors name the field; fixed query counts."""

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from crm.models import Campaign, Contact, OutboundMessage
from crm.services import (
    campaign_create,
    campaign_schedule,
    campaigns_plan,
    consents_set,
    segment_create,
)
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/outreach/campaigns/"
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
Status = Campaign.Status


def contact(*, consent: bool = True, **extra: Any) -> Contact:
    extra.setdefault("timezone", SEOUL)
    extra.setdefault("country", "KR")
    found = ContactFactory(**extra)
    if consent:
        consents_set(contact=found, consents={"marketing_email": True}, source="staff")
    return found


def payload(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "Chuseok greetings",
        "send_on": (timezone.localdate() + dt.timedelta(days=10)).isoformat(),
        "send_time": "10:00",
        "subject_en": "Happy Chuseok, {{ first_name }}",
        "body_text_en": "{{ salutation }}, enjoy the holiday.",
        "subject_ko": "{{ salutation }}, 즐거운 한가위 보내세요",
        "body_text_ko": "{{ salutation }}, 풍성한 한가위 되세요.",
    }
    data.update(changes)
    return data


@pytest.fixture
def segment(manager):
    return segment_create(name="Korea", filters={"country": ["KR"]}, created_by=manager)


@pytest.fixture
def campaign(manager, segment):
    data = payload()
    data["send_on"] = dt.date.fromisoformat(data["send_on"])
    data["send_time"] = dt.time(10, 0)
    return campaign_create(actor=manager, segment=segment, **data)


def test_anonymous_is_401_customers_403_agents_read_only(
    api_client, agent, customer_a, campaign, segment
):
    detail = f"{URL}{campaign.pk}/"
    assert api_client.get(URL).status_code == 401
    api_client.force_authenticate(customer_a)
    assert api_client.get(URL).status_code == 403
    assert api_client.get(detail).status_code == 403
    api_client.force_authenticate(agent)
    assert api_client.get(URL).status_code == 200
    assert api_client.get(detail).status_code == 200
    assert api_client.get(f"{detail}recipients/").status_code == 200
    writes = [
        api_client.post(URL, payload(segment=segment.pk), format="json"),
        api_client.patch(detail, {"name": "x"}, format="json"),
        api_client.delete(detail),
        api_client.post(f"{detail}test-send/"),
        api_client.post(f"{detail}schedule/"),
        api_client.post(f"{detail}cancel/"),
    ]
    assert [response.status_code for response in writes] == [403] * 6
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Chuseok greetings", Status.DRAFT)
    assert not mail.outbox


def test_a_manager_creates_a_campaign_and_reads_it_back(api_client, manager, segment):
    chosen = contact(country="JP")
    api_client.force_authenticate(manager)
    response = api_client.post(
        URL,
        payload(segment=segment.pk, contact_ids=[chosen.pk], purpose="surveys"),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["segment"] == segment.pk
    assert body["contact_ids"] == [chosen.pk]
    assert body["purpose"] == "surveys"
    assert body["send_time"] == "10:00:00"
    assert body["subject_ko"] == "{{ salutation }}, 즐거운 한가위 보내세요"
    assert body["message_counts"] == {
        status: 0 for status in OutboundMessage.Status.values
    }
    assert api_client.get(f"{URL}{body['id']}/").json() == body


def test_a_korean_caller_keeps_both_languages(api_client, manager, segment):
    api_client.force_authenticate(manager)
    response = api_client.post(
        URL, payload(segment=segment.pk), format="json", HTTP_ACCEPT_LANGUAGE="ko"
    )
    assert response.json()["subject_en"] == "Happy Chuseok, {{ first_name }}"
    assert response.json()["subject_ko"] == "{{ salutation }}, 즐거운 한가위 보내세요"


def test_errors_name_the_field(api_client, manager, segment):
    api_client.force_authenticate(manager)
    response = api_client.post(URL, payload(), format="json")
    assert response.status_code == 400
    assert "segment" in response.json()
    response = api_client.post(
        URL,
        payload(segment=segment.pk, body_text_ko="{{ salutation }} {{ coupon }}"),
        format="json",
    )
    assert response.status_code == 400
    assert "coupon" in response.json()["body_text_ko"][0]
    response = api_client.post(URL, payload(contact_ids=[999999]), format="json")
    assert "contact_ids" in response.json()
    assert not Campaign.objects.exists()


def test_an_emptied_english_text_names_the_english_field(api_client, manager, campaign):
    api_client.force_authenticate(manager)
    response = api_client.patch(
        f"{URL}{campaign.pk}/", {"subject_en": ""}, format="json"
    )
    assert response.status_code == 400
    assert "subject_en" in response.json()


def test_patch_changes_a_draft(api_client, manager, campaign):
    api_client.force_authenticate(manager)
    response = api_client.patch(
        f"{URL}{campaign.pk}/",
        {"name": "Renamed", "subject_ko": "{{ salutation }}, 추석 인사"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    campaign.refresh_from_db()
    assert campaign.subject_ko == "{{ salutation }}, 추석 인사"
    assert campaign.subject_en == "Happy Chuseok, {{ first_name }}"


def test_recipients_summarise_who_it_reaches(api_client, agent, campaign):
    contact()
    contact()
    contact(consent=False)
    contact(email="")
    api_client.force_authenticate(agent)
    response = api_client.get(f"{URL}{campaign.pk}/recipients/")
    assert response.json() == {
        "total": 4,
        "reachable": 2,
        "no_consent": 1,
        "no_email": 1,
    }


def test_a_test_send_goes_to_the_caller(api_client, manager, campaign):
    kim = contact(given_name="길동", family_name="홍", language="ko")
    api_client.force_authenticate(manager)
    response = api_client.post(
        f"{URL}{campaign.pk}/test-send/", {"contact": kim.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "sent_to": manager.email,
        "subject": "홍길동 고객님, 즐거운 한가위 보내세요",
        "language": "ko",
    }
    [sent] = mail.outbox
    assert sent.to == [manager.email]
    assert not OutboundMessage.objects.exists()


def test_a_test_send_without_email_or_recipients_is_a_400(
    api_client, manager, campaign
):
    api_client.force_authenticate(manager)
    response = api_client.post(f"{URL}{campaign.pk}/test-send/")
    assert response.status_code == 400
    assert "contact" in response.json()  # nobody in the segment yet
    manager.email = ""
    manager.save(update_fields=["email"])
    response = api_client.post(f"{URL}{campaign.pk}/test-send/")
    assert "email" in response.json()
    assert not mail.outbox


def test_schedule_then_cancel_stops_the_planned_messages(api_client, manager, campaign):
    contact()
    contact()
    api_client.force_authenticate(manager)
    response = api_client.post(f"{URL}{campaign.pk}/schedule/")
    assert response.status_code == 200
    assert response.json()["status"] == "scheduled"
    again = api_client.post(f"{URL}{campaign.pk}/schedule/")
    assert again.status_code == 400
    assert "status" in again.json()
    campaigns_plan(now=dt.datetime.combine(campaign.send_on, dt.time(10, 5), SEOUL))
    counts = api_client.get(f"{URL}{campaign.pk}/").json()["message_counts"]
    assert counts["planned"] == 2
    response = api_client.post(f"{URL}{campaign.pk}/cancel/")
    assert response.json() == {"cancelled": 2}
    messages = OutboundMessage.objects.filter(occasion="campaign")
    assert set(messages.values_list("status", "skip_reason")) == {
        (OutboundMessage.Status.SKIPPED, OutboundMessage.SkipReason.CANCELLED)
    }
    counts = api_client.get(f"{URL}{campaign.pk}/").json()["message_counts"]
    assert (counts["planned"], counts["skipped"]) == (0, 2)


def test_a_past_day_cannot_be_scheduled(api_client, manager, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(
        send_on=timezone.localdate() - dt.timedelta(days=5)
    )
    api_client.force_authenticate(manager)
    response = api_client.post(f"{URL}{campaign.pk}/schedule/")
    assert response.status_code == 400
    assert "send_on" in response.json()


def test_delete_a_draft_but_not_a_scheduled_one(api_client, manager, campaign):
    api_client.force_authenticate(manager)
    campaign_schedule(campaign=campaign, actor=manager, now=timezone.now())
    response = api_client.delete(f"{URL}{campaign.pk}/")
    assert response.status_code == 400
    assert "status" in response.json()
    Campaign.objects.filter(pk=campaign.pk).update(status=Status.DRAFT)
    assert api_client.delete(f"{URL}{campaign.pk}/").status_code == 204
    assert not Campaign.objects.exists()


def test_the_outbox_api_filters_one_campaign(api_client, agent, manager, campaign):
    contact()
    campaign_schedule(campaign=campaign, actor=manager, now=timezone.now())
    campaigns_plan(now=dt.datetime.combine(campaign.send_on, dt.time(10, 5), SEOUL))
    OutboundMessage.objects.create(
        contact=contact(),
        occasion="campaign",
        occurrence="999",
        scheduled_for=timezone.now(),
    )
    api_client.force_authenticate(agent)
    response = api_client.get(
        "/api/v1/outreach/messages/",
        {"occasion": "campaign", "occurrence": str(campaign.pk)},
    )
    results = response.json()["results"]
    assert [row["occasion_key"] for row in results] == [f"campaign:{campaign.pk}"]


def test_list_and_detail_have_fixed_query_counts(
    api_client, manager, segment, django_assert_num_queries
):
    people = [contact().pk for _ in range(5)]
    for number in range(12):
        data = payload(name=f"Campaign {number}")
        data["send_on"] = dt.date.fromisoformat(data["send_on"])
        campaign_create(actor=manager, segment=segment, contact_ids=people, **data)
    api_client.force_authenticate(manager)
    # the caller's role, the campaigns, their chosen contacts, the outbox counts
    with django_assert_num_queries(4):
        response = api_client.get(URL)
    assert len(response.json()["results"]) == 12
    assert all(
        row["contact_ids"] == sorted(people) for row in response.json()["results"]
    )
    first = response.json()["results"][0]["id"]
    with django_assert_num_queries(3):  # the role is known by now
        assert api_client.get(f"{URL}{first}/").status_code == 200
