"""The outreach engine sends each occasion at most once, in local time, with consent (DESIGN §4.2-4.4)."""

import datetime as dt
import threading
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crm.models import Consent, Contact, OutboundMessage
from crm.outreach.localtime import local_send_moment
from crm.services import (
    birthdays_plan,
    consents_set,
    outbox_claim_due,
    outbox_mark_stale_unknown,
    outbox_send,
)
from tests.crm.factories import ContactFactory

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
# 10:00 in Seoul on 10 May 2027 (09:00 there was an hour ago).
NOW = dt.datetime(2027, 5, 10, 1, 0, tzinfo=dt.UTC)
Status = OutboundMessage.Status

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
)


def birthday_contact(
    *, month: int = 5, day: int = 10, consent: bool = True, **extra: Any
) -> Contact:
    extra.setdefault("timezone", SEOUL)
    contact = ContactFactory(birth_month=month, birth_day=day, **extra)
    if consent:
        consents_set(
            contact=contact, consents={"marketing_email": True}, source="staff"
        )
    return contact


def run_concurrently(count: int, work: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            result = work()
            with lock:
                results.append(result)
        except BaseException as error:  # surfaced in the test thread below
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


@pytest.mark.django_db
def test_planning_twice_makes_one_row_per_key():
    contact = birthday_contact()
    assert birthdays_plan(now=NOW) == 1
    assert birthdays_plan(now=NOW) == 0
    assert birthdays_plan(now=NOW + dt.timedelta(hours=5)) == 0
    message = OutboundMessage.objects.get()
    assert (message.contact, message.occasion, message.occurrence) == (
        contact,
        "birthday",
        "2027",
    )
    assert message.status == Status.PLANNED
    assert message.scheduled_for == dt.datetime(2027, 5, 10, 0, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_local_time_window_in_seoul():
    today = birthday_contact(day=10)
    yesterday = birthday_contact(day=9)
    # 08:30 in Seoul: not yet.
    assert birthdays_plan(now=dt.datetime(2027, 5, 9, 23, 30, tzinfo=dt.UTC)) == 0
    assert birthdays_plan(now=NOW) == 1
    assert OutboundMessage.objects.get().contact == today
    # Yesterday's birthday is missed, never sent a day late.
    assert not OutboundMessage.objects.filter(contact=yesterday).exists()
    # 23:59 in Seoul is still the day; a contact added then still gets it.
    late = birthday_contact(day=10)
    assert birthdays_plan(now=dt.datetime(2027, 5, 10, 14, 59, tzinfo=dt.UTC)) == 1
    assert OutboundMessage.objects.filter(contact=late).exists()
    # 00:00 on 11 May in Seoul: the 10 May birthdays are over.
    later = birthday_contact(day=10)
    assert birthdays_plan(now=dt.datetime(2027, 5, 10, 15, 0, tzinfo=dt.UTC)) == 0
    assert not OutboundMessage.objects.filter(contact=later).exists()


@pytest.mark.django_db
def test_contact_without_timezone_uses_the_company_default(settings):
    settings.TIME_ZONE = "America/New_York"
    contact = birthday_contact(timezone=None)
    # 10:00 in Seoul is still 9 May (21:00) in New York.
    assert birthdays_plan(now=NOW) == 0
    # 09:00 EDT on 10 May.
    assert birthdays_plan(now=dt.datetime(2027, 5, 10, 13, 0, tzinfo=dt.UTC)) == 1
    assert OutboundMessage.objects.get().contact == contact


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "now", "birthday"),
    [
        # 10:00 on 11 May at UTC+14 while UTC is still on 10 May
        ("Pacific/Kiritimati", dt.datetime(2027, 5, 10, 20, 0, tzinfo=dt.UTC), 11),
        # 09:30 on 9 May at UTC-11 while UTC is on 10 May
        ("Pacific/Pago_Pago", dt.datetime(2027, 5, 9, 20, 30, tzinfo=dt.UTC), 9),
        ("Pacific/Pago_Pago", dt.datetime(2027, 5, 10, 10, 30, tzinfo=dt.UTC), 9),
    ],
)
def test_zones_a_day_ahead_or_behind_utc_are_planned_on_their_own_day(
    zone, now, birthday
):
    far = birthday_contact(day=birthday, timezone=zoneinfo.ZoneInfo(zone))
    birthday_contact(day=birthday + 2, timezone=zoneinfo.ZoneInfo(zone))  # not today
    assert birthdays_plan(now=now) == 1
    assert OutboundMessage.objects.get().contact == far


