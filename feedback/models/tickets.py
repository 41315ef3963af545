"""Support tickets: the thread with a contact, and the SLA clock counted in business hours."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def default_weekly_hours() -> dict[str, list[list[str]]]:
    """Monday to Friday, 09:00-18:00."""
    return {
        day: [["09:00", "18:00"]] if day in WEEKDAYS[:5] else [] for day in WEEKDAYS
    }


def default_timezone() -> str:
    return str(settings.TIME_ZONE)


class BusinessCalendar(models.Model):
    """The support team's open hours (one row, edited in admin); SLA clocks run only inside them."""

    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_timezone,
        help_text=_("An IANA time zone such as Asia/Seoul."),
    )
    weekly_hours = models.JSONField(
        _("weekly hours"),
        default=default_weekly_hours,
        help_text=_('Open intervals per weekday, e.g. {"mon": [["09:00", "18:00"]]}.'),
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return str(_("Business hours (%(zone)s)") % {"zone": self.timezone})

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from feedback.sla import parse_weekly_hours, zone

        try:
            zone(self.timezone)
        except ValueError as error:
            raise ValidationError({"timezone": str(error)}) from error
        try:
            parse_weekly_hours(self.weekly_hours)
        except ValueError as error:
            raise ValidationError({"weekly_hours": str(error)}) from error


class Holiday(models.Model):
    """A day the support team is closed: no SLA minutes are counted on it."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class SlaTarget(models.Model):
    """How many business minutes a ticket of a priority may wait for a first reply and a fix."""

    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, unique=True
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response (business minutes)")
    )
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"))

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")

    def __str__(self) -> str:
        return str(self.get_priority_display())


class TicketQuerySet(models.QuerySet["Ticket"]):
    def active(self) -> TicketQuerySet:
        """Tickets still waiting on the team or the customer."""
        return self.exclude(status__in=Ticket.DONE_STATUSES)


class Ticket(models.Model):
    """A customer's support request; its SLA deadlines are stored when it opens or changes."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        CHAT = "chat", _("Chat")
        PORTAL = "portal", _("Portal")
        SOCIAL = "social", _("Social")

    Priority = Priority

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", pgettext_lazy("ticket status", "Open")
        PENDING_CUSTOMER = "pending_customer", _("Pending customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    DONE_STATUSES = (Status.RESOLVED, Status.CLOSED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(
        "crm.Contact",
        models.CASCADE,
        related_name="tickets",
        verbose_name=_("contact"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    tags = models.ManyToManyField(
        "crm.Tag", blank=True, related_name="tickets", verbose_name=_("tags")
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Targets are copied when the ticket opens (or its priority changes), so editing the
    # SLA table later does not rewrite the history of old tickets.
    first_response_target_minutes = models.PositiveIntegerField(
        _("first response target (business minutes)"), default=0
    )
    resolution_target_minutes = models.PositiveIntegerField(
        _("resolution target (business minutes)"), default=0
    )
    first_response_due_at = models.DateTimeField(_("first response due"))
    resolution_due_at = models.DateTimeField(_("resolution due"))
    # The next deadline that still matters (NULL while paused or done): the queue's sort key.
    sla_due_at = models.DateTimeField(_("next SLA deadline"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    sla_paused_minutes = models.PositiveIntegerField(
        _("paused business minutes"), default=0
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response time (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution time (business minutes)"), null=True, blank=True
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["sla_due_at", "id"]),
            models.Index(fields=["contact", "-created_at"]),
            models.Index(fields=["assignee", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("feedback:ticket", args=[self.pk])

    @property
    def is_done(self) -> bool:
        return self.status in self.DONE_STATUSES

    def first_response_breached(self, now: dt.datetime) -> bool:
        answered = self.first_response_at or self.resolved_at or now
        return answered > self.first_response_due_at

    def resolution_breached(self, now: dt.datetime) -> bool:
        moment = self.resolved_at or self.paused_at or now
        return moment > self.resolution_due_at

    def breached(self, now: dt.datetime) -> bool:
        """A deadline passed before it was met (or is still unmet)."""
        return self.first_response_breached(now) or self.resolution_breached(now)


class TicketMessage(models.Model):
    """One entry in a ticket's thread: a staff reply, an internal note or the customer's reply."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        INTERNAL_NOTE = "internal_note", _("Internal note")
        CUSTOMER_REPLY = "customer_reply", _("Customer reply")

    ticket = models.ForeignKey(
        Ticket, models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.INTERNAL_NOTE


def ticket_breached_q(now: dt.datetime) -> models.Q:
    """``Ticket.breached(now)`` as a filter: a deadline passed before it was met, or is
    still unmet at ``now``."""
    F = models.F
    Q = models.Q
    first = (
        Q(
            first_response_at__isnull=False,
            first_response_at__gt=F("first_response_due_at"),
        )
        | Q(
            first_response_at__isnull=True,
            resolved_at__isnull=False,
            resolved_at__gt=F("first_response_due_at"),
        )
        | Q(
            first_response_at__isnull=True,
            resolved_at__isnull=True,
            first_response_due_at__lt=now,
        )
    )
    resolution = (
        Q(resolved_at__isnull=False, resolved_at__gt=F("resolution_due_at"))
        | Q(
            resolved_at__isnull=True,
            paused_at__isnull=False,
            paused_at__gt=F("resolution_due_at"),
        )
        | Q(resolved_at__isnull=True, paused_at__isnull=True, resolution_due_at__lt=now)
    )
    return first | resolution
