"""What happens with a contact: interactions, follow-up tasks and merges."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models.base import TimeStampedModel
from crm.models.contacts import Contact


class Interaction(TimeStampedModel):
    """A call, email, meeting, chat, SMS, note or social exchange with a contact."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        CHAT = "chat", _("Chat")
        SMS = "sms", _("SMS")
        NOTE = "note", _("Note")
        SOCIAL = "social", _("Social")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        INTERNAL = "internal", _("Internal")

    contact = models.ForeignKey(
        Contact, models.CASCADE, related_name="interactions", verbose_name=_("contact")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    direction = models.CharField(
        _("direction"),
        max_length=20,
        choices=Direction.choices,
        default=Direction.OUTBOUND,
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("notes"), blank=True)
    occurred_at = models.DateTimeField(_("when"))
    duration_seconds = models.PositiveIntegerField(
        _("duration (seconds)"), null=True, blank=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        verbose_name=_("author"),
    )

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["contact", "-occurred_at", "-id"],
                name="crm_interaction_timeline",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject or self.body[:40]}"


class TaskQuerySet(models.QuerySet["Task"]):
    def open(self) -> TaskQuerySet:
        return self.filter(completed_at__isnull=True)


class Task(TimeStampedModel):
    """A follow-up someone must do by a due time, usually about a contact."""

    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    contact = models.ForeignKey(
        Contact,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("contact"),
    )
    due_at = models.DateTimeField(_("due"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        related_name="tasks",
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
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["assignee", "completed_at", "due_at"], name="crm_task_my_open"
            ),
            models.Index(fields=["contact", "-due_at"], name="crm_task_contact"),
        ]

    def __str__(self) -> str:
        return self.title


class ContactMerge(models.Model):
    """The record that two contacts were merged: who, when, and what the merged one looked like."""

    survivor = models.ForeignKey(
        Contact, models.CASCADE, related_name="merges", verbose_name=_("kept contact")
    )
    merged_contact_id = models.BigIntegerField(_("merged contact id"))
    merged_name = models.CharField(_("merged name"), max_length=300)
    merged_email = models.EmailField(_("merged email"), blank=True)
    snapshot = models.JSONField(_("merged record"), default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("merged by"),
    )
    merged_at = models.DateTimeField(_("merged"))

    class Meta:
        verbose_name = _("contact merge")
        verbose_name_plural = _("contact merges")
        indexes = [
            models.Index(fields=["survivor", "-merged_at"], name="crm_merge_timeline")
        ]

    def __str__(self) -> str:
        return f"{self.merged_name} → {self.survivor_id}"
