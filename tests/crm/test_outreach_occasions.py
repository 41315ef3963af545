"""Anniversaries, the onboarding series, win-back, post-ticket CSAT and campaigns: each planned
at the contact's local time, once per key, with consent, cap and exit conditions (DESIGN §4.2-4.4)."""

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from crm.models import Campaign, Contact, MessageTemplate, OutboundMessage
from crm.roles import Role
from crm.services import (
    anniversaries_plan,
    campaign_cancel,
    campaign_create,
    campaign_schedule,
    campaigns_plan,
    consents_set,
    contact_event_received,
    message_template_get,
    onboarding_plan,
    outbox_claim_due,
    outbox_send,
    outbox_skip_missed,
    outreach_event_plan,
    outreach_plan,
    outreach_preferences_set,
    purchase_record,
    segment_create,
    win_back_plan,
)
from crm.services.outreach import preferences_url, unsubscribe_token
from tests.crm.factories import ContactFactory, UserFactory

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
Status = OutboundMessage.Status
Reason = OutboundMessage.SkipReason


def at(zone: zoneinfo.ZoneInfo, *args: int) -> dt.datetime:
    """A local wall-clock moment in ``zone`` as an aware UTC datetime."""
    return dt.datetime(*args, tzinfo=zone).astimezone(dt.UTC)


def contact(*, consent: bool = True, **extra: Any) -> Contact:
    extra.setdefault("timezone", SEOUL)
    extra.setdefault("language", "ko")
    found = ContactFactory(**extra)
    if consent:
        consents_set(
            contact=found,
            consents={"marketing_email": True, "surveys": True},
            source="staff",
        )
    return found


def activate(occasion: str, step: int = 0, **fields: Any) -> MessageTemplate:
    template = message_template_get(occasion=occasion, step=step)
    assert template is not None
    MessageTemplate.objects.filter(pk=template.pk).update(active=True, **fields)
    template.refresh_from_db()
    return template


def signed_up(found: Contact, moment: dt.datetime) -> Contact:
    Contact.objects.filter(pk=found.pk).update(created_at=moment)
    found.refresh_from_db()
    return found


def buy(found: Contact, moment: dt.datetime, amount: str = "10") -> None:
    purchase_record(
        contact=found, amount=Decimal(amount), currency="USD", occurred_at=moment
    )


# Anniversary --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anniversary_is_sent_on_the_local_day_of_the_first_purchase_once_a_year():
    activate("anniversary")
    # First purchase at 23:30 on 3 March 2025 in Seoul: 14:30 UTC the same day.
    customer = contact()
    buy(customer, at(SEOUL, 2025, 3, 3, 23, 30))
    assert anniversaries_plan(now=at(SEOUL, 2026, 3, 3, 8, 59)) == 0  # before 09:00
    assert anniversaries_plan(now=at(SEOUL, 2026, 3, 2, 10, 0)) == 0  # the UTC day
    assert anniversaries_plan(now=at(SEOUL, 2026, 3, 3, 9, 0)) == 1
    assert anniversaries_plan(now=at(SEOUL, 2026, 3, 3, 18, 0)) == 0
    message = OutboundMessage.objects.get()
    assert (message.occasion, message.occurrence) == ("anniversary", "2026")
    assert message.status == Status.PLANNED
    assert "함께해 주셔서 감사합니다" in message.subject
    assert anniversaries_plan(now=at(SEOUL, 2027, 3, 3, 9, 30)) == 1


@pytest.mark.django_db
def test_no_anniversary_in_the_first_year_for_churned_customers_or_when_switched_off():
    template = activate("anniversary")
    newcomer = contact()
    buy(newcomer, at(SEOUL, 2026, 3, 3, 12, 0))
    churned = contact()
    buy(churned, at(SEOUL, 2024, 3, 3, 12, 0))
    Contact.objects.filter(pk=churned.pk).update(churned_at=at(SEOUL, 2025, 6, 1, 0, 0))
    assert anniversaries_plan(now=at(SEOUL, 2026, 3, 3, 10, 0)) == 0
    MessageTemplate.objects.filter(pk=template.pk).update(active=False)
    old = contact()
    buy(old, at(SEOUL, 2024, 3, 3, 12, 0))
    assert anniversaries_plan(now=at(SEOUL, 2026, 3, 3, 10, 0)) == 0


