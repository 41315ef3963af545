"""Campaign pages at /outreach/campaigns/: list, form with live preview, the recipient summary
before sending, test send, schedule, cancel and delete (managers), read-only for agents."""

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

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

LIST = "/outreach/campaigns/"
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
Status = Campaign.Status


def contact(*, consent: bool = True, **extra: Any) -> Contact:
    extra.setdefault("timezone", SEOUL)
    found = ContactFactory(**extra)
    if consent:
        consents_set(contact=found, consents={"marketing_email": True}, source="staff")
    return found


def korea(manager):
    return segment_create(name="Korea", filters={"country": ["KR"]}, created_by=manager)


def new_campaign(manager, **fields: Any) -> Campaign:
    fields.setdefault("name", "Chuseok greetings")
    fields.setdefault("send_on", timezone.localdate() + dt.timedelta(days=10))
    fields.setdefault("send_time", dt.time(10, 0))
    fields.setdefault("subject_en", "Happy Chuseok, {{ first_name }}")
    fields.setdefault("body_text_en", "{{ salutation }}, enjoy the holiday.")
    fields.setdefault("subject_ko", "{{ salutation }}, 즐거운 한가위 보내세요")
    fields.setdefault("body_text_ko", "{{ salutation }}, 풍성한 한가위 되세요.")
    if "segment" not in fields and "contact_ids" not in fields:
        fields["segment"] = korea(manager)
    return campaign_create(actor=manager, **fields)


def form_data(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "Spring sale",
        "segment": "",
        "purpose": "marketing_email",
        "send_on": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
        "send_time": "10:00",
        "subject_en": "Spring is here, {{ first_name }}",
        "body_text_en": "{{ salutation }}, our spring sale starts today.",
        "subject_ko": "{{ salutation }}, 봄 세일",
        "body_text_ko": "{{ salutation }}, 봄 세일이 시작되었습니다.",
    }
    data.update(changes)
    return data


def test_agents_read_customers_are_refused_anonymous_sign_in(
    client, manager, agent, customer_a
):
    campaign = new_campaign(manager)
    detail = reverse("crm:campaign", args=[campaign.pk])
    assert client.get(LIST)["Location"] == f"/accounts/login/?next={LIST}"
    client.force_login(customer_a)
    assert client.get(LIST).status_code == 403
    assert client.get(detail).status_code == 403
    client.force_login(agent)
    assert client.get(LIST).status_code == 200
    html = client.get(detail).content.decode()
    assert "Chuseok greetings" in html
    assert "Send a test to me" not in html
    assert reverse("crm:campaign_schedule", args=[campaign.pk]) not in html


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("crm:campaign_create", "get"),
        ("crm:campaign_edit", "get"),
        ("crm:campaign_schedule", "post"),
        ("crm:campaign_cancel", "post"),
        ("crm:campaign_delete", "post"),
        ("crm:campaign_test_send", "post"),
    ],
)
def test_agents_cannot_write(client, manager, agent, name, method):
    campaign = new_campaign(manager)
    args = [] if name == "crm:campaign_create" else [campaign.pk]
    client.force_login(agent)
    assert getattr(client, method)(reverse(name, args=args)).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Status.DRAFT
    assert not mail.outbox


def test_an_empty_list_invites_managers_to_create_one(client, manager, agent):
    client.force_login(manager)
    html = client.get(LIST).content.decode()
    assert "No campaigns yet" in html
    assert reverse("crm:campaign_create") in html
    client.force_login(agent)
    html = client.get(LIST).content.decode()
    assert "No campaigns yet" in html
    assert reverse("crm:campaign_create") not in html


