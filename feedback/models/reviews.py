"""Customer reviews: published only with consent and after moderation."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Contact, TimeStampedModel


class ReviewQuerySet(models.QuerySet["Review"]):
    def published(self) -> ReviewQuerySet:
        """Only approved reviews whose author consented to publication."""
        return self.filter(status=Review.Status.APPROVED, consent_to_publish=True)


class Review(TimeStampedModel):
    """A customer's rating and words; public only when approved and consented."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    contact = models.ForeignKey(
        Contact, models.CASCADE, related_name="reviews", verbose_name=_("contact")
    )
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    text = models.TextField(_("text"), max_length=2000, blank=True)
    consent_to_publish = models.BooleanField(_("consent to publish"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    featured = models.BooleanField(_("featured"), default=False)
    language = models.CharField(_("language"), max_length=10, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated"), null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["status", "-created_at"], name="feedback_review_status"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5),
                name="feedback_review_rating_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact} ({self.rating}/5)"
