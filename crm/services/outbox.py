"""The outbox's sending side: claim due rows, send them over one SMTP connection per batch,
mark each once (DESIGN §4.2).

Every status change is a conditional UPDATE. queued→sending is committed before the mail
server is contacted, so a crash after it accepted a message leaves ``sending`` (later
``unknown``), never a second copy. A transient refusal (4xx, no connection) puts the row back
in the outbox with a backoff; a permanent one (5xx) fails it with the server's answer; a
connection lost after the message was handed over leaves it ``unknown``.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.models import OutboundMessage
from crm.services.outreach import MARKETING, unsubscribe_url

Status = OutboundMessage.Status
SkipReason = OutboundMessage.SkipReason
logger = logging.getLogger(__name__)

# Waits before the 1st, 2nd, 3rd, ... new try after a transient refusal.
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
# A planned message this late is skipped as "missed", never sent late.
MISSED_AFTER = dt.timedelta(days=1)
STALE_SENDING = dt.timedelta(minutes=15)


def outbox_skip_missed(*, now: dt.datetime) -> int:
    """Planned messages more than a day past their moment are skipped with reason "missed"."""
    return OutboundMessage.objects.filter(
        status=Status.PLANNED, scheduled_for__lt=now - MISSED_AFTER
    ).update(status=Status.SKIPPED, skip_reason=SkipReason.MISSED)


def outbox_claim_due(*, now: dt.datetime, limit: int) -> list[int]:
    """Mark up to ``limit`` due planned messages queued and return their ids.

    Rows are locked with SKIP LOCKED, so two concurrent claimers never get the same row.
    """
    with transaction.atomic():
        ids = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(
                status=Status.PLANNED,
                scheduled_for__lte=now,
                scheduled_for__gte=now - MISSED_AFTER,
            )
            .order_by("scheduled_for", "id")
            .values_list("id", flat=True)[:limit]
        )
        OutboundMessage.objects.filter(pk__in=ids, status=Status.PLANNED).update(
            status=Status.QUEUED, queued_at=now
        )
    return ids


def outbox_lost_queued(*, now: dt.datetime, limit: int) -> list[int]:
    """Queued rows whose send task never ran (a lost task): their ids, to queue again.

    Sending them again is safe: the send starts with the queued→sending conditional UPDATE.
    """
    older = now - dt.timedelta(seconds=settings.OUTREACH_REQUEUE_AFTER)
    with transaction.atomic():
        ids = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, queued_at__lte=older)
            .order_by("queued_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        OutboundMessage.objects.filter(pk__in=ids, status=Status.QUEUED).update(
            queued_at=now
        )
    return ids


def outbox_mark_stale_unknown(
    *, now: dt.datetime, older_than: dt.timedelta = STALE_SENDING
) -> int:
    """Rows stuck in ``sending`` past ``older_than`` become ``unknown``: maybe sent, never resent."""
    return OutboundMessage.objects.filter(
        status=Status.SENDING, sending_at__lte=now - older_than
    ).update(status=Status.UNKNOWN)


def _email(message: OutboundMessage) -> EmailMessage:
    link = unsubscribe_url(
        contact_id=message.contact_id, purpose=message.purpose or MARKETING
    )
    return EmailMessage(
        subject=message.subject,
        body=message.body_text,
        to=[message.contact.email],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _answer(error: BaseException) -> tuple[int | None, str]:
    """The SMTP reply code and text in ``error`` (None when the server never answered)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        decoded = (
            text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        )
        return int(code), f"{code} {decoded}"
    if isinstance(error, smtplib.SMTPResponseException):
        reply: bytes | str = error.smtp_error
        decoded = (
            reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        )
        return int(error.smtp_code), f"{error.smtp_code} {decoded}"
    return None, str(error) or error.__class__.__name__


def _retry_later(
    message_id: int, *, attempts: int, error: str, now: dt.datetime
) -> None:
    """sending → planned after a backoff, or → failed once the attempts are used up."""
    pending = OutboundMessage.objects.filter(pk=message_id, status=Status.SENDING)
    if attempts >= settings.OUTREACH_MAX_ATTEMPTS:
        pending.update(status=Status.FAILED, error=error[:2000])
        return
    wait = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    pending.update(status=Status.PLANNED, scheduled_for=now + wait, error=error[:2000])


def outbox_send_batch(*, message_ids: Sequence[int]) -> int:
    """Send queued messages over one SMTP connection; each is claimed and marked on its own.

    A message that is no longer queued (sent by a duplicate task) is left alone. Returns the
    number sent.
    """
    connection: BaseEmailBackend | None = None
    sent = 0
    for message_id in message_ids:
        now = timezone.now()
        claimed = OutboundMessage.objects.filter(
            pk=message_id, status=Status.QUEUED
        ).update(status=Status.SENDING, sending_at=now, attempts=F("attempts") + 1)
        if not claimed:
            continue
        message = OutboundMessage.objects.select_related("contact").get(pk=message_id)
        if connection is None:
            try:
                connection = get_connection(fail_silently=False)
                connection.open()
            except (OSError, smtplib.SMTPException) as error:
                # Nothing was handed over: safe to try again later.
                connection = None
                _retry_later(
                    message_id,
                    attempts=message.attempts,
                    error=_answer(error)[1],
                    now=now,
                )
                continue
        email = _email(message)
        email.connection = connection
        try:
            email.send()
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
            # The server answered with a refusal: nothing was delivered.
            code, answer = _answer(error)
            if code is not None and 400 <= code < 500:
                _retry_later(
                    message_id, attempts=message.attempts, error=answer, now=now
                )
            else:
                OutboundMessage.objects.filter(
                    pk=message_id, status=Status.SENDING
                ).update(status=Status.FAILED, error=answer[:2000])
            _close(connection)
            connection = None
            continue
        except OSError as error:  # smtplib.SMTPServerDisconnected, a reset, a timeout
            # The connection broke while the message was on its way: it may have arrived.
            OutboundMessage.objects.filter(pk=message_id, status=Status.SENDING).update(
                status=Status.UNKNOWN, error=_answer(error)[1][:2000]
            )
            _close(connection)
            connection = None
            continue
        OutboundMessage.objects.filter(pk=message_id, status=Status.SENDING).update(
            status=Status.SENT, sent_at=timezone.now(), error=""
        )
        sent += 1
    _close(connection)
    return sent


def _close(connection: BaseEmailBackend | None) -> None:
    if connection is not None:
        try:
            connection.close()
        except OSError:
            logger.warning(
                "outreach: closing the SMTP connection failed", exc_info=True
            )


def outbox_send(*, message_id: int) -> bool:
    """Send one queued message; a second call (or a duplicated task) is a no-op. True if sent."""
    return outbox_send_batch(message_ids=[message_id]) == 1