# Onboarding ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_onboarding_steps_go_out_their_days_after_sign_up_at_local_send_time():
    newcomer = signed_up(contact(), at(SEOUL, 2026, 4, 1, 15, 0))
    # Step 1 (day 0): sign-up at 15:00 is after 09:00, still sent that same local day.
    assert onboarding_plan(now=at(SEOUL, 2026, 4, 1, 15, 1)) == 1
    first = OutboundMessage.objects.get(contact=newcomer)
    assert (first.occasion, first.occurrence) == ("onboarding", "step-1")
    assert first.scheduled_for == at(SEOUL, 2026, 4, 1, 9, 0)
    # Step 2 (day 7) at 09:00 local on 8 April, not before.
    assert onboarding_plan(now=at(SEOUL, 2026, 4, 8, 8, 59)) == 0
    assert onboarding_plan(now=at(SEOUL, 2026, 4, 8, 9, 0)) == 1
    assert onboarding_plan(now=at(SEOUL, 2026, 4, 8, 20, 0)) == 0
    # Step 3 (day 30) on 1 May.
    assert onboarding_plan(now=at(SEOUL, 2026, 5, 1, 9, 5)) == 1
    keys = set(
        OutboundMessage.objects.filter(contact=newcomer).values_list(
            "occurrence", flat=True
        )
    )
    assert keys == {"step-1", "step-2", "step-3"}


@pytest.mark.django_db
def test_an_onboarding_step_is_skipped_when_its_exit_condition_holds():
    # Step 2 exits after one purchase, step 3 after two (the shipped series).
    buyer = signed_up(contact(), at(SEOUL, 2026, 4, 1, 8, 0))
    buy(buyer, at(SEOUL, 2026, 4, 2, 12, 0))
    browser = signed_up(contact(), at(SEOUL, 2026, 4, 1, 8, 0))
    assert onboarding_plan(now=at(SEOUL, 2026, 4, 8, 9, 0)) == 2
    step_two = {
        row.contact_id: row
        for row in OutboundMessage.objects.filter(occurrence="step-2")
    }
    assert step_two[buyer.pk].status == Status.SKIPPED
    assert step_two[buyer.pk].skip_reason == Reason.EXIT_CONDITION
    assert step_two[buyer.pk].body_text == ""
    assert step_two[browser.pk].status == Status.PLANNED
    # One purchase refunded in full no longer counts; a second real one makes step 3 exit.
    buy(buyer, at(SEOUL, 2026, 4, 20, 12, 0))
    assert onboarding_plan(now=at(SEOUL, 2026, 5, 1, 9, 0)) == 2
    step_three = {
        row.contact_id: row.skip_reason
        for row in OutboundMessage.objects.filter(occurrence="step-3")
    }
    assert step_three == {buyer.pk: Reason.EXIT_CONDITION, browser.pk: ""}


@pytest.mark.django_db
def test_imported_contacts_get_no_welcome_series_and_customer_since_can_anchor_a_step():
    imported = signed_up(
        contact(source=Contact.Source.IMPORT), at(SEOUL, 2026, 4, 1, 8, 0)
    )
    assert onboarding_plan(now=at(SEOUL, 2026, 4, 1, 10, 0)) == 0
    MessageTemplate.objects.filter(occasion="onboarding", step=3).update(
        anchor=MessageTemplate.Anchor.CUSTOMER_SINCE, delay_days=2
    )
    buy(imported, at(SEOUL, 2026, 4, 3, 12, 0))
    assert onboarding_plan(now=at(SEOUL, 2026, 4, 5, 9, 0)) == 1
    assert OutboundMessage.objects.get().occurrence == "step-3"


@pytest.mark.django_db
def test_onboarding_without_consent_or_email_is_skipped_with_the_reason():
    no_consent = signed_up(contact(consent=False), at(SEOUL, 2026, 4, 1, 8, 0))
    no_email = signed_up(contact(email=""), at(SEOUL, 2026, 4, 1, 8, 0))
    assert onboarding_plan(now=at(SEOUL, 2026, 4, 1, 10, 0)) == 2
    reasons = dict(OutboundMessage.objects.values_list("contact_id", "skip_reason"))
    assert reasons == {no_consent.pk: Reason.NO_CONSENT, no_email.pk: Reason.NO_EMAIL}


