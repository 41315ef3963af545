"""Ticket services and selectors: SLA deadlines, first response, pause/resume, resolve/reopen,
priority changes, merges, the timeline and the queue order."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from crm import hooks
from crm.timeline import contact_timeline
from feedback.models import BusinessCalendar, Holiday, SlaTarget, Ticket, TicketMessage
from feedback.selectors.tickets import (
    QUEUE_ORDERING,
    annotate_sla,
    sla_calendar,
    ticket_list,
)
from feedback.services import (
    ticket_assign,
    ticket_customer_reply,
    ticket_open,
    ticket_reply,
    ticket_set_priority,
    ticket_set_status,
    tickets_merge,
)
from feedback.services.tickets import tickets_demo_seed
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def ny(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


@pytest.fixture(autouse=True)
def new_york_office():
    """Mon-Fri 09:00-18:00 in New York (the data migration made the row and the targets)."""
    BusinessCalendar.objects.all().delete()
    BusinessCalendar.objects.create(timezone="America/New_York")
    assert SlaTarget.objects.get(priority="normal").resolution_minutes == 2880


def open_ticket(priority: str = "normal", when: dt.datetime | None = None, **kwargs):
    return ticket_open(
        contact=kwargs.pop("contact", None) or ContactFactory(),
        subject="Parcel missing",
        description="Where is it?",
        channel="email",
        priority=priority,
        now=when or ny(2026, 3, 2, 10, 0),  # a Monday
        **kwargs,
    )


def test_opening_sets_both_deadlines_in_business_hours():
    ticket = open_ticket()
    assert ticket.status == Ticket.Status.NEW
    assert ticket.first_response_due_at == ny(2026, 3, 2, 18, 0)  # 480 minutes
    # 2880 minutes = 5⅓ days of nine hours: the weekend (and the DST change) are skipped.
    assert ticket.resolution_due_at == ny(2026, 3, 9, 13, 0)
    assert ticket.sla_due_at == ticket.first_response_due_at
    assert (ticket.first_response_target_minutes, ticket.resolution_target_minutes) == (
        480,
        2880,
    )


def test_holidays_and_edited_targets_are_used():
    Holiday.objects.create(date=dt.date(2026, 3, 3), name="Closed")
    SlaTarget.objects.filter(priority="urgent").update(first_response_minutes=30)
    ticket = open_ticket("urgent", when=ny(2026, 3, 2, 17, 45))
    assert ticket.first_response_due_at == ny(2026, 3, 4, 9, 15)


def test_the_first_public_reply_is_the_first_response_and_opens_the_ticket(agent):
    ticket = open_ticket()
    ticket_reply(
        ticket=ticket,
        author=agent,
        body="Looking",
        internal=True,
        now=ny(2026, 3, 2, 10, 30),
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.status == Ticket.Status.NEW

    ticket_reply(ticket=ticket, author=agent, body="On it", now=ny(2026, 3, 2, 11, 15))
    ticket_reply(ticket=ticket, author=agent, body="Again", now=ny(2026, 3, 2, 12, 0))
    ticket.refresh_from_db()
    assert ticket.first_response_at == ny(2026, 3, 2, 11, 15)
    assert ticket.first_response_minutes == 75
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.assignee == agent
    assert ticket.sla_due_at == ticket.resolution_due_at
    assert list(ticket.messages.values_list("kind", flat=True).order_by("id")) == [
        "internal_note",
        "reply",
        "reply",
    ]


def test_a_late_first_response_is_breached_for_good(agent):
    ticket = open_ticket("urgent")
    ticket_reply(ticket=ticket, author=agent, body="Sorry", now=ny(2026, 3, 2, 11, 30))
    ticket.refresh_from_db()
    assert ticket.first_response_breached(ny(2026, 3, 2, 12, 0))
    assert ticket.breached(ny(2026, 3, 2, 12, 0))


def test_waiting_on_the_customer_pauses_the_resolution_clock(agent, customer_a):
    ticket = open_ticket()
    due = ticket.resolution_due_at
    ticket_set_status(
        ticket=ticket, status="pending_customer", now=ny(2026, 3, 3, 10, 0)
    )
    ticket.refresh_from_db()
    assert ticket.paused_at == ny(2026, 3, 3, 10, 0)
    assert ticket.sla_due_at is None
    # The customer answers 2 business hours later (Tue 10:00 → 12:00): the deadline moves out.
    ticket_customer_reply(
        ticket=ticket, author=customer_a, body="Here", now=ny(2026, 3, 3, 12, 0)
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.paused_at is None
    assert ticket.sla_paused_minutes == 120
    assert (
        ticket.resolution_due_at
        == sla_calendar().add(due, 120)
        == ny(2026, 3, 9, 15, 0)
    )


def test_a_pause_over_the_weekend_counts_only_business_minutes():
    ticket = open_ticket()
    ticket_set_status(
        ticket=ticket, status="pending_customer", now=ny(2026, 3, 6, 17, 0)
    )
    ticket_set_status(ticket=ticket, status="open", now=ny(2026, 3, 9, 10, 0))
    ticket.refresh_from_db()
    assert ticket.sla_paused_minutes == 120


def test_resolving_emits_ticket_resolved_and_stores_the_resolution_time(agent):
    events = []

    def listener(**kwargs):
        events.append(kwargs)

    hooks.contact_events.register(listener)
    try:
        ticket = open_ticket()
        ticket_set_status(
            ticket=ticket, status="pending_customer", now=ny(2026, 3, 2, 11, 0)
        )
        ticket_set_status(ticket=ticket, status="resolved", now=ny(2026, 3, 2, 14, 0))
    finally:
        hooks.contact_events.unregister(listener)
    ticket.refresh_from_db()
    assert ticket.resolved_at == ny(2026, 3, 2, 14, 0)
    assert ticket.sla_paused_minutes == 180
    assert (
        ticket.resolution_minutes == 60
    )  # 4 hours open, 3 of them waiting on the customer
    assert ticket.sla_due_at is None
    # (a resolved ticket may also invite to the support CSAT survey: "survey_invited")
    assert [e for e in events if e["event"].startswith("ticket")] == [
        {
            "contact_id": ticket.contact_id,
            "event": "ticket_resolved",
            "data": {"ticket_id": ticket.pk, "public_id": str(ticket.public_id)},
        }
    ]


def test_reopening_clears_the_resolution_and_a_customer_reply_reopens(customer_a):
    ticket = open_ticket()
    ticket_set_status(ticket=ticket, status="resolved", now=ny(2026, 3, 2, 12, 0))
    ticket_set_status(ticket=ticket, status="open", now=ny(2026, 3, 2, 13, 0))
    ticket.refresh_from_db()
    assert (ticket.resolved_at, ticket.resolution_minutes) == (None, None)
    assert ticket.sla_due_at is not None

    ticket_set_status(ticket=ticket, status="resolved", now=ny(2026, 3, 2, 14, 0))
    ticket_customer_reply(
        ticket=ticket, author=customer_a, body="Still broken", now=ny(2026, 3, 2, 15, 0)
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.resolved_at is None


def test_a_closed_ticket_takes_no_customer_reply(customer_a):
    ticket = open_ticket()
    ticket_set_status(ticket=ticket, status="closed", now=ny(2026, 3, 2, 12, 0))
    ticket.refresh_from_db()
    assert ticket.closed_at
    assert ticket.resolved_at
    with pytest.raises(ValidationError) as error:
        ticket_customer_reply(ticket=ticket, author=customer_a, body="Hi")
    assert "body" in error.value.message_dict
    assert not TicketMessage.objects.exists()


def test_new_is_not_a_status_you_can_set():
    with pytest.raises(ValidationError):
        ticket_set_status(ticket=open_ticket(), status="new")


def test_changing_priority_recomputes_the_deadlines_from_opening():
    ticket = open_ticket("low")
    ticket = ticket_set_priority(ticket=ticket, priority="urgent")
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == ny(2026, 3, 2, 11, 0)
    assert ticket.resolution_due_at == ny(2026, 3, 2, 18, 0)  # 480 minutes after 10:00
    assert ticket.sla_due_at == ticket.first_response_due_at


def test_only_active_staff_can_be_assigned(agent, customer_a):
    ticket = open_ticket()
    assert ticket_assign(ticket=ticket, assignee=agent).assignee == agent
    with pytest.raises(ValidationError):
        ticket_assign(ticket=ticket, assignee=customer_a)


def test_tickets_follow_a_contact_merge_and_show_on_the_timeline():
    survivor, merged = ContactFactory(), ContactFactory()
    ticket = open_ticket(contact=merged)
    tickets_merge(survivor_id=survivor.pk, merged_id=merged.pk)
    ticket.refresh_from_db()
    assert ticket.contact == survivor
    entries = contact_timeline(contact_id=survivor.pk, kinds={"ticket"})
    assert [(e.kind, e.object_id) for e in entries] == [("ticket", ticket.pk)]


def test_the_queue_puts_breached_first_then_soonest_due_and_paused_last(agent):
    now = ny(2026, 3, 4, 12, 0)
    breached = open_ticket("urgent", when=ny(2026, 3, 2, 10, 0))
    soon = open_ticket("urgent", when=ny(2026, 3, 4, 11, 30))
    later = open_ticket("low", when=ny(2026, 3, 4, 11, 0))
    paused = open_ticket("urgent", when=ny(2026, 3, 4, 11, 0))
    ticket_set_status(
        ticket=paused, status="pending_customer", now=ny(2026, 3, 4, 11, 5)
    )
    done = open_ticket("urgent", when=ny(2026, 3, 4, 11, 0))
    ticket_set_status(ticket=done, status="resolved", now=ny(2026, 3, 4, 11, 5))

    queue = list(ticket_list(user=agent, status="all").order_by(*QUEUE_ORDERING))
    assert queue[:3] == [breached, soon, later]
    assert set(queue[3:]) == {paused, done}
    assert done not in ticket_list(user=agent)  # "active" by default

    annotate_sla(queue, now=now, calendar=sla_calendar())
    states = {t.pk: t.sla.state for t in queue}
    assert states[breached.pk] == "breached"
    assert states[soon.pk] == "due_soon"  # 30 of 60 minutes left
    assert states[later.pk] == "on_track"
    assert states[paused.pk] == "paused"
    assert states[done.pk] == "done"
    assert list(ticket_list(user=agent, breached=True, now=now)) == [breached]


def test_filters_and_my_tickets(agent, manager):
    mine = open_ticket("high", assignee=agent)
    open_ticket("low", assignee=manager)
    assert list(ticket_list(user=agent, assignee=agent)) == [mine]
    assert list(ticket_list(user=agent, priority="high")) == [mine]
    assert ticket_list(user=agent, channel="phone").count() == 0


def test_customers_see_no_tickets_through_the_staff_selector(customer_a):
    open_ticket()
    assert ticket_list(user=customer_a, status="all").count() == 0


def test_demo_tickets_cover_every_status_with_threads_and_are_seeded_once(agent):
    ContactFactory.create_batch(3)
    lines: list[str] = []
    tickets_demo_seed(write=lines.append)
    tickets_demo_seed(write=lines.append)
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert statuses == set(Ticket.Status.values)
    assert Ticket.objects.count() == 7
    assert TicketMessage.objects.filter(kind="internal_note").exists()
    assert TicketMessage.objects.filter(body__contains="안내").exists()
    now = dt.datetime.now(tz=dt.UTC)
    assert any(t.breached(now) for t in Ticket.objects.all())
    assert lines == ["Demo tickets added."]
