"""Every write to support tickets: open, reply, note, status, priority, assignment, merge.

The SLA clock runs in business minutes (``feedback.sla``): deadlines are computed when a ticket
opens or changes priority; time spent waiting on the customer (pending_customer) pushes the
resolution deadline out by the paused business minutes when the clock resumes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import hooks
from crm.models import Contact, User
from crm.roles import STAFF_ROLES, role_of
from crm.services.contacts import tags_get_or_create
from feedback.models.tickets import SlaTarget, Ticket, TicketMessage
from feedback.selectors.tickets import SlaCalendar, sla_calendar

# Used when the SLA table has no row for a priority (business minutes).
DEFAULT_TARGETS = {
    Ticket.Priority.URGENT: (60, 480),
    Ticket.Priority.HIGH: (240, 1440),
    Ticket.Priority.NORMAL: (480, 2880),
    Ticket.Priority.LOW: (1440, 7200),
}


def _targets(priority: str) -> tuple[int, int]:
    row = SlaTarget.objects.filter(priority=priority).first()
    if row is not None:
        return row.first_response_minutes, row.resolution_minutes
    return DEFAULT_TARGETS[Ticket.Priority(priority)]


def _schedule(ticket: Ticket, calendar: SlaCalendar) -> None:
    """Deadlines from the opening time and the targets, plus any time paused so far."""
    first, resolution = _targets(ticket.priority)
    ticket.first_response_target_minutes = first
    ticket.resolution_target_minutes = resolution
    ticket.first_response_due_at = calendar.add(ticket.created_at, first)
    ticket.resolution_due_at = calendar.add(
        ticket.created_at, resolution + ticket.sla_paused_minutes
    )


def _next_due(ticket: Ticket) -> dt.datetime | None:
    """The queue's sort key: the nearest deadline still to be met; None when paused or done."""
    if ticket.is_done or ticket.paused_at is not None:
        return None
    if ticket.first_response_at is None:
        return min(ticket.first_response_due_at, ticket.resolution_due_at)
    return ticket.resolution_due_at


def _save(ticket: Ticket, fields: list[str]) -> Ticket:
    ticket.sla_due_at = _next_due(ticket)
    ticket.full_clean(exclude=["contact", "assignee", "created_by"])
    ticket.save(update_fields=[*fields, "sla_due_at", "updated_at"])
    return ticket


def _lock(ticket: Ticket) -> Ticket:
    # Lock the row: two agents answering at once must not both set the first response.
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _check_staff(user: User | None, field: str) -> None:
    if user is not None and (not user.is_active or role_of(user) not in STAFF_ROLES):
        raise ValidationError({field: _("Choose an active staff member.")})


