"""The outreach outbox: one row per message a contact gets for one occasion."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models.contacts import Contact


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
