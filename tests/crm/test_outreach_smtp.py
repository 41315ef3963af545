"""Outreach over a real SMTP server (aiosmtpd): what the reader gets, and what each answer does.

The contract (DESIGN §4.2-4.4): 4xx or no connection → back to ``planned`` later, ``failed``
after OUTREACH_MAX_ATTEMPTS; 5xx → ``failed`` with the server's answer; hung up after DATA →
``unknown`` (maybe delivered, never resent); more than a day late → skipped as ``missed``.
"""

from __future__ import annotations

import datetime as dt
import email as email_parser
import inspect
import re
import zoneinfo
from collections import Counter
from typing import Any

import pytest
from django.utils import timezone

from crm.models import Consent, Contact, OutboundMessage
from crm.outreach.localtime import birthday_in_year, local_send_moment
from crm.services import (
    birthdays_plan,
    consents_set,
    outbox_claim_due,
    outreach_event_plan,
)
from tests.crm.factories import ContactFactory
from tests.smtp_sink import free_port

pytestmark = pytest.mark.django_db

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
# 09:00 in Seoul on 10 May 2027: the birthday's send moment, to the minute.
SEOUL_NINE = dt.datetime(2027, 5, 10, 0, 0, tzinfo=dt.UTC)
Status = OutboundMessage.Status


def birthday_contact(
    *, tz: zoneinfo.ZoneInfo, day: dt.date, purposes: tuple[str, ...] = (), **extra: Any
) -> Contact:
    contact = ContactFactory(
        birth_month=day.month, birth_day=day.day, timezone=tz, **extra
    )
    consents_set(
        contact=contact,
        consents=dict.fromkeys(purposes or ("marketing_email",), True),
        source="staff",
    )
    return contact


def send(ids: list[int]) -> list[BaseException]:
    """Run the sender task here, as a worker would; it takes one id or a batch of ids."""
    from crm.tasks import outreach_send

    errors: list[BaseException] = []
    if "message_ids" in inspect.signature(outreach_send.run).parameters:
        calls: list[Any] = [list(ids)] if ids else []
    else:
        calls = list(ids)
    for arg in calls:
        try:
            outreach_send(arg)
        except (
            Exception
        ) as error:  # a failed send may re-raise; the row tells what happened
            errors.append(error)
    return errors


def dispatch(now: dt.datetime) -> list[int]:
    """One dispatcher round at ``now``: claim what is due and send it, in this process."""
    ids = outbox_claim_due(now=now, limit=100)
    send(ids)
    return ids


def today_in(tz: zoneinfo.ZoneInfo) -> dt.date:
    return timezone.now().astimezone(tz).date()


