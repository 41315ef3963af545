"""Privacy records: the consent ledger, the audit log and its per-contact keys, data exports
and erasures.

The audit log never holds a contact's personal data in clear: whatever an entry says about a
contact (before/after values, the address a customer signed in from, the email someone tried)
is sealed with that contact's own key (``ContactKey``). Erasure deletes the key, so the facts
stay (who did what, when) while the values become unreadable, and the rows themselves are never
updated: PostgreSQL refuses UPDATE and DELETE on the table (migration 0012).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models.contacts import Consent, Contact


class ConsentEvent(models.Model):
    """One change of one consent purpose: append-only history behind ``Consent``."""

    contact = models.ForeignKey(
        Contact,
        models.CASCADE,
        related_name="consent_events",
        verbose_name=_("contact"),
    )
    purpose = models.CharField(
        _("purpose"), max_length=30, choices=Consent.Purpose.choices
    )
    granted = models.BooleanField(_("granted"))
    source = models.CharField(
        _("source"), max_length=20, choices=Consent.Source.choices
    )
    wording_version = models.CharField(_("wording version"), max_length=40, blank=True)
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-at"], name="crm_consentevent_contact")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.purpose}={self.granted}@{self.at:%Y-%m-%d}"


class ContactKey(models.Model):
    """The key that seals what the audit log says about one contact; erasure deletes it."""

    contact_id = models.BigIntegerField(_("contact"), unique=True)
    key = models.BinaryField(_("key"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact audit key")
        verbose_name_plural = _("contact audit keys")

    def __str__(self) -> str:
        return str(self.contact_id)


class AuditEntry(models.Model):
    """An append-only record of something that happened, by whom, when and from where."""

    class Action(models.TextChoices):
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
        SIGN_OUT = "sign_out", _("Signed out")
        PERMISSION_DENIED = "permission_denied", _("Permission denied")
        CONTACT_VIEWED = "contact_viewed", _("Contact viewed")
        EXPORT = "export", _("Export")
        ERASURE = "erasure", _("Erasure")
        IMPORT = "import", _("Import")
        MERGE = "merge", _("Merge")
        LEDGER_ADJUSTMENT = "ledger_adjustment", _("Points adjusted")
        CONSENT_CHANGED = "consent_changed", _("Consent changed")
        ADMIN_ADD = "admin_add", _("Added in admin")
        ADMIN_CHANGE = "admin_change", _("Changed in admin")
        ADMIN_DELETE = "admin_delete", _("Deleted in admin")
        TWO_FACTOR = "two_factor", _("Two-factor settings changed")

    at = models.DateTimeField(_("time"), db_index=True)
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    # No foreign keys: an entry outlives the user or contact it names, and a cascade would have
    # to update rows that must never change.
    actor_id = models.BigIntegerField(_("actor"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    path = models.CharField(_("path"), max_length=500, blank=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    contact_id = models.BigIntegerField(
        _("contact"), null=True, blank=True, db_index=True
    )
    # Values without personal data of a contact (e.g. an admin changing a tier's threshold).
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    # Values that concern contact_id, encrypted with its ContactKey (Fernet).
    sealed = models.BinaryField(_("sealed values"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["action", "-at"], name="crm_audit_action_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class DataExport(models.Model):
    """A machine-readable archive of everything held about one contact, for a limited time."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    class Via(models.TextChoices):
        STAFF = "staff", _("Staff")
        API = "api", _("API")
        PORTAL = "portal", _("Portal")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(
        Contact, models.CASCADE, related_name="data_exports", verbose_name=_("contact")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    via = models.CharField(_("requested through"), max_length=10, choices=Via.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(_("sections"), default=0)
    done = models.PositiveIntegerField(_("sections done"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("available until"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal data export")
        verbose_name_plural = _("personal data exports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def progress(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


class Erasure(models.Model):
    """The fact that a contact's personal data was erased: who, when, why; never what."""

    class Via(models.TextChoices):
        STAFF = "staff", _("Staff")
        API = "api", _("API")
        PORTAL = "portal", _("Portal (confirmed by email)")

    contact_id = models.BigIntegerField(_("contact"), unique=True)
    requested_by_id = models.BigIntegerField(_("requested by"), null=True, blank=True)
    requested_by_label = models.CharField(_("requested by"), max_length=254, blank=True)
    via = models.CharField(_("requested through"), max_length=10, choices=Via.choices)
    reason = models.TextField(_("reason"))
    erased_at = models.DateTimeField(_("erased"))
    # Rows touched per app and section, e.g. {"crm.interactions": 12}: figures, never values.
    counts = models.JSONField(_("what was erased"), default=dict, blank=True)

    class Meta:
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")
        ordering = ["-erased_at", "-id"]

    def __str__(self) -> str:
        return f"{self.contact_id}@{self.erased_at:%Y-%m-%d}"
