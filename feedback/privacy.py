"""feedback's personal-data sources for crm's export and erasure (``crm.privacy``), and its part
of the nightly retention purge.

Scores and choices stay as anonymous figures (NPS, CSAT, SLA metrics do not move); what the
person wrote goes: free-text answers and ticket threads are blanked, reviews are deleted.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.privacy import PersonalDataSource, Row, register, rows
from feedback.models import (
    Answer,
    Invitation,
    Question,
    Response,
    Review,
    Ticket,
    TicketMessage,
)


def surveys_export(contact_id: int) -> list[Row]:
    invitations = rows(
        Invitation.objects.filter(contact_id=contact_id),
        ("survey__title", "channel", "sent_at", "expires_at", "responded_at"),
    )
    responses = rows(
        Response.objects.filter(contact_id=contact_id),
        ("id", "survey__title", "submitted_at", "language", "score"),
    )
    answers: dict[int, list[Row]] = {}
    for answer in rows(
        Answer.objects.filter(response__contact_id=contact_id),
        ("response_id", "question__text", "value"),
    ):
        answers.setdefault(answer.pop("response_id"), []).append(answer)
    return [{"type": "invitation", **i} for i in invitations] + [
        {"type": "response", **r, "answers": answers.get(r["id"], [])}
        for r in responses
    ]


def surveys_erase(contact_id: int) -> int:
    """Free-text answers are blanked; open invitation links stop working."""
    touched = Answer.objects.filter(
        response__contact_id=contact_id, question__type=Question.Type.FREE_TEXT
    ).update(value="")
    now = timezone.now()
    return touched + Invitation.objects.open(now).filter(contact_id=contact_id).update(
        expires_at=now
    )


def surveys_count(contact_id: int) -> int:
    return (
        Invitation.objects.filter(contact_id=contact_id).count()
        + Response.objects.filter(contact_id=contact_id).count()
    )


def reviews_export(contact_id: int) -> list[Row]:
    return rows(
        Review.objects.filter(contact_id=contact_id),
        ("rating", "text", "consent_to_publish", "status", "language", "created_at"),
    )


def reviews_erase(contact_id: int) -> int:
    deleted, _by_model = Review.objects.filter(contact_id=contact_id).delete()
    return deleted


def tickets_export(contact_id: int) -> list[Row]:
    tickets = rows(
        Ticket.objects.filter(contact_id=contact_id),
        (
            "id",
            "subject",
            "description",
            "channel",
            "priority",
            "status",
            "created_at",
            "resolved_at",
        ),
    )
    thread: dict[int, list[Row]] = {}
    for message in rows(
        TicketMessage.objects.filter(ticket__contact_id=contact_id),
        ("ticket_id", "kind", "body", "created_at"),
    ):
        thread.setdefault(message.pop("ticket_id"), []).append(message)
    return [{**t, "messages": thread.get(t["id"], [])} for t in tickets]


def tickets_erase(contact_id: int) -> int:
    """Tickets keep their channel, priority, status and SLA times; their words go."""
    touched = Ticket.objects.filter(contact_id=contact_id).update(
        subject=_("Ticket of an erased contact"), description=""
    )
    return touched + TicketMessage.objects.filter(ticket__contact_id=contact_id).update(
        body=""
    )


def retention_purge(*, now: dt.datetime) -> dict[str, int]:
    """Unanswered invitations whose link expired more than RETENTION_INVITATION_DAYS ago."""
    cutoff = now - dt.timedelta(days=settings.RETENTION_INVITATION_DAYS)
    deleted, _by_model = Invitation.objects.filter(
        responded_at__isnull=True, expires_at__lt=cutoff
    ).delete()
    return {"survey_invitations": deleted}


def register_sources() -> None:
    register(
        PersonalDataSource(
            name="feedback.surveys",
            label=gettext_lazy("Survey invitations and answers"),
            models=(Invitation, Response, Answer),
            export=surveys_export,
            erase=surveys_erase,
            count=surveys_count,
        )
    )
    register(
        PersonalDataSource(
            name="feedback.reviews",
            label=gettext_lazy("Reviews"),
            models=(Review,),
            export=reviews_export,
            erase=reviews_erase,
            count=lambda cid: Review.objects.filter(contact_id=cid).count(),
        )
    )
    register(
        PersonalDataSource(
            name="feedback.tickets",
            label=gettext_lazy("Support tickets"),
            models=(Ticket, TicketMessage),
            export=tickets_export,
            erase=tickets_erase,
            count=lambda cid: Ticket.objects.filter(contact_id=cid).count(),
        )
    )
