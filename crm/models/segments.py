"""Saved contact filters, usable by campaigns, surveys and the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models.base import TimeStampedModel


# Campaign (a modeltranslation model) points here; the stubs cannot resolve its manager.
class Segment(TimeStampedModel):  # type: ignore[django-manager-missing]
    """A named contact filter; its members are computed live, never stored."""

    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    # The contact-list filter parameters, e.g. {"country": ["KR"], "tag": ["vip"], "q": "kim"}.
    filters = models.JSONField(_("filters"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="segments",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