# Win-back -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_win_back_goes_out_n_local_days_after_the_last_purchase_once_per_lapse():
    activate("win_back", delay_days=90)
    lapsed = contact()
    buy(lapsed, at(SEOUL, 2026, 1, 10, 23, 0))  # 14:00 UTC on 10 January
    assert win_back_plan(now=at(SEOUL, 2026, 4, 9, 12, 0)) == 0  # day 89
    assert win_back_plan(now=at(SEOUL, 2026, 4, 10, 9, 1)) == 1  # day 90, local
    assert win_back_plan(now=at(SEOUL, 2026, 4, 10, 15, 0)) == 0
    assert win_back_plan(now=at(SEOUL, 2026, 4, 11, 9, 1)) == 0  # day 91: nothing new
    message = OutboundMessage.objects.get()
    assert (message.occasion, message.occurrence) == ("win_back", "2026-04-10")
    # They come back and lapse again: a new message 90 days after the new purchase.
    buy(lapsed, at(SEOUL, 2026, 5, 1, 12, 0))
    assert win_back_plan(now=at(SEOUL, 2026, 7, 30, 9, 1)) == 1
    assert OutboundMessage.objects.filter(occasion="win_back").count() == 2


@pytest.mark.django_db
def test_win_back_is_off_by_default():
    lapsed = contact()
    buy(lapsed, at(SEOUL, 2026, 1, 10, 12, 0))
    assert win_back_plan(now=at(SEOUL, 2026, 4, 10, 10, 0)) == 0


# Post-ticket CSAT ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_survey_invitation_from_a_resolved_ticket_uses_the_ticket_csat_text():
    customer = contact()
    now = at(SEOUL, 2026, 4, 10, 11, 0)
    data = {
        "invitation_id": 7,
        "url": "https://example.com/s/abc/",
        "expires_at": "2026-04-24T00:00:00+00:00",
        "reminder": 0,
        "trigger": "after_ticket_resolved",
    }
    assert outreach_event_plan(
        contact_id=customer.pk, event="survey_invited", data=data, now=now
    )
    message = OutboundMessage.objects.get()
    assert message.occasion == "ticket_csat"
    assert message.purpose == "surveys"
    assert "문의하신 내용이 해결되었습니다" in message.subject
    assert "https://example.com/s/abc/" in message.body_text
    # Another survey's invitation keeps the general text.
    outreach_event_plan(
        contact_id=customer.pk,
        event="survey_invited",
        data={**data, "invitation_id": 8, "trigger": "manual"},
        now=now,
    )
    assert set(OutboundMessage.objects.values_list("occasion", flat=True)) == {
        "ticket_csat",
        "survey_invited",
    }


@pytest.mark.django_db(transaction=True)
def test_resolving_a_ticket_puts_the_csat_email_in_the_outbox():
    from feedback.models import Survey
    from feedback.services.surveys import survey_create
    from feedback.services.tickets import ticket_open, ticket_set_status

    if not Survey.objects.filter(after_ticket_resolved=True, active=True).exists():
        survey_create(title="How did we do?", kind="csat", after_ticket_resolved=True)
    customer = contact()
    agent = UserFactory(role=Role.MANAGER)
    ticket = ticket_open(contact=customer, subject="배송 문의", actor=agent)
    ticket_set_status(ticket=ticket, status="resolved", actor=agent)
    message = OutboundMessage.objects.get(contact=customer)
    assert message.occasion == "ticket_csat"
    assert message.purpose == "surveys"


# Campaigns ----------------------------------------------------------------------------------


def new_campaign(manager: Any, **fields: Any) -> Campaign:
    fields.setdefault("name", "Chuseok greetings")
    fields.setdefault("send_on", dt.date(2026, 9, 22))
    fields.setdefault("send_time", dt.time(10, 0))
    fields.setdefault("subject_en", "Happy Chuseok, {{ first_name }}")
    fields.setdefault("body_text_en", "{{ salutation }}, enjoy the holiday.")
    fields.setdefault("subject_ko", "{{ salutation }}, 즐거운 한가위 보내세요")
    fields.setdefault("body_text_ko", "{{ salutation }}, 풍성한 한가위 되세요.")
    return campaign_create(actor=manager, **fields)