@pytest.mark.django_db
@hypothesis_settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(
        sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})
    ),
    # hypothesis takes naive bounds and puts the zone on each value
    now=st.datetimes(
        min_value=dt.datetime(2026, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2030, 12, 31),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ),
)
def test_a_birthday_is_planned_from_nine_on_the_local_day_in_any_zone(zone, now):
    tz = zoneinfo.ZoneInfo(zone)
    local = now.astimezone(tz)
    assume(not (local.month == 2 and local.day == 29))  # celebrated on 28 February
    with transaction.atomic():
        contact = birthday_contact(month=local.month, day=local.day, timezone=tz)
        planned = birthdays_plan(now=now)
        nine = local_send_moment(day=local.date(), tz=tz, send_time=dt.time(9))
        assert planned == (1 if now >= nine else 0)
        if planned:
            assert OutboundMessage.objects.get().contact == contact
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_29_february_birthday_is_on_28_february_in_a_common_year():
    contact = birthday_contact(month=2, day=29)
    assert birthdays_plan(now=dt.datetime(2027, 2, 28, 1, 0, tzinfo=dt.UTC)) == 1
    assert birthdays_plan(now=dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.UTC)) == 0
    assert birthdays_plan(now=dt.datetime(2028, 2, 28, 1, 0, tzinfo=dt.UTC)) == 0
    assert birthdays_plan(now=dt.datetime(2028, 2, 29, 1, 0, tzinfo=dt.UTC)) == 1
    assert list(
        OutboundMessage.objects.filter(contact=contact)
        .order_by("occurrence")
        .values_list("occurrence", flat=True)
    ) == ["2027", "2028"]


@pytest.mark.django_db
def test_no_consent_or_no_email_is_skipped_once_with_the_reason():
    no_consent = birthday_contact(consent=False)
    no_email = birthday_contact(email="")
    assert birthdays_plan(now=NOW) == 2
    assert birthdays_plan(now=NOW) == 0
    rows = {m.contact_id: m for m in OutboundMessage.objects.all()}
    assert (rows[no_consent.pk].status, rows[no_consent.pk].skip_reason) == (
        Status.SKIPPED,
        "no_consent",
    )
    assert (rows[no_email.pk].status, rows[no_email.pk].skip_reason) == (
        Status.SKIPPED,
        "no_email",
    )
    assert outbox_claim_due(now=NOW, limit=10) == []


@pytest.mark.django_db
def test_greetings_follow_the_language():
    ko = birthday_contact(given_name="길동", family_name="홍", language="ko")
    en = birthday_contact(given_name="Anna", family_name="Schmidt", language="en")
    birthdays_plan(now=NOW)
    korean = OutboundMessage.objects.get(contact=ko)
    english = OutboundMessage.objects.get(contact=en)
    assert korean.language == "ko"
    assert "홍길동 고객님" in korean.body_text
    assert english.language == "en"
    assert english.body_text.startswith("Hi Anna,")
    assert "/outreach/unsubscribe/" in english.body_text


@pytest.mark.django_db
def test_send_twice_sends_one_email_with_one_click_unsubscribe():
    contact = birthday_contact(given_name="Anna", language="en")
    birthdays_plan(now=NOW)
    [message_id] = outbox_claim_due(now=NOW, limit=10)
    assert outbox_send(message_id=message_id) is True
    assert outbox_send(message_id=message_id) is False
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [contact.email]
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = email.extra_headers["List-Unsubscribe"].strip("<>")
    assert "/outreach/unsubscribe/" in link
    assert link in email.body
    message = OutboundMessage.objects.get()
    assert message.status == Status.SENT
    assert message.sent_at
    assert message.attempts == 1


