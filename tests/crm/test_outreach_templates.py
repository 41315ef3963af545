"""Outreach message templates: placeholders, languages, events and sending rules (DESIGN §4.2-4.4, §7)."""

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from crm import hooks
from crm.models import Contact, MessageTemplate, OutboundMessage
from crm.outreach.localtime import after_quiet_hours
from crm.outreach.render import render_message
from crm.services import (
    birthdays_plan,
    consents_set,
    contact_event_received,
    message_template_get,
    outreach_event_plan,
)
from tests.crm.factories import CompanyFactory, ContactFactory

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
# 10:00 in Seoul on 10 May 2027.
NOW = dt.datetime(2027, 5, 10, 1, 0, tzinfo=dt.UTC)
Status = OutboundMessage.Status
SURVEY_URL = "https://crm.example.com/s/abc123/"


def contact_with(*consents: str, **extra: Any) -> Contact:
    extra.setdefault("timezone", SEOUL)
    contact = ContactFactory(**extra)
    if consents:
        consents_set(
            contact=contact,
            consents=dict.fromkeys(consents, True),
            source="staff",
        )
    return contact


def survey_data(invitation_id: int = 7, reminder: int = 0) -> dict[str, Any]:
    return {
        "invitation_id": invitation_id,
        "survey_id": 1,
        "url": SURVEY_URL,
        "expires_at": "2027-05-24T01:00:00+00:00",
        "reminder": reminder,
    }


def template(occasion: str, step: int = 0) -> MessageTemplate:
    # A transactional test elsewhere may have flushed the migration's rows; recreate them.
    found = message_template_get(occasion=occasion, step=step)
    assert found is not None
    return found


@pytest.mark.django_db
def test_every_occasion_has_a_default_template_in_english_and_korean():
    for occasion in MessageTemplate.Occasion.values:
        found = template(occasion, step=1 if occasion == "onboarding" else 0)
        for field in ("subject_en", "body_text_en", "subject_ko", "body_text_ko"):
            assert getattr(found, field), (occasion, field)
        found.full_clean()


@pytest.mark.django_db
def test_unknown_placeholder_is_refused_naming_the_field_and_the_placeholder():
    found = template("birthday")
    found.body_text_ko = "{{ salutation }}, {{ nickname }}님 생일 축하드려요"
    with pytest.raises(ValidationError) as raised:
        found.clean()
    assert set(raised.value.message_dict) == {"body_text_ko"}
    assert "nickname" in raised.value.message_dict["body_text_ko"][0]


@pytest.mark.django_db
def test_template_syntax_errors_and_tags_are_refused():
    found = template("birthday")
    found.subject_en = "{% if first_name %}Hi"
    found.body_text_en = "{% now 'Y' %} {{ salutation }}"
    with pytest.raises(ValidationError) as raised:
        found.clean()
    assert set(raised.value.message_dict) == {"subject_en", "body_text_en"}
    assert "now" in raised.value.message_dict["body_text_en"][0]


@pytest.mark.django_db
def test_korean_contact_gets_the_korean_template_with_its_salutation():
    company = CompanyFactory(name="한빛상사")
    contact = contact_with(
        given_name="길동", family_name="홍", language="ko", company=company
    )
    found = template("tier_upgraded")
    found.body_text_ko = (
        "{{ salutation }} ({{ company }}), {{ tier }} 등급 축하드립니다."
    )
    found.save()
    subject, text, language = render_message(
        template=found, contact=contact, context={"tier": "골드"}
    )
    assert language == "ko"
    assert subject == "골드 등급이 되신 것을 축하드립니다!"
    assert text == "홍길동 고객님 (한빛상사), 골드 등급 축하드립니다."


@pytest.mark.django_db
def test_missing_korean_translation_falls_back_to_english():
    contact = contact_with(given_name="길동", family_name="홍", language="ko")
    found = template("birthday")
    found.body_text_ko = ""
    found.save()
    subject, text, language = render_message(
        template=found, contact=contact, context={"unsubscribe_link": "/u/x/"}
    )
    assert language == "en"
    assert subject == "Happy birthday, 길동!"
    assert text.startswith("Hi 길동,\n\nHappy birthday from all of us!")
    assert "/u/x/" in text


@pytest.mark.django_db
def test_birthday_uses_its_edited_template():
    contact = contact_with(
        "marketing_email", given_name="Anna", language="en", birth_month=5, birth_day=10
    )
    found = template("birthday")
    found.subject_en = "Many happy returns, {{ first_name }}"
    found.save()
    assert birthdays_plan(now=NOW) == 1
    message = OutboundMessage.objects.get(contact=contact)
    assert message.subject == "Many happy returns, Anna"
    # Switched off: nothing more is planned for the occasion.
    found.active = False
    found.save()
    contact_with("marketing_email", birth_month=5, birth_day=10)
    assert birthdays_plan(now=NOW) == 0


@pytest.mark.django_db
def test_survey_invitation_event_makes_one_outbox_row_with_the_link(
    django_capture_on_commit_callbacks,
):
    assert contact_event_received in list(hooks.contact_events)
    contact = contact_with("surveys", given_name="Anna", language="en")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            for listener in hooks.contact_events:
                listener(
                    contact_id=contact.pk, event="survey_invited", data=survey_data()
                )
    message = OutboundMessage.objects.get()
    assert (message.occasion, message.occurrence) == ("survey_invited", "survey:7:0")
    assert message.status == Status.PLANNED
    assert SURVEY_URL in message.body_text
    assert message.body_text.startswith("Hi Anna,")
    assert "May 24, 2027" in message.body_text
    # A reminder is another occurrence of its own occasion.
    with django_capture_on_commit_callbacks(execute=True):
        contact_event_received(
            contact_id=contact.pk, event="survey_reminder", data=survey_data(reminder=1)
        )
    assert OutboundMessage.objects.filter(occurrence="survey:7:1").count() == 1