def test_the_list_shows_day_time_recipients_and_counts(client, manager, agent):
    contact(country="KR")
    contact(country="KR", consent=False)
    by_segment = new_campaign(manager, name="By segment")
    chosen = [contact(country="JP").pk, contact(country="JP").pk]
    new_campaign(manager, name="Hand-picked", segment=None, contact_ids=chosen)
    client.force_login(agent)
    response = client.get(LIST)
    rows = {row["campaign"].name: row for row in response.context["rows"]}
    assert rows["By segment"]["reachable"] == 1
    assert rows["Hand-picked"]["reachable"] == 2
    html = response.content.decode()
    assert "2 chosen contacts" in html
    assert "Korea" in html
    assert "10:00" in html
    assert by_segment.get_status_display() in html
    assert 'aria-current="page">Campaigns' in html


def test_the_list_has_a_bounded_number_of_queries(
    client, manager, agent, django_assert_max_num_queries
):
    contact(country="KR")
    for number in range(3):
        new_campaign(manager, name=f"Campaign {number}")
    client.force_login(agent)
    client.get(LIST)
    # session, user, groups, campaigns, outbox counts, and one summary per open campaign
    with django_assert_max_num_queries(5 + 3 * 2):
        assert client.get(LIST).status_code == 200


def test_the_detail_page_has_a_bounded_number_of_queries(
    client, manager, django_assert_max_num_queries
):
    ContactFactory.create_batch(20, country="KR")
    campaign = new_campaign(manager)
    client.force_login(manager)
    with django_assert_max_num_queries(16):
        assert (
            client.get(reverse("crm:campaign", args=[campaign.pk])).status_code == 200
        )


def test_a_manager_creates_a_draft_for_a_segment(client, manager):
    segment = korea(manager)
    client.force_login(manager)
    assert client.get(reverse("crm:campaign_create")).status_code == 200
    response = client.post(
        reverse("crm:campaign_create"), form_data(segment=str(segment.pk))
    )
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("crm:campaign", args=[campaign.pk])
    assert campaign.status == Status.DRAFT
    assert campaign.segment == segment
    assert campaign.subject_ko == "{{ salutation }}, 봄 세일"
    assert campaign.created_by == manager


def test_saving_with_the_korean_interface_keeps_both_languages(client, manager):
    segment = korea(manager)
    client.force_login(manager)
    client.cookies["rapport_language"] = "ko"
    with translation.override("ko"):
        client.post(reverse("crm:campaign_create"), form_data(segment=str(segment.pk)))
    campaign = Campaign.objects.get()
    assert campaign.subject_en == "Spring is here, {{ first_name }}"
    assert campaign.subject_ko == "{{ salutation }}, 봄 세일"


def test_a_campaign_without_segment_or_contacts_names_the_segment_field(
    client, manager
):
    client.force_login(manager)
    response = client.post(reverse("crm:campaign_create"), form_data())
    assert response.status_code == 400
    assert "segment" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_an_unknown_placeholder_names_the_field(client, manager):
    segment = korea(manager)
    client.force_login(manager)
    response = client.post(
        reverse("crm:campaign_create"),
        form_data(segment=str(segment.pk), body_text_ko="{{ coupon }}"),
    )
    assert response.status_code == 400
    assert "coupon" in response.context["form"].errors["body_text_ko"][0]
    assert not Campaign.objects.exists()


def test_chosen_contacts_from_a_link_are_kept(client, manager):
    a, b = contact(), contact()
    client.force_login(manager)
    page = client.get(reverse("crm:campaign_create"), {"contacts": f"{a.pk},{b.pk}"})
    assert "Also goes to 2 chosen contacts" in page.content.decode()
    client.post(reverse("crm:campaign_create"), form_data(contact_ids=f"{a.pk},{b.pk}"))
    campaign = Campaign.objects.get()
    assert set(campaign.contacts.values_list("pk", flat=True)) == {a.pk, b.pk}


