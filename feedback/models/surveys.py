"""Surveys (NPS, CSAT, CES, custom), their questions, personal invitations and responses."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Contact, Task, TimeStampedModel


def new_token() -> str:
    """An unguessable single-use survey link token (256 bits of randomness)."""
    return secrets.token_urlsafe(32)


class Survey(TimeStampedModel):  # type: ignore[django-manager-missing]
    """A questionnaire sent to contacts through personal links; its kind decides the main score."""

    class Kind(models.TextChoices):
        NPS = "nps", _("Net Promoter Score")
        CSAT = "csat", _("Customer satisfaction")
        CES = "ces", _("Customer effort")
        CUSTOM = "custom", _("Custom")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=10, choices=Kind.choices, default=Kind.NPS
    )
    active = models.BooleanField(_("active"), default=True)
    follow_up_question = models.CharField(
        _("follow-up question"),
        max_length=300,
        blank=True,
        help_text=_(
            "Shown on the thank-you page, e.g. an invitation to leave a review."
        ),
    )
    max_reminders = models.PositiveSmallIntegerField(
        _("maximum reminders"), default=1, validators=[MaxValueValidator(10)]
    )
    reminder_interval_days = models.PositiveSmallIntegerField(
        _("days between reminders"), default=3, validators=[MinValueValidator(1)]
    )
    expiry_days = models.PositiveSmallIntegerField(
        _("link valid for (days)"), default=14, validators=[MinValueValidator(1)]
    )
    after_ticket_resolved = models.BooleanField(
        _("send when a support ticket is resolved"),
        default=False,
        help_text=_(
            "Each contact whose ticket is resolved is invited (within the contact cap)."
        ),
    )
    days_after_purchase = models.PositiveSmallIntegerField(
        _("send days after a purchase"),
        null=True,
        blank=True,
        help_text=_("Empty means the survey is only sent by hand."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def has_score(self) -> bool:
        return self.kind != self.Kind.CUSTOM


class Question(models.Model):  # type: ignore[django-manager-missing]
    """One question of a survey; ``show_if`` shows it only after given answers to an earlier one."""

    class Type(models.TextChoices):
        RATING_SCALE = "rating_scale", _("Rating scale")
        SINGLE_CHOICE = "single_choice", _("Single choice")
        MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
        FREE_TEXT = "free_text", _("Free text")

    survey = models.ForeignKey(
        Survey, models.CASCADE, related_name="questions", verbose_name=_("survey")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    text = models.CharField(_("text"), max_length=300)
    # A JSON list of option labels; translated per language by modeltranslation (choices_ko…).
    choices = models.JSONField(_("choices"), default=list, blank=True)
    min_value = models.SmallIntegerField(_("minimum"), null=True, blank=True)
    max_value = models.SmallIntegerField(_("maximum"), null=True, blank=True)
    required = models.BooleanField(_("required"), default=True)
    # The survey's main score (the NPS 0-10, CSAT 1-5 or CES 1-7 question).
    is_score = models.BooleanField(_("main score"), default=False)
    # {"question": <order of an earlier question>, "values": [...]}: shown only for those answers.
    show_if = models.JSONField(_("show if"), null=True, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "order"], name="feedback_question_order_unique"
            )
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def field_name(self) -> str:
        return f"q{self.order}"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self, now: dt.datetime) -> InvitationQuerySet:
        return self.filter(responded_at__isnull=True, expires_at__gt=now)


class Invitation(TimeStampedModel):
    """A contact's personal, single-use link to a survey, with its expiry and reminders."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Sent by staff")
        SEGMENT = "segment", _("Segment")
        TRIGGER = "trigger", _("Trigger")

    survey = models.ForeignKey(
        Survey, models.CASCADE, related_name="invitations", verbose_name=_("survey")
    )
    contact = models.ForeignKey(
        Contact,
        models.CASCADE,
        related_name="survey_invitations",
        verbose_name=_("contact"),
    )
    token = models.CharField(
        _("token"), max_length=64, unique=True, default=new_token, editable=False
    )
    expires_at = models.DateTimeField(_("expires"))
    # When the invitation should be (was) emitted; in the future for purchase triggers.
    send_at = models.DateTimeField(_("send at"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    last_reminded_at = models.DateTimeField(_("last reminded"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=20, default="email")
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["contact", "-created_at"], name="feedback_inv_contact"
            ),
            models.Index(fields=["survey", "-created_at"], name="feedback_inv_survey"),
            models.Index(
                fields=["sent_at", "send_at"],
                name="feedback_inv_unsent",
                condition=models.Q(sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.contact}"


class Response(models.Model):
    """A contact's submitted answers to one invitation; ``score`` is the main question's value."""

    invitation = models.OneToOneField(
        Invitation,
        models.CASCADE,
        related_name="response",
        verbose_name=_("invitation"),
    )
    survey = models.ForeignKey(
        Survey, models.CASCADE, related_name="responses", verbose_name=_("survey")
    )
    contact = models.ForeignKey(
        Contact,
        models.CASCADE,
        related_name="survey_responses",
        verbose_name=_("contact"),
    )
    submitted_at = models.DateTimeField(_("submitted"))
    language = models.CharField(_("language"), max_length=10)
    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    follow_up_task = models.ForeignKey(
        Task,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("follow-up task"),
    )

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(
                fields=["survey", "submitted_at"], name="feedback_resp_survey"
            ),
            models.Index(
                fields=["contact", "-submitted_at"], name="feedback_resp_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey}: {self.contact}"


class Answer(models.Model):
    """The value given to one question: a number, a choice, a list of choices or text."""

    response = models.ForeignKey(
        Response, models.CASCADE, related_name="answers", verbose_name=_("response")
    )
    question = models.ForeignKey(
        Question, models.CASCADE, related_name="answers", verbose_name=_("question")
    )
    value = models.JSONField(_("value"))

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"], name="feedback_answer_unique"
            )
        ]

    def __str__(self) -> str:
        return str(self.value)
