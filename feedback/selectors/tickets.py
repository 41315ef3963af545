"""Reads for support tickets: the SLA queue, flags, threads and the contact timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import User
from crm.roles import STAFF_ROLES, role_of
from crm.timeline import TimelineEntry, timeline_window
from feedback import sla
from feedback.models.tickets import (
    BusinessCalendar,
    Holiday,
    Ticket,
    TicketMessage,
    default_timezone,
    default_weekly_hours,
)

TICKET_TIMELINE_KINDS = {"ticket": gettext_lazy("Ticket")}
DUE_SOON_SHARE = 0.25  # due soon: within 25% of the target…
DUE_SOON_MINUTES = 60  # …or within an hour of business time, whichever is longer


@dataclass
class SlaCalendar:
    """The business calendar and its holidays, loaded once (two queries) per request or write."""

    timezone: str = field(default_factory=default_timezone)
    weekly_hours: Any = field(default_factory=default_weekly_hours)
    holidays: frozenset[dt.date] = frozenset()

    def add(self, start: dt.datetime, minutes: float) -> dt.datetime:
        return sla.add_business_minutes(start, minutes, self, self.holidays)

    def minutes_between(self, a: dt.datetime, b: dt.datetime) -> int:
        return sla.business_minutes_between(a, b, self, self.holidays)


def sla_calendar() -> SlaCalendar:
    """The admin-edited calendar (or the default Mon-Fri 09:00-18:00) with its holidays."""
    row = BusinessCalendar.objects.order_by("pk").first()
    holidays = frozenset(Holiday.objects.values_list("date", flat=True))
    if row is None:
        return SlaCalendar(holidays=holidays)
    return SlaCalendar(
        timezone=row.timezone, weekly_hours=row.weekly_hours, holidays=holidays
    )


@dataclass(frozen=True)
class SlaState:
    """What the queue shows for a ticket: breached, due soon, on track, paused or done."""

    state: str  # "breached" | "due_soon" | "on_track" | "paused" | "done"
    due_at: dt.datetime | None

    @property
    def breached(self) -> bool:
        return self.state == "breached"

    @property
    def due_soon(self) -> bool:
        return self.state == "due_soon"

    @property
    def label(self) -> str:
        return str(
            {
                "breached": _("Breached"),
                "due_soon": _("Due soon"),
                "on_track": _("On track"),
                "paused": _("Paused"),
                "done": _("Done"),
            }[self.state]
        )


def sla_state(ticket: Ticket, *, now: dt.datetime, calendar: SlaCalendar) -> SlaState:
    if ticket.breached(now):
        return SlaState("breached", ticket.sla_due_at)
    if ticket.is_done:
        return SlaState("done", None)
    if ticket.paused_at is not None or ticket.sla_due_at is None:
        return SlaState("paused", None)
    waiting_first = (
        ticket.first_response_at is None
        and ticket.sla_due_at == ticket.first_response_due_at
    )
    target = (
        ticket.first_response_target_minutes
        if waiting_first
        else ticket.resolution_target_minutes
    )
    threshold = max(target * DUE_SOON_SHARE, DUE_SOON_MINUTES)
    left = calendar.minutes_between(now, ticket.sla_due_at)
    return SlaState("due_soon" if left <= threshold else "on_track", ticket.sla_due_at)


def annotate_sla(
    tickets: list[Ticket], *, now: dt.datetime | None = None, calendar: SlaCalendar
) -> list[Ticket]:
    """Attach ``ticket.sla`` (an SlaState) to each ticket; no queries."""
    now = now or timezone.now()
    for ticket in tickets:
        ticket.sla = sla_state(ticket, now=now, calendar=calendar)  # type: ignore[attr-defined]
    return tickets


STATUS_FILTERS = ("active", "all", *Ticket.Status.values)


def ticket_list(
    *,
    user: User,
    status: str = "active",
    priority: str = "",
    channel: str = "",
    assignee: User | None = None,
    unassigned: bool = False,
    contact_id: int | None = None,
    breached: bool = False,
    now: dt.datetime | None = None,
    tag: str = "",
) -> QuerySet[Ticket]:
    """Tickets staff may see, filtered; order with ``QUEUE_ORDERING`` (SLA urgency)."""
    if role_of(user) not in STAFF_ROLES:
        return Ticket.objects.none()
    qs = Ticket.objects.select_related("contact", "assignee")
    if status == "active":
        qs = qs.active()
    elif status in Ticket.Status.values:
        qs = qs.filter(status=status)
    if priority in Ticket.Priority.values:
        qs = qs.filter(priority=priority)
    if channel in Ticket.Channel.values:
        qs = qs.filter(channel=channel)
    if assignee is not None:
        qs = qs.filter(assignee=assignee)
    elif unassigned:
        qs = qs.filter(assignee__isnull=True)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if tag.strip():
        qs = qs.filter(tags__name__iexact=tag.strip())
    if breached:
        # Active tickets whose next deadline has passed (the stored sort key says it).
        qs = qs.filter(sla_due_at__lt=now or timezone.now())
    return qs


# Breached tickets have the earliest deadlines, so "soonest due first" puts them on top;
# paused and finished tickets (no deadline) come last, newest first within the id tie-break.
QUEUE_ORDERING = ("sla_due_at", "id")


def ticket_thread(
    *, ticket: Ticket, public_only: bool = False
) -> QuerySet[TicketMessage]:
    qs = ticket.messages.select_related("author").order_by("created_at", "id")
    if public_only:
        qs = qs.exclude(kind=TicketMessage.Kind.INTERNAL_NOTE)
    return qs


def portal_ticket_list(*, contact_id: int) -> QuerySet[Ticket]:
    """A customer's own tickets, newest first."""
    return Ticket.objects.filter(contact_id=contact_id).order_by("-created_at", "-id")


def contact_open_tickets(*, contact_id: int) -> QuerySet[Ticket]:
    return (
        Ticket.objects.active()
        .filter(contact_id=contact_id)
        .select_related("assignee")
        .order_by("sla_due_at", "id")
    )


def ticket_timeline_entries(
    *, contact_id: int, kinds: set[str] | None, before: dt.datetime | None, limit: int
) -> list[TimelineEntry]:
    """crm's ``timeline_sources`` hook: the contact's newest tickets, one indexed query."""
    if kinds is not None and "ticket" not in kinds:
        return []
    tickets = timeline_window(
        "ticket",
        lambda cid: Ticket.objects.filter(contact_id=cid).select_related("assignee"),
        time_field="created_at",
        contact_id=contact_id,
        before=before,
        limit=limit,
    )
    return [
        TimelineEntry(
            kind="ticket",
            occurred_at=ticket.created_at,
            title=_("Ticket #%(id)s: %(subject)s")
            % {"id": ticket.pk, "subject": ticket.subject},
            body=ticket.description,
            source="feedback",
            object_id=ticket.pk,
            actor=ticket.assignee.display_name if ticket.assignee else "",
            data={
                "status": ticket.status,
                "status_label": str(ticket.get_status_display()),
                "priority": ticket.priority,
                "url": ticket.get_absolute_url(),
            },
        )
        for ticket in tickets
    ]


def staff_choices() -> QuerySet[User]:
    return User.objects.filter(is_staff=True, is_active=True).order_by(
        "given_name", "family_name", "email"
    )