@transaction.atomic
def ticket_open(
    *,
    contact: Contact,
    subject: str,
    description: str = "",
    channel: str = Ticket.Channel.EMAIL,
    priority: str = Ticket.Priority.NORMAL,
    actor: User | None = None,
    assignee: User | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket and set its first-response and resolution deadlines from the SLA targets."""
    from crm.services.privacy import contact_refuse_if_erased

    contact_refuse_if_erased(contact)
    _check_staff(assignee, "assignee")
    if priority not in Ticket.Priority.values:
        raise ValidationError({"priority": _("Choose a valid priority.")})
    ticket = Ticket(
        contact=contact,
        subject=subject.strip(),
        description=description.strip(),
        channel=channel,
        priority=priority,
        assignee=assignee,
        created_by=actor,
        created_at=now or timezone.now(),
    )
    _schedule(ticket, sla_calendar())
    ticket.sla_due_at = _next_due(ticket)
    ticket.full_clean(exclude=["contact", "assignee", "created_by"])
    ticket.save()
    return ticket


def _resume(ticket: Ticket, calendar: SlaCalendar, now: dt.datetime) -> None:
    """End a pause: push the resolution deadline out by the paused business minutes."""
    if ticket.paused_at is None:
        return
    paused = calendar.minutes_between(ticket.paused_at, now)
    ticket.sla_paused_minutes += paused
    ticket.resolution_due_at = calendar.add(ticket.resolution_due_at, paused)
    ticket.paused_at = None


def _emit(ticket: Ticket, event: str) -> None:
    for function in hooks.contact_events:
        function(
            contact_id=ticket.contact_id,
            event=event,
            data={"ticket_id": ticket.pk, "public_id": str(ticket.public_id)},
        )


_STATUS_FIELDS = [
    "status",
    "paused_at",
    "sla_paused_minutes",
    "resolution_due_at",
    "resolved_at",
    "closed_at",
    "resolution_minutes",
    "first_response_at",
    "first_response_minutes",
]


def _move(ticket: Ticket, status: str, calendar: SlaCalendar, now: dt.datetime) -> None:
    """Apply a status change and its clock effects to the (locked) row, without saving."""
    old = ticket.status
    if status == old:
        return
    if status == Ticket.Status.PENDING_CUSTOMER:
        ticket.paused_at = now
    else:
        _resume(ticket, calendar, now)
    if status in Ticket.DONE_STATUSES:
        if ticket.resolved_at is None:
            ticket.resolved_at = now
            ticket.resolution_minutes = max(
                calendar.minutes_between(ticket.created_at, now)
                - ticket.sla_paused_minutes,
                0,
            )
        if status == Ticket.Status.CLOSED:
            ticket.closed_at = now
    else:  # back in the team's hands (or the customer's): a reopened ticket is unresolved
        ticket.resolved_at = ticket.closed_at = None
        ticket.resolution_minutes = None
    ticket.status = status
    if status == Ticket.Status.RESOLVED:
        _emit(ticket, "ticket_resolved")


@transaction.atomic
def ticket_set_status(
    *,
    ticket: Ticket,
    status: str,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Move a ticket: pending_customer pauses the resolution clock, resolved/closed stop it
    (emitting ``ticket_resolved``), and any other status reopens it."""
    if status not in Ticket.Status.values or status == Ticket.Status.NEW:
        raise ValidationError({"status": _("Choose a valid status.")})
    ticket = _lock(ticket)
    _move(ticket, status, sla_calendar(), now or timezone.now())
    return _save(ticket, _STATUS_FIELDS)


def _message(
    ticket: Ticket, *, author: User | None, kind: str, body: str, now: dt.datetime
) -> TicketMessage:
    message = TicketMessage(
        ticket=ticket, author=author, kind=kind, body=body.strip(), created_at=now
    )
    message.full_clean(exclude=["ticket", "author"])
    message.save()
    return message


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    internal: bool = False,
    now: dt.datetime | None = None,
) -> TicketMessage:
    """A staff reply (or internal note). The first public reply is the first response; a
    reply moves a new ticket to open."""
    _check_staff(author, "author")
    now = now or timezone.now()
    ticket = _lock(ticket)
    kind = TicketMessage.Kind.INTERNAL_NOTE if internal else TicketMessage.Kind.REPLY
    message = _message(ticket, author=author, kind=kind, body=body, now=now)
    if not internal:
        calendar = sla_calendar()
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            ticket.first_response_minutes = calendar.minutes_between(
                ticket.created_at, now
            )
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.OPEN
        if ticket.assignee_id is None:
            ticket.assignee = author  # whoever answers first owns it
        _save(ticket, [*_STATUS_FIELDS, "assignee"])
    return message


@transaction.atomic
def ticket_customer_reply(
    *, ticket: Ticket, author: User | None, body: str, now: dt.datetime | None = None
) -> TicketMessage:
    """The customer answers: a paused or resolved ticket opens again (a closed one stays closed)."""
    now = now or timezone.now()
    ticket = _lock(ticket)
    if ticket.status == Ticket.Status.CLOSED:
        raise ValidationError(
            {"body": _("This ticket is closed. Please open a new one.")}
        )
    message = _message(
        ticket,
        author=author,
        kind=TicketMessage.Kind.CUSTOMER_REPLY,
        body=body,
        now=now,
    )
    if ticket.status in (Ticket.Status.PENDING_CUSTOMER, Ticket.Status.RESOLVED):
        _move(ticket, Ticket.Status.OPEN, sla_calendar(), now)
        _save(ticket, _STATUS_FIELDS)
    return message


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, assignee: User | None, actor: User | None = None
) -> Ticket:
    """Give the ticket to a staff member (or nobody)."""
    _check_staff(assignee, "assignee")
    ticket = _lock(ticket)
    ticket.assignee = assignee
    return _save(ticket, ["assignee"])


