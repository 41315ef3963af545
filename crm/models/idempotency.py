"""Stored answers for API writes sent with an ``Idempotency-Key`` header (Stripe's semantics)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first answer to (user, key): replayed for the same request, refused (422) for another."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="+",
        db_index=False,  # the unique (user, key) index starts with it
    )
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True)
    body = models.JSONField(_("response"), null=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="crm_idempotency_user_key_unique"
            )
        ]

    def __str__(self) -> str:
        return self.key