@pytest.mark.django_db
def test_a_send_left_in_sending_becomes_unknown_and_is_not_resent():
    birthday_contact()
    birthdays_plan(now=NOW)
    [message_id] = outbox_claim_due(now=NOW, limit=10)
    # The worker died after the mail server accepted, before the DB mark.
    OutboundMessage.objects.filter(pk=message_id).update(
        status=Status.SENDING, sending_at=NOW
    )
    later = NOW + dt.timedelta(minutes=5)
    assert (
        outbox_mark_stale_unknown(now=later, older_than=dt.timedelta(minutes=15)) == 0
    )
    later = NOW + dt.timedelta(minutes=20)
    assert (
        outbox_mark_stale_unknown(now=later, older_than=dt.timedelta(minutes=15)) == 1
    )
    assert OutboundMessage.objects.get().status == Status.UNKNOWN
    assert outbox_claim_due(now=later, limit=10) == []
    assert outbox_send(message_id=message_id) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_unsubscribe_link_withdraws_consent_and_next_plan_skips(client):
    contact = birthday_contact()
    birthdays_plan(now=NOW)
    [message_id] = outbox_claim_due(now=NOW, limit=10)
    outbox_send(message_id=message_id)
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    response = client.post(link, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    consent = Consent.objects.get(contact=contact, purpose="marketing_email")
    assert (consent.granted, consent.source) == (False, "unsubscribe")
    assert client.get(link).status_code == 200  # the link keeps working
    next_year = NOW.replace(year=2028)
    assert birthdays_plan(now=next_year) == 1
    message = OutboundMessage.objects.get(occurrence="2028")
    assert (message.status, message.skip_reason) == (Status.SKIPPED, "unsubscribed")


@pytest.mark.django_db
def test_a_forged_unsubscribe_token_changes_nothing(client):
    contact = birthday_contact()
    response = client.get(f"/outreach/unsubscribe/{contact.pk}:forged/")
    assert response.status_code == 400
    assert Consent.objects.get(contact=contact).granted is True


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_planners_insert_one_row_per_key():
    contacts = [birthday_contact() for _ in range(5)] + [
        birthday_contact(consent=False)
    ]
    run_concurrently(8, lambda: birthdays_plan(now=NOW))
    assert OutboundMessage.objects.count() == len(contacts)
    assert set(OutboundMessage.objects.values_list("contact_id", flat=True)) == {
        c.pk for c in contacts
    }


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_never_share_a_row():
    contact_ids = [birthday_contact().pk for _ in range(30)]
    birthdays_plan(now=NOW)
    claims = run_concurrently(6, lambda: outbox_claim_due(now=NOW, limit=7))
    claimed = [message_id for ids in claims for message_id in ids]
    assert len(claimed) == len(set(claimed))
    assert len(claimed) <= len(contact_ids)
    assert OutboundMessage.objects.filter(status=Status.QUEUED).count() == len(claimed)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_of_one_message_send_one_email():
    birthday_contact()
    birthdays_plan(now=NOW)
    [message_id] = outbox_claim_due(now=NOW, limit=10)
    results = run_concurrently(5, lambda: outbox_send(message_id=message_id))
    assert sorted(results) == [False, False, False, False, True]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_opening_the_link_only_asks_to_confirm(client):
    """Mailbox link scanners open every link: a GET must not unsubscribe anyone."""
    contact = birthday_contact()
    birthdays_plan(now=NOW)
    [message_id] = outbox_claim_due(now=NOW, limit=10)
    outbox_send(message_id=message_id)
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    page = client.get(link)
    assert page.status_code == 200
    assert b"Unsubscribe from marketing emails?" in page.content
    assert (
        Consent.objects.get(contact=contact, purpose="marketing_email").granted is True
    )
    assert (
        mail.outbox[0].extra_headers["List-Unsubscribe-Post"]
        == "List-Unsubscribe=One-Click"
    )


@pytest.mark.parametrize("prefix", ["/", "/crm-app/"])
def test_a_signed_link_is_the_reversed_address_of_its_token(settings, prefix):
    """The address around a token is worked out once per view: the link equals reversing the
    view with the token, under any script prefix, made absolute by PUBLIC_BASE_URL."""
    from django.urls import reverse, set_script_prefix

    from crm.services.outreach import (
        contact_links,
        unsubscribe_token,
        unsubscribe_url,
    )

    settings.PUBLIC_BASE_URL = "https://crm.example.com/"
    set_script_prefix(prefix)
    try:
        token = unsubscribe_token(contact_id=4321, purpose="survey_email")
        assert unsubscribe_url(contact_id=4321, purpose="survey_email") == (
            "https://crm.example.com"
            + reverse("crm:outreach_unsubscribe", args=[token])
        )
        links = contact_links(contact_id=98765, purpose="marketing_email")
        marketing = unsubscribe_token(contact_id=98765)
        assert links == {
            "unsubscribe_link": "https://crm.example.com"
            + reverse("crm:outreach_unsubscribe", args=[marketing]),
            "preferences_link": "https://crm.example.com"
            + reverse("crm:outreach_preferences", args=[marketing]),
        }
        assert links["unsubscribe_link"].startswith(f"https://crm.example.com{prefix}")
    finally:
        set_script_prefix("/")
