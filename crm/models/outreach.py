"""The outreach outbox: one row per message a contact gets for one occasion."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models.base import TimeStampedModel
from crm.models.contacts import Consent, Contact
from crm.models.segments import Segment


class OutboundMessage(models.Model):
    """One message for (contact, occasion, occurrence); the unique key makes it exactly-once.

    Rows are planned, claimed (queued), sent; a crash after handing the message to the mail
    server leaves ``sending``, later marked ``unknown`` and never resent automatically.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        UNKNOWN = "unknown", _("Unknown")

    class SkipReason(models.TextChoices):
        NO_CONSENT = "no_consent", _("No consent")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        NO_EMAIL = "no_email", _("No email address")
        CAPPED = "capped", _("Frequency cap reached")
        QUIET_HOURS = "quiet_hours", _("Quiet hours")
        MISSED = "missed", _("Missed")
        EXIT_CONDITION = "exit_condition", _("Exit condition met")
        CANCELLED = "cancelled", _("Cancelled")

    contact = models.ForeignKey(
        Contact,
        models.CASCADE,
        related_name="outbound_messages",
        verbose_name=_("contact"),
    )
    occasion = models.CharField(_("occasion"), max_length=40)
    occurrence = models.CharField(_("occurrence"), max_length=40)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    # The consent this message needs (and its unsubscribe link withdraws).
    purpose = models.CharField(_("consent purpose"), max_length=30, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    skip_reason = models.CharField(
        _("skip reason"), max_length=20, choices=SkipReason.choices, blank=True
    )
    scheduled_for = models.DateTimeField(_("scheduled for"))
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    sending_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "occasion", "occurrence"],
                name="crm_outbound_once_per_occurrence",
            )
        ]
        indexes = [
            models.Index(fields=["status", "scheduled_for"], name="crm_outbound_due"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.occasion}:{self.occurrence}={self.status}"


# modeltranslation swaps the managers of translated models at run time (see MessageTemplate).
class Campaign(TimeStampedModel):  # type: ignore[django-manager-missing]
    """A one-off message to a segment (or chosen contacts) at a local time in each one's zone.

    Its messages are outbox rows keyed ``campaign:<id>``, so each recipient gets it once.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    class Purpose(models.TextChoices):
        MARKETING_EMAIL = Consent.Purpose.MARKETING_EMAIL.value, _("Marketing email")
        SURVEYS = Consent.Purpose.SURVEYS.value, _("Surveys")

    name = models.CharField(_("name"), max_length=120)
    segment = models.ForeignKey(
        Segment,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("segment"),
    )
    contacts = models.ManyToManyField(
        Contact,
        blank=True,
        related_name="+",
        verbose_name=_("chosen contacts"),
        help_text=_("Recipients chosen one by one (e.g. from a dashboard list)."),
    )
    purpose = models.CharField(
        _("consent purpose"),
        max_length=30,
        choices=Purpose.choices,
        default=Purpose.MARKETING_EMAIL,
    )
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("text"))
    send_on = models.DateField(_("send on"))
    send_time = models.TimeField(
        _("local send time"),
        default=dt.time(10, 0),
        help_text=_("Each recipient gets it at this time in their own time zone."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    scheduled_at = models.DateTimeField(_("scheduled"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-send_on", "-id"]
        indexes = [models.Index(fields=["status", "send_on"], name="crm_campaign_due")]

    def __str__(self) -> str:
        return self.name