def test_editing_a_scheduled_campaign_puts_it_back_to_draft(client, manager):
    campaign = new_campaign(manager)
    campaign_schedule(campaign=campaign, actor=manager, now=timezone.now())
    client.force_login(manager)
    url = reverse("crm:campaign_edit", args=[campaign.pk])
    page = client.get(url)
    assert "back to draft" in page.content.decode()
    assert page.context["form"]["name"].value() == "Chuseok greetings"
    assert 'value="Chuseok greetings"' in page.content.decode()
    assert page.context["form"]["segment"].value() == campaign.segment_id
    client.post(url, form_data(segment=str(campaign.segment_id), name="Renamed"))
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Renamed", Status.DRAFT)


def test_the_preview_renders_korean_with_the_salutation_and_falls_back_to_english(
    client, manager
):
    kim = contact(given_name="길동", family_name="홍", language="ko")
    client.force_login(manager)
    url = reverse("crm:campaign_preview")
    response = client.post(url, {**form_data(), "preview_contact": kim.pk})
    assert response.context["preview_subject"] == "홍길동 고객님, 봄 세일"
    assert response.context["preview_body"].startswith("홍길동 고객님, 봄 세일이")
    assert not response.context["preview_fallback"]
    response = client.post(url, {**form_data(subject_ko=""), "preview_contact": kim.pk})
    assert response.context["preview_subject"] == "Spring is here, 길동"
    assert "The Korean translation is empty" in response.content.decode()


def test_the_preview_shows_a_placeholder_error_before_saving(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("crm:campaign_preview"),
        {**form_data(subject_en="{{ coupon }}"), "preview_contact": contact().pk},
    )
    html = response.content.decode()
    assert "Subject (English)" in html
    assert "coupon" in html


def test_the_detail_page_shows_who_it_reaches_before_sending(client, manager):
    contact(country="KR")
    contact(country="KR")
    contact(country="KR", consent=False)
    contact(country="KR", email="")
    campaign = new_campaign(manager)
    client.force_login(manager)
    response = client.get(reverse("crm:campaign", args=[campaign.pk]))
    assert response.context["summary"] == {
        "total": 4,
        "reachable": 2,
        "no_consent": 1,
        "no_email": 1,
    }
    html = response.content.decode()
    assert "Will receive it" in html
    assert "Send a test to me" in html
    assert reverse("crm:campaign_delete", args=[campaign.pk]) in html


def test_send_a_test_to_me(client, manager):
    kim = contact(country="KR", given_name="길동", family_name="홍", language="ko")
    campaign = new_campaign(manager)
    client.force_login(manager)
    response = client.post(
        reverse("crm:campaign_test_send", args=[campaign.pk]),
        {"preview_contact": kim.pk},
        follow=True,
    )
    [sent] = mail.outbox
    assert sent.to == [manager.email]
    assert sent.subject == "[Test] 홍길동 고객님, 즐거운 한가위 보내세요"
    assert f"A test was sent to {manager.email}" in response.content.decode()
    assert not OutboundMessage.objects.exists()


def test_a_test_send_without_an_email_address_says_so(client, manager):
    contact(country="KR")
    campaign = new_campaign(manager)
    manager.email = ""
    manager.save(update_fields=["email"])
    client.force_login(manager)
    response = client.post(
        reverse("crm:campaign_test_send", args=[campaign.pk]), follow=True
    )
    assert "Your account has no email address." in response.content.decode()
    assert not mail.outbox


def test_schedule_confirms_day_time_and_count_then_schedules(client, manager):
    contact(country="KR")
    campaign = new_campaign(manager, send_time=dt.time(9, 30))
    client.force_login(manager)
    url = reverse("crm:campaign_schedule", args=[campaign.pk])
    html = client.get(url).content.decode()
    assert "09:30" in html
    assert "1 of 1 recipients will receive it" in html
    campaign.refresh_from_db()
    assert campaign.status == Status.DRAFT  # nothing before the POST
    response = client.post(url, follow=True)
    campaign.refresh_from_db()
    assert campaign.status == Status.SCHEDULED
    assert "is scheduled" in response.content.decode()