@pytest.mark.django_db
def test_a_campaign_reaches_each_recipient_at_ten_in_their_own_zone_once():
    manager = UserFactory(role=Role.MANAGER)
    seoul = contact(country="KR", timezone=SEOUL, language="ko")
    new_york = contact(country="KR", timezone=NEW_YORK, language="en")
    contact(country="JP")  # outside the segment
    segment = segment_create(
        name="Korea", filters={"country": ["KR"]}, created_by=manager
    )
    campaign = new_campaign(manager, segment=segment)
    campaign_schedule(campaign=campaign, actor=manager, now=at(SEOUL, 2026, 9, 1, 9, 0))
    assert campaigns_plan(now=at(SEOUL, 2026, 9, 22, 9, 59)) == 0
    assert campaigns_plan(now=at(SEOUL, 2026, 9, 22, 10, 0)) == 1
    assert campaigns_plan(now=at(NEW_YORK, 2026, 9, 22, 9, 59)) == 0
    assert campaigns_plan(now=at(NEW_YORK, 2026, 9, 22, 10, 0)) == 1
    assert campaigns_plan(now=at(NEW_YORK, 2026, 9, 22, 18, 0)) == 0
    rows = {row.contact_id: row for row in OutboundMessage.objects.all()}
    assert rows[seoul.pk].scheduled_for == at(SEOUL, 2026, 9, 22, 10, 0)
    assert rows[new_york.pk].scheduled_for == at(NEW_YORK, 2026, 9, 22, 10, 0)
    assert rows[seoul.pk].subject.endswith("즐거운 한가위 보내세요")
    assert rows[new_york.pk].subject.startswith("Happy Chuseok")
    assert {row.occurrence for row in rows.values()} == {str(campaign.pk)}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    campaigns_plan(now=dt.datetime(2026, 9, 24, 0, 0, tzinfo=dt.UTC))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT


@pytest.mark.django_db
def test_a_draft_campaign_is_never_planned_and_a_cancelled_one_stops_what_is_left():
    manager = UserFactory(role=Role.MANAGER)
    seoul = contact(timezone=SEOUL)
    new_york = contact(timezone=NEW_YORK)
    campaign = new_campaign(manager, contact_ids=[seoul.pk, new_york.pk])
    assert campaigns_plan(now=at(SEOUL, 2026, 9, 22, 12, 0)) == 0
    campaign_schedule(campaign=campaign, actor=manager, now=at(SEOUL, 2026, 9, 1, 9, 0))
    assert campaigns_plan(now=at(SEOUL, 2026, 9, 22, 12, 0)) == 1
    [message_id] = outbox_claim_due(now=at(SEOUL, 2026, 9, 22, 12, 0), limit=10)
    assert outbox_send(message_id=message_id)
    # New York's row is planned at 10:00 there; cancelled a minute before it goes.
    assert campaigns_plan(now=at(NEW_YORK, 2026, 9, 22, 10, 0)) == 1
    stopped = campaign_cancel(
        campaign=campaign, actor=manager, now=at(NEW_YORK, 2026, 9, 22, 9, 59)
    )
    assert stopped == 1
    statuses = dict(OutboundMessage.objects.values_list("contact_id", "status"))
    assert statuses == {seoul.pk: Status.SENT, new_york.pk: Status.SKIPPED}
    assert OutboundMessage.objects.get(contact=new_york).skip_reason == Reason.CANCELLED
    assert campaigns_plan(now=at(NEW_YORK, 2026, 9, 22, 11, 0)) == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_campaign_errors_name_the_field_and_store_nothing():
    manager = UserFactory(role=Role.MANAGER)
    with pytest.raises(ValidationError) as raised:
        new_campaign(manager, body_text_ko="{{ salutation }} {{ coupon }}")
    errors = raised.value.message_dict
    assert "segment" in errors
    assert "coupon" in errors["body_text_ko"][0]
    assert not Campaign.objects.exists()
    campaign = new_campaign(manager, contact_ids=[contact().pk])
    with pytest.raises(ValidationError) as raised:
        campaign_schedule(
            campaign=campaign,
            actor=manager,
            now=dt.datetime(2026, 9, 24, tzinfo=dt.UTC),
        )
    assert "send_on" in raised.value.message_dict
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


@pytest.mark.django_db
def test_campaigns_count_towards_the_weekly_marketing_cap(settings):
    settings.OUTREACH_MAX_PER_WEEK = 1
    manager = UserFactory(role=Role.MANAGER)
    reader = contact()
    first = new_campaign(manager, contact_ids=[reader.pk])
    second = new_campaign(
        manager, name="Second", contact_ids=[reader.pk], send_on=dt.date(2026, 9, 24)
    )
    for campaign in (first, second):
        campaign_schedule(
            campaign=campaign, actor=manager, now=at(SEOUL, 2026, 9, 1, 9)
        )
    campaigns_plan(now=at(SEOUL, 2026, 9, 22, 11, 0))
    campaigns_plan(now=at(SEOUL, 2026, 9, 24, 11, 0))
    reasons = dict(OutboundMessage.objects.values_list("occurrence", "skip_reason"))
    assert reasons == {str(first.pk): "", str(second.pk): Reason.CAPPED}