def test_a_korean_contact_gets_a_korean_birthday_email_and_can_unsubscribe(
    client, mail_via_sink
):
    sink = mail_via_sink
    contact = birthday_contact(
        tz=SEOUL,
        day=SEOUL_NINE.astimezone(SEOUL).date(),
        given_name="길동",
        family_name="홍",
        language="ko",
        email="gildong.hong@example.kr",
    )
    assert birthdays_plan(now=SEOUL_NINE) == 1
    row = OutboundMessage.objects.get()
    assert (row.scheduled_for, row.language) == (SEOUL_NINE, "ko")

    assert dispatch(SEOUL_NINE) == [row.pk]

    [received] = sink.wait_for(1)
    assert received.answer.startswith("250")
    assert received.recipients == ["gildong.hong@example.kr"]
    email = received.message
    assert email["To"] == "gildong.hong@example.kr"
    # (A long header is folded after its name; the folding white space is not content.)
    assert email["Subject"].strip() == "홍길동 고객님, 생일을 진심으로 축하드립니다!"
    body = email.get_body(preferencelist=("plain",))
    assert body.get_content_charset() == "utf-8"
    text = body.get_content()
    assert text.startswith("홍길동 고객님, 안녕하세요.")
    assert "생일을 진심으로 축하드립니다!" in text
    assert email["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"
    link = email["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">")
    assert link.startswith("http://testserver/outreach/unsubscribe/")
    # Mail providers read the raw header: an angle-bracketed URL, never an RFC 2047 word.
    raw_header = email_parser.message_from_bytes(received.raw)["List-Unsubscribe"]
    assert raw_header.strip() == f"<{link}>"
    # The reader's own link in the text (it may be signed at another moment than the header's).
    [body_link] = re.findall(r"http://testserver/outreach/unsubscribe/\S+", text)
    row.refresh_from_db()
    assert row.status == Status.SENT

    # Opening either link (or a mail scanner opening it) only asks to confirm, in Korean.
    for url in (body_link, link):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="ko")
        assert page.status_code == 200
        assert b'<form method="post">' in page.content
        assert "마케팅 이메일 수신을 거부하시겠어요?" in page.content.decode()
    consent = Consent.objects.get(contact=contact, purpose="marketing_email")
    assert consent.granted is True
    # The page's confirm button (a POST to the link the reader opened) withdraws the consent.
    response = client.post(
        body_link,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    consent.refresh_from_db()
    assert (consent.granted, consent.source) == (False, "unsubscribe")

    # Next year's birthday, at 09:00 in Seoul: skipped, and nothing reaches the server.
    next_year = local_send_moment(
        day=birthday_in_year(5, 10, SEOUL_NINE.year + 1), tz=SEOUL
    )
    assert birthdays_plan(now=next_year) == 1
    skipped = OutboundMessage.objects.get(occurrence=str(SEOUL_NINE.year + 1))
    assert (skipped.status, skipped.skip_reason) == (Status.SKIPPED, "unsubscribed")
    assert dispatch(next_year) == []
    assert dispatch(next_year + dt.timedelta(hours=3)) == []
    assert len(sink.received) == 1


def test_the_unsubscribe_link_withdraws_the_consent_of_the_messages_purpose(
    client, mail_via_sink, midday_zone
):
    """A survey email's link stops surveys, not the marketing the reader still wants."""
    contact = birthday_contact(
        tz=midday_zone,
        day=today_in(midday_zone) + dt.timedelta(days=100),
        purposes=("surveys", "marketing_email"),
        language="en",
    )
    planned = outreach_event_plan(
        contact_id=contact.pk,
        event="survey_invited",
        data={"invitation_id": 41, "url": "https://rapport.example/s/abc"},
        now=timezone.now(),
    )
    assert planned is True
    row = OutboundMessage.objects.get()
    assert row.purpose == "surveys"
    assert dispatch(timezone.now()) == [row.pk]

    email = mail_via_sink.messages()[0]
    assert email["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"
    link = email["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">")
    response = client.post(
        link,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    consents = dict(
        Consent.objects.filter(contact=contact).values_list("purpose", "granted")
    )
    assert consents == {"surveys": False, "marketing_email": True}


def test_a_4xx_answer_puts_the_message_back_for_later_and_a_later_dispatch_sends_it(
    mail_via_sink, midday_zone
):
    sink = mail_via_sink
    contact = birthday_contact(tz=midday_zone, day=today_in(midday_zone))
    now = timezone.now()
    assert birthdays_plan(now=now) == 1
    sink.reply_next(1, "451 4.3.0 try later")

    assert len(dispatch(now)) == 1
    row = OutboundMessage.objects.get()
    assert row.status == Status.PLANNED
    assert row.scheduled_for > now  # backed off
    assert "451" in row.error
    assert "try later" in row.error
    assert row.attempts == 1
    assert dispatch(now) == []  # not due yet

    assert dispatch(row.scheduled_for) == [row.pk]
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.attempts == 2
    assert [r.answer[:3] for r in sink.received] == ["451", "250"]
    assert sink.deliveries() == {contact.email: 1}


def test_a_message_refused_with_4xx_every_time_fails_after_the_maximum_attempts(
    settings, mail_via_sink, midday_zone
):
    settings.OUTREACH_MAX_ATTEMPTS = 3
    sink = mail_via_sink
    birthday_contact(tz=midday_zone, day=today_in(midday_zone))
    birthdays_plan(now=timezone.now())
    sink.reply_next(10, "451 4.3.0 try later")

    when = timezone.now()
    for _round in range(10):
        if not dispatch(when):
            break
        row = OutboundMessage.objects.get()
        if row.status != Status.PLANNED:
            break
        when = row.scheduled_for
    row = OutboundMessage.objects.get()
    assert row.status == Status.FAILED
    assert row.attempts == 3
    assert "451" in row.error
    assert len(sink.received) == 3
    assert dispatch(timezone.now() + dt.timedelta(days=30)) == []
    assert len(sink.received) == 3


def test_a_5xx_answer_fails_the_message_with_the_answer_and_never_retries(
    mail_via_sink, midday_zone
):
    sink = mail_via_sink
    birthday_contact(tz=midday_zone, day=today_in(midday_zone))
    now = timezone.now()
    birthdays_plan(now=now)
    sink.reply_next(1, "550 5.1.1 no such user")

    [message_id] = dispatch(now)
    row = OutboundMessage.objects.get()
    assert row.status == Status.FAILED
    assert "550" in row.error
    assert "no such user" in row.error
    assert dispatch(now + dt.timedelta(days=30)) == []
    send([message_id])  # a duplicated or retried task changes nothing either
    assert OutboundMessage.objects.get().status == Status.FAILED
    assert len(sink.received) == 1


def test_a_mail_server_that_cannot_be_reached_is_a_transient_failure(
    settings, mail_via_sink, midday_zone
):
    sink = mail_via_sink
    contact = birthday_contact(tz=midday_zone, day=today_in(midday_zone))
    now = timezone.now()
    birthdays_plan(now=now)
    settings.EMAIL_PORT = free_port()  # nobody listens: connection refused

    assert len(dispatch(now)) == 1
    row = OutboundMessage.objects.get()
    assert row.status == Status.PLANNED
    assert row.scheduled_for > now
    assert row.error
    assert sink.received == []

    settings.EMAIL_PORT = sink.port  # the server is back
    assert dispatch(row.scheduled_for) == [row.pk]
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert sink.deliveries() == {contact.email: 1}


def test_a_server_that_hangs_up_after_data_leaves_the_message_unknown_never_resent(
    mail_via_sink, midday_zone
):
    """The server has the message but never said so: it may be delivered; resending could
    make it two."""
    sink = mail_via_sink
    contact = birthday_contact(tz=midday_zone, day=today_in(midday_zone))
    now = timezone.now()
    birthdays_plan(now=now)
    sink.drop_next(1)

    [message_id] = dispatch(now)
    row = OutboundMessage.objects.get()
    assert row.status == Status.UNKNOWN
    assert [r.answer for r in sink.received] == [None]

    send([message_id])  # the task delivered again
    for later in (now, now + dt.timedelta(minutes=20), now + dt.timedelta(days=3)):
        assert dispatch(later) == []
    assert OutboundMessage.objects.get().status == Status.UNKNOWN
    assert sink.deliveries() == {contact.email: 1}


def test_a_message_more_than_a_day_late_is_skipped_as_missed_never_sent(
    mail_via_sink, midday_zone, eager_celery
):
    from crm.tasks import outreach_dispatch_due

    sink = mail_via_sink
    two_days_ago = timezone.now() - dt.timedelta(days=2)
    birthday_contact(tz=midday_zone, day=two_days_ago.astimezone(midday_zone).date())
    assert birthdays_plan(now=two_days_ago) == 1  # planned then; the senders were down

    outreach_dispatch_due()  # the beat job, as the worker runs it (sends run eagerly)
    row = OutboundMessage.objects.get()
    assert (row.status, row.skip_reason) == (Status.SKIPPED, "missed")
    outreach_dispatch_due()
    assert dispatch(timezone.now() + dt.timedelta(hours=1)) == []
    assert sink.received == []


def test_greylisting_at_rcpt_is_transient_and_the_message_goes_out_later(
    mail_via_sink, midday_zone
):
    sink = mail_via_sink
    contact = birthday_contact(tz=midday_zone, day=today_in(midday_zone))
    now = timezone.now()
    birthdays_plan(now=now)
    sink.refuse_recipient(contact.email, "450 4.2.0 greylisted, try again later")

    assert len(dispatch(now)) == 1
    row = OutboundMessage.objects.get()
    assert row.status == Status.PLANNED
    assert row.scheduled_for > now
    assert "450" in row.error
    assert "greylisted" in row.error
    assert sink.received == []  # refused before DATA

    assert dispatch(row.scheduled_for) == [row.pk]
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert sink.deliveries() == {contact.email: 1}


def test_an_unknown_recipient_fails_and_the_rest_of_the_batch_is_sent(
    mail_via_sink, midday_zone
):
    sink = mail_via_sink
    day = today_in(midday_zone)
    good = [birthday_contact(tz=midday_zone, day=day) for _ in range(2)]
    bad = birthday_contact(tz=midday_zone, day=day)
    now = timezone.now()
    birthdays_plan(now=now)
    sink.refuse_recipient(bad.email, "550 5.1.1 no such user", count=5)

    assert len(dispatch(now)) == 3
    rows = {m.contact_id: m for m in OutboundMessage.objects.all()}
    assert rows[bad.pk].status == Status.FAILED
    assert "550" in rows[bad.pk].error
    assert "no such user" in rows[bad.pk].error
    assert {rows[c.pk].status for c in good} == {Status.SENT}
    assert dispatch(now + dt.timedelta(days=30)) == []
    assert sink.deliveries() == {c.email: 1 for c in good}
    assert len(sink.refused_recipients) == 1


def test_one_transient_refusal_does_not_hold_back_the_rest_of_the_batch(
    mail_via_sink, midday_zone
):
    sink = mail_via_sink
    day = today_in(midday_zone)
    contacts = [birthday_contact(tz=midday_zone, day=day) for _ in range(3)]
    now = timezone.now()
    birthdays_plan(now=now)
    sink.reply_next(1, "451 4.3.0 try later")

    assert len(dispatch(now)) == 3
    assert Counter(OutboundMessage.objects.values_list("status", flat=True)) == {
        Status.SENT: 2,
        Status.PLANNED: 1,
    }
    retried = OutboundMessage.objects.get(status=Status.PLANNED)
    assert dispatch(retried.scheduled_for) == [retried.pk]
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {
        Status.SENT
    }
    assert sink.deliveries() == {c.email: 1 for c in contacts}
    assert len(sink.received) == 4  # three, and the refused one again


def test_a_hang_up_mid_batch_leaves_that_one_unknown_and_the_rest_go_out_once(
    settings, mail_via_sink, midday_zone, eager_celery
):
    from crm.tasks import outreach_dispatch_due

    settings.OUTREACH_REQUEUE_AFTER = (
        0  # a row the broken batch did not reach goes again
    )
    sink = mail_via_sink
    day = today_in(midday_zone)
    contacts = [birthday_contact(tz=midday_zone, day=day) for _ in range(4)]
    hung_up = contacts[1]
    birthdays_plan(now=timezone.now())
    sink.drop_next(to=hung_up.email)

    for _round in range(3):
        outreach_dispatch_due()
    rows = {m.contact_id: m for m in OutboundMessage.objects.all()}
    assert rows[hung_up.pk].status == Status.UNKNOWN
    assert {rows[c.pk].status for c in contacts if c != hung_up} == {Status.SENT}
    assert sink.deliveries() == {c.email: 1 for c in contacts}
    assert len(sink.received) == 4