@transaction.atomic
def ticket_set_priority(
    *, ticket: Ticket, priority: str, actor: User | None = None
) -> Ticket:
    """Change the priority and recompute both deadlines from the opening time."""
    if priority not in Ticket.Priority.values:
        raise ValidationError({"priority": _("Choose a valid priority.")})
    ticket = _lock(ticket)
    ticket.priority = priority
    _schedule(ticket, sla_calendar())
    return _save(
        ticket,
        [
            "priority",
            "first_response_target_minutes",
            "resolution_target_minutes",
            "first_response_due_at",
            "resolution_due_at",
        ],
    )


def tag_names(text: str) -> list[str]:
    """Comma-separated tag names as typed by staff, blanks dropped."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


@transaction.atomic
def ticket_set_tags(
    *, ticket: Ticket, tags: Iterable[str], actor: User | None = None
) -> Ticket:
    """Replace the ticket's tags (names, case-insensitive; missing tags are created)."""
    if isinstance(tags, str) or not all(isinstance(name, str) for name in tags):
        raise ValidationError({"tags": _("Give the tags as a list of names.")})
    found = tags_get_or_create(names=tags)
    ticket = _lock(ticket)
    ticket.tags.set(found)
    return ticket


@transaction.atomic
def ticket_delete(*, ticket: Ticket) -> None:
    """Remove a ticket and its thread (a manager action; views and the API check the role)."""
    Ticket.objects.filter(pk=ticket.pk).delete()


def tickets_merge(*, survivor_id: int, merged_id: int) -> None:
    """crm's ``contact_merged`` hook: the merged contact's tickets move to the survivor."""
    Ticket.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)


def tickets_demo_seed(*, write: Callable[[str], None] = print) -> None:
    """Demo tickets in every status with threads (some in Korean), some breached. Idempotent."""
    from feedback.models.tickets import Ticket as T

    if T.objects.filter(subject__startswith="[demo]").exists():
        return
    contacts = list(Contact.objects.order_by("id")[:8])
    staff = list(User.objects.filter(is_staff=True, is_active=True).order_by("id")[:3])
    if not contacts or not staff:
        return
    now = timezone.now()
    samples = [
        (
            "배송이 아직 안 왔어요",
            "주문한 지 일주일이 지났는데 배송 조회가 안 됩니다.",
            "urgent",
            "new",
            3,
        ),
        (
            "Wrong size delivered",
            "I ordered a M but received an XL.",
            "high",
            "open",
            2,
        ),
        (
            "포인트가 적립되지 않았습니다",
            "지난주 구매에 대한 포인트가 보이지 않아요.",
            "normal",
            "pending_customer",
            1,
        ),
        (
            "Invoice needed",
            "Could you send an invoice for my last order?",
            "low",
            "resolved",
            5,
        ),
        (
            "App login problem",
            "The password reset mail never arrives.",
            "normal",
            "closed",
            9,
        ),
        ("환불 요청", "제품에 흠집이 있어 환불을 원합니다.", "high", "new", 0),
        (
            "Change delivery address",
            "Please ship to my office instead.",
            "urgent",
            "open",
            0,
        ),
    ]
    for index, (subject, description, priority, status, days_ago) in enumerate(samples):
        contact = contacts[index % len(contacts)]
        agent = staff[index % len(staff)]
        opened = now - dt.timedelta(days=days_ago, hours=2)
        ticket = ticket_open(
            contact=contact,
            subject=f"[demo] {subject}",
            description=description,
            channel=Ticket.Channel.values[index % len(Ticket.Channel.values)],
            priority=priority,
            actor=agent,
            now=opened,
        )
        if status == "new":
            continue
        korean = subject[0] >= "\uac00"
        ticket_reply(
            ticket=ticket,
            author=agent,
            body="확인 후 바로 안내드리겠습니다."
            if korean
            else "Thanks, we are on it.",
            now=opened + dt.timedelta(hours=1),
        )
        ticket_reply(
            ticket=ticket,
            author=agent,
            body="Checked the order in the warehouse system.",
            internal=True,
            now=opened + dt.timedelta(hours=1, minutes=5),
        )
        if status == "open":
            continue
        ticket_set_status(
            ticket=ticket, status="pending_customer", now=opened + dt.timedelta(hours=2)
        )
        if status == "pending_customer":
            continue
        ticket_customer_reply(
            ticket=ticket,
            author=None,
            body="감사합니다!" if korean else "Thank you!",
            now=opened + dt.timedelta(days=1),
        )
        ticket_set_status(
            ticket=ticket, status=status, now=opened + dt.timedelta(days=1, hours=1)
        )
    write("Demo tickets added.")