@pytest.mark.django_db
def test_survey_without_surveys_consent_is_skipped():
    contact = contact_with("marketing_email")
    outreach_event_plan(
        contact_id=contact.pk, event="survey_invited", data=survey_data(), now=NOW
    )
    message = OutboundMessage.objects.get()
    assert (message.status, message.skip_reason) == (Status.SKIPPED, "no_consent")
    assert message.body_text == ""


@pytest.mark.django_db
def test_events_without_a_template_or_id_are_ignored():
    contact = contact_with("marketing_email")
    outreach_event_plan(
        contact_id=contact.pk, event="ticket_resolved", data={}, now=NOW
    )
    outreach_event_plan(
        contact_id=contact.pk, event="points_expiring", data={}, now=NOW
    )
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_points_expiring_renders_points_and_local_date():
    contact = contact_with(
        "marketing_email", language="ko", given_name="길동", family_name="홍"
    )
    data = {"lot_id": 41, "points": 1500, "expires_at": "2027-05-31T16:00:00+00:00"}
    outreach_event_plan(
        contact_id=contact.pk, event="points_expiring", data=data, now=NOW
    )
    message = OutboundMessage.objects.get()
    assert message.occurrence == "points:41"
    assert message.language == "ko"
    # 16:00 UTC on 31 May is 1 June in Seoul.
    assert "1500 포인트가 2027년 6월 1일에" in message.subject


@pytest.mark.django_db
def test_quiet_hours_move_the_schedule_to_their_end(settings):
    contact = contact_with("surveys")
    # 22:30 in Seoul: waits until 08:00 the next morning.
    late = dt.datetime(2027, 5, 10, 13, 30, tzinfo=dt.UTC)
    outreach_event_plan(
        contact_id=contact.pk, event="survey_invited", data=survey_data(), now=late
    )
    message = OutboundMessage.objects.get()
    assert message.scheduled_for == dt.datetime(2027, 5, 11, 8, 0, tzinfo=SEOUL)
    # 10:00 in Seoul is outside them: due at once.
    outreach_event_plan(
        contact_id=contact.pk, event="survey_invited", data=survey_data(8), now=NOW
    )
    assert OutboundMessage.objects.get(occurrence="survey:8:0").scheduled_for == NOW
    # Birthdays too: quiet until 10:00 moves the 09:00 greeting.
    settings.OUTREACH_QUIET_END = "10:00"
    birthday = contact_with("marketing_email", birth_month=5, birth_day=10)
    birthdays_plan(now=NOW)
    assert OutboundMessage.objects.get(contact=birthday).scheduled_for == NOW


def test_quiet_hours_wrap_midnight():
    def moved(hour: int, minute: int = 0) -> dt.datetime:
        moment = dt.datetime(2027, 5, 10, hour, minute, tzinfo=SEOUL)
        return after_quiet_hours(
            moment=moment, tz=SEOUL, start=dt.time(21), end=dt.time(8)
        )

    assert moved(20, 59) == dt.datetime(2027, 5, 10, 20, 59, tzinfo=SEOUL)
    assert moved(21) == dt.datetime(2027, 5, 11, 8, tzinfo=SEOUL)
    assert moved(3) == dt.datetime(2027, 5, 10, 8, tzinfo=SEOUL)
    assert moved(8) == dt.datetime(2027, 5, 10, 8, tzinfo=SEOUL)


@pytest.mark.django_db
def test_frequency_cap_skips_the_fourth_marketing_message_in_a_week(settings):
    settings.OUTREACH_MAX_PER_WEEK = 3
    contact = contact_with("marketing_email", "surveys")
    for day, change_id in enumerate([1, 2, 3]):
        outreach_event_plan(
            contact_id=contact.pk,
            event="tier_upgraded",
            data={"tier_change_id": change_id, "to_tier": "Gold"},
            now=NOW + dt.timedelta(days=day),
        )
    outreach_event_plan(
        contact_id=contact.pk,
        event="points_expiring",
        data={"lot_id": 9, "points": 10, "expires_at": "2027-06-01T00:00:00+00:00"},
        now=NOW + dt.timedelta(days=3),
    )
    fourth = OutboundMessage.objects.get(occasion="points_expiring")
    assert (fourth.status, fourth.skip_reason) == (Status.SKIPPED, "capped")
    assert OutboundMessage.objects.filter(status=Status.PLANNED).count() == 3
    # Surveys are not marketing: not capped.
    outreach_event_plan(
        contact_id=contact.pk, event="survey_invited", data=survey_data(), now=NOW
    )
    assert (
        OutboundMessage.objects.get(occasion="survey_invited").status == Status.PLANNED
    )
    # A week later the cap has room again.
    outreach_event_plan(
        contact_id=contact.pk,
        event="points_expiring",
        data={"lot_id": 10, "points": 10, "expires_at": "2027-06-01T00:00:00+00:00"},
        now=NOW + dt.timedelta(days=9),
    )
    assert OutboundMessage.objects.get(occurrence="points:10").status == Status.PLANNED