def test_a_past_day_cannot_be_scheduled_and_the_error_names_it(client, manager):
    campaign = new_campaign(
        manager, send_on=timezone.localdate() - dt.timedelta(days=5)
    )
    client.force_login(manager)
    response = client.post(reverse("crm:campaign_schedule", args=[campaign.pk]))
    assert response.status_code == 400
    assert "This day has already passed everywhere" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Status.DRAFT


def test_cancel_stops_the_planned_messages_and_says_how_many(client, manager):
    first, second = contact(country="KR"), contact(country="KR")
    contact(country="KR", consent=False)
    day = timezone.localdate() + dt.timedelta(days=10)
    campaign = new_campaign(manager, send_on=day, send_time=dt.time(10, 0))
    campaign_schedule(campaign=campaign, actor=manager, now=timezone.now())
    # The campaign's day in Seoul, after its send time there: the rows are planned.
    campaigns_plan(now=dt.datetime.combine(day, dt.time(10, 5), SEOUL))
    messages = OutboundMessage.objects.filter(occasion="campaign")
    assert messages.filter(status=OutboundMessage.Status.PLANNED).count() == 2
    client.force_login(manager)
    detail = client.get(reverse("crm:campaign", args=[campaign.pk]))
    outbox_link = f"/outreach/?occasion=campaign&amp;occurrence={campaign.pk}"
    assert outbox_link in detail.content.decode()
    url = reverse("crm:campaign_cancel", args=[campaign.pk])
    assert "2 planned messages are stopped now" in client.get(url).content.decode()
    response = client.post(url, follow=True)
    assert "2 planned messages were stopped" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Status.CANCELLED
    stopped = messages.filter(contact__in=[first, second])
    assert set(stopped.values_list("status", "skip_reason")) == {
        (OutboundMessage.Status.SKIPPED, OutboundMessage.SkipReason.CANCELLED)
    }


def test_the_outbox_filters_one_campaigns_messages(client, manager, agent):
    contact(country="KR")
    day = timezone.localdate() + dt.timedelta(days=10)
    mine = new_campaign(manager, send_on=day)
    other = new_campaign(manager, send_on=day, name="Other")
    for campaign in (mine, other):
        campaign_schedule(campaign=campaign, actor=manager, now=timezone.now())
    campaigns_plan(now=dt.datetime.combine(day, dt.time(10, 5), SEOUL))
    client.force_login(agent)
    response = client.get(
        "/outreach/", {"occasion": "campaign", "occurrence": str(mine.pk)}
    )
    rows = response.context["page"].object_list
    assert {row.occurrence for row in rows} == {str(mine.pk)}
    assert response.context["total"] == 1


def test_a_draft_is_deleted_after_confirming(client, manager):
    campaign = new_campaign(manager)
    client.force_login(manager)
    url = reverse("crm:campaign_delete", args=[campaign.pk])
    assert "deleted for good" in client.get(url).content.decode()
    assert client.post(url)["Location"] == LIST
    assert not Campaign.objects.exists()


def test_a_scheduled_campaign_cannot_be_deleted(client, manager):
    campaign = new_campaign(manager)
    campaign_schedule(campaign=campaign, actor=manager, now=timezone.now())
    client.force_login(manager)
    response = client.post(reverse("crm:campaign_delete", args=[campaign.pk]))
    assert response.status_code == 400
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_every_outreach_page_renders_in_korean(client, manager):
    contact(country="KR", language="ko")
    campaign = new_campaign(manager)
    client.force_login(manager)
    client.cookies["rapport_language"] = "ko"
    pages = [
        LIST,
        reverse("crm:campaign_create"),
        reverse("crm:campaign", args=[campaign.pk]),
        reverse("crm:campaign_edit", args=[campaign.pk]),
        reverse("crm:campaign_schedule", args=[campaign.pk]),
        reverse("crm:campaign_cancel", args=[campaign.pk]),
        reverse("crm:campaign_delete", args=[campaign.pk]),
        "/outreach/templates/",
        "/outreach/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Language"] == "ko", url