# The planner run, day-late messages, preferences --------------------------------------------


@pytest.mark.django_db
def test_one_planner_run_plans_every_occasion():
    birthday = contact(birth_month=4, birth_day=8)
    newcomer = signed_up(contact(), at(SEOUL, 2026, 4, 1, 8, 0))
    result = outreach_plan(now=at(SEOUL, 2026, 4, 8, 9, 30))
    assert result["birthday"] == 1
    assert result["onboarding"] >= 1
    keys = set(OutboundMessage.objects.values_list("contact_id", "occasion"))
    assert {(birthday.pk, "birthday"), (newcomer.pk, "onboarding")} <= keys


@pytest.mark.django_db
def test_a_message_more_than_a_day_late_is_skipped_as_missed_never_sent():
    contact(birth_month=4, birth_day=8)
    late = contact(birth_month=4, birth_day=9)
    outreach_plan(now=at(SEOUL, 2026, 4, 8, 9, 30))
    outreach_plan(now=at(SEOUL, 2026, 4, 9, 9, 30))
    # The workers were down: the first is 26 hours late, the second two hours.
    later = at(SEOUL, 2026, 4, 9, 11, 30)
    assert outbox_skip_missed(now=later) == 1
    claimed = outbox_claim_due(now=later, limit=10)
    assert [OutboundMessage.objects.get(pk=pk).contact_id for pk in claimed] == [
        late.pk
    ]
    missed = OutboundMessage.objects.get(skip_reason=Reason.MISSED)
    assert missed.occurrence == "2026"
    assert missed.sent_at is None


@pytest.mark.django_db
def test_the_survey_unsubscribe_link_withdraws_surveys_only(client):
    reader = contact()
    token = unsubscribe_token(contact_id=reader.pk, purpose="surveys")
    page = client.get(f"/outreach/unsubscribe/{token}/")
    assert page.status_code == 200
    assert "Stop survey emails" in page.content.decode()
    assert client.post(f"/outreach/unsubscribe/{token}/").status_code == 200
    consents = dict(reader.consents.values_list("purpose", "granted"))
    assert consents == {"marketing_email": True, "surveys": False}


@pytest.mark.django_db
def test_the_preference_page_records_each_category_from_the_email_link(client):
    reader = contact()
    url = preferences_url(contact_id=reader.pk)
    page = client.get(url)
    assert page.status_code == 200
    assert reader.display_name in page.content.decode()
    saved = client.post(url, {"surveys": "on"})
    assert saved.status_code == 302
    consents = {row.purpose: (row.granted, row.source) for row in reader.consents.all()}
    # Only the changed category is recorded anew (with its source); surveys stay as given.
    assert consents == {
        "marketing_email": (False, "unsubscribe"),
        "surveys": (True, "staff"),
    }
    assert "saved" in client.get(saved["Location"]).content.decode().lower()
    # The next marketing occasion is skipped as "unsubscribed", not "no consent".
    Contact.objects.filter(pk=reader.pk).update(birth_month=4, birth_day=8)
    outreach_plan(now=at(SEOUL, 2026, 4, 8, 9, 30))
    assert OutboundMessage.objects.get().skip_reason == Reason.UNSUBSCRIBED
    assert client.get("/outreach/preferences/forged/").status_code == 400


@pytest.mark.django_db
def test_preferences_refuse_an_unknown_category_and_change_nothing():
    reader = contact()
    token = unsubscribe_token(contact_id=reader.pk)
    with pytest.raises(ValidationError) as raised:
        outreach_preferences_set(token=token, consents={"telepathy": True})
    assert "consents" in raised.value.message_dict
    assert dict(reader.consents.values_list("purpose", "granted")) == {
        "marketing_email": True,
        "surveys": True,
    }


@pytest.mark.django_db(transaction=True)
def test_contact_events_plan_after_commit_only():
    reader = contact()
    contact_event_received(
        contact_id=reader.pk,
        event="tier_upgraded",
        data={"tier_change_id": 3, "to_tier": "Gold"},
    )
    assert OutboundMessage.objects.filter(occasion="tier_upgraded").count() == 1
