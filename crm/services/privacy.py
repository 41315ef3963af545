"""Data-subject rights: export everything held about a contact, erase it, and purge what is no
longer needed.

Both export and erasure walk the registry in ``crm.privacy`` (every app's
``PersonalDataSource``), so crm never imports the other apps. Erasure runs every source's
eraser in one transaction with the contact row locked, keeps money and ledger rows as anonymous
figures, destroys the contact's audit key and records the fact (``Erasure`` + an audit
``erasure`` entry) without any erased value.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import ProtectedError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.models import AuditEntry, Contact, DataExport, Erasure, User
from crm.privacy import PersonalDataSource, sources, to_json
from crm.services.audit import audit_record

ARCHIVE_FORMAT = "rapport.personal-data/1"
ERASE_SALT = "rapport.privacy.erase"
ERASE_LINK_MAX_AGE = (
    24 * 60 * 60
)  # seconds: the emailed confirmation link works for a day


def contact_refuse_if_erased(contact: Contact | int, *, field: str = "contact") -> None:
    """Services call this before adding personal data: an erased contact takes no more."""
    contact_id = contact if isinstance(contact, int) else contact.pk
    erased = (
        contact.erased_at
        if isinstance(contact, Contact) and contact.erased_at
        else Contact.objects.filter(pk=contact_id, erased_at__isnull=False).exists()
    )
    if erased:
        raise ValidationError(
            {field: _("This contact's personal data was erased; nothing can be added.")}
        )


# --- Export ----------------------------------------------------------------------------------


def _section(source: PersonalDataSource, contact_id: int) -> dict[str, Any]:
    return {"label": str(source.label), "rows": source.export(contact_id)}


def data_export_row_count(*, contact_id: int) -> int:
    """How many rows an archive of the contact would hold, counted without building it."""
    return sum(source.row_count(contact_id) for source in sources())


def data_export_build(*, contact_id: int) -> dict[str, Any]:
    """The whole archive as one JSON-ready dict: a section per registered source."""
    return {
        "format": ARCHIVE_FORMAT,
        "contact_id": contact_id,
        "generated_at": to_json(timezone.now()),
        "sections": {source.name: _section(source, contact_id) for source in sources()},
    }


def _export_audit(
    *, contact: Contact, actor: User | None, via: str, request: HttpRequest | None
) -> None:
    audit_record(
        action=AuditEntry.Action.EXPORT,
        actor=actor,
        request=request,
        object_type="crm.contact",
        object_id=contact.pk,
        contact_id=contact.pk,
        changes={"via": via},
    )


@transaction.atomic
def data_export_record_sync(
    *, contact: Contact, actor: User | None, request: HttpRequest | None = None
) -> dict[str, Any]:
    """The archive answered at once (the API's small-contact path), recorded in the audit log."""
    contact_refuse_if_erased(contact)
    _export_audit(contact=contact, actor=actor, via=DataExport.Via.API, request=request)
    return data_export_build(contact_id=contact.pk)


@transaction.atomic
def data_export_request(
    *,
    contact: Contact,
    actor: User | None,
    via: str,
    request: HttpRequest | None = None,
) -> DataExport:
    """Queue an archive of everything held about ``contact``; a Celery job builds it."""
    from crm.tasks import data_export_run_task

    contact_refuse_if_erased(contact)
    if via not in DataExport.Via.values:
        raise ValidationError({"via": _("Unknown request channel.")})
    export = DataExport.objects.create(
        contact=contact,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
        via=via,
        total=len(sources()),
    )
    _export_audit(contact=contact, actor=actor, via=via, request=request)
    transaction.on_commit(lambda: data_export_run_task.delay(export.pk))
    return export


def _summary(contact: Contact, archive: dict[str, Any]) -> str:
    """The archive in words, in the contact's language."""
    with translation.override(contact.language or settings.LANGUAGE_CODE):
        return render_to_string(
            "crm/privacy/summary.txt",
            {
                "contact": contact,
                "profile": (archive["sections"].get("crm.profile") or {}).get("rows")
                or [{}],
                "sections": archive["sections"].values(),
                "generated_at": timezone.now(),
                "days": settings.PRIVACY_EXPORT_TTL_HOURS // 24,
            },
        )


def data_export_run(*, export_id: int) -> DataExport | None:
    """Build the archive zip (``data.json`` + ``summary.txt``) section by section, reporting
    progress; safe to run twice (only a queued export is claimed)."""
    claimed = DataExport.objects.filter(
        pk=export_id, status=DataExport.Status.QUEUED
    ).update(status=DataExport.Status.RUNNING)
    if not claimed:
        return None
    export = DataExport.objects.select_related("contact").get(pk=export_id)
    contact = export.contact
    try:
        contact_refuse_if_erased(contact)
        registered = sources()
        DataExport.objects.filter(pk=export.pk).update(total=len(registered), done=0)
        archive: dict[str, Any] = {
            "format": ARCHIVE_FORMAT,
            "contact_id": contact.pk,
            "generated_at": to_json(timezone.now()),
            "sections": {},
        }
        for done, source in enumerate(registered, start=1):
            archive["sections"][source.name] = _section(source, contact.pk)
            DataExport.objects.filter(pk=export.pk).update(done=done)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive_zip:
            archive_zip.writestr(
                "data.json", json.dumps(archive, ensure_ascii=False, indent=2)
            )
            archive_zip.writestr("summary.txt", _summary(contact, archive))
        with transaction.atomic():
            locked = DataExport.objects.select_for_update().get(pk=export.pk)
            if Contact.objects.filter(pk=contact.pk, erased_at__isnull=False).exists():
                raise ValidationError(_("The contact was erased meanwhile."))
            now = timezone.now()
            locked.file.save(
                f"personal-data-{locked.public_id}.zip",
                ContentFile(buffer.getvalue()),
                save=False,
            )
            locked.status = DataExport.Status.DONE
            locked.finished_at = now
            locked.expires_at = now + dt.timedelta(
                hours=settings.PRIVACY_EXPORT_TTL_HOURS
            )
            locked.save(update_fields=["file", "status", "finished_at", "expires_at"])
            return locked
    except Exception as error:
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.FAILED,
            error=" ".join(getattr(error, "messages", [str(error)])),
            finished_at=timezone.now(),
        )
        if isinstance(error, ValidationError):
            return DataExport.objects.get(pk=export.pk)
        raise


def data_export_is_available(
    export: DataExport, *, now: dt.datetime | None = None
) -> bool:
    now = now or timezone.now()
    return (
        export.status == DataExport.Status.DONE
        and bool(export.file)
        and export.expires_at is not None
        and export.expires_at > now
    )


# --- Erasure ---------------------------------------------------------------------------------


def _portal_user_remove(user_id: int | None) -> None:
    """Delete the customer's portal account and its sessions (anonymise it if it must stay)."""
    if user_id is None:
        return
    user = User.objects.filter(pk=user_id).first()
    if user is None or user.is_staff:
        return
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            session.delete()
    try:
        with transaction.atomic():
            user.delete()
    except ProtectedError:
        User.objects.filter(pk=user_id).update(
            email=f"erased-user-{user_id}@invalid",
            given_name="",
            family_name="",
            is_active=False,
            password="!",
        )


def _sign_in_records_remove(email: str) -> int:
    """django-axes keeps the typed username (the email) of sign-in attempts: they go."""
    if not email:
        return 0
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    removed = 0
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        removed += model.objects.filter(username__iexact=email).delete()[0]
    return removed


@transaction.atomic
def contact_erase(
    *,
    contact: Contact,
    actor: User | None,
    reason: str,
    via: str,
    request: HttpRequest | None = None,
) -> Erasure:
    """Erase or anonymise everything held about ``contact`` in every app, for good.

    Money and ledger rows stay as anonymous figures; the audit log keeps its entries but loses
    the key to their values; the erasure is recorded (who, when, why, how many rows) without
    any erased value. Refused when the contact is already erased or no reason is given.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the erasure.")})
    if via not in Erasure.Via.values:
        raise ValidationError({"via": _("Unknown request channel.")})
    # Lock the row: a concurrent erasure waits and then sees erased_at.
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.erased_at is not None:
        raise ValidationError(
            {"contact": _("This contact's personal data was already erased.")}
        )
    email, user_id = contact.email, contact.user_id
    counts: dict[str, int] = {}
    registered = sources()
    # The profile goes last: other erasers look the contact's email and phone up.
    ordered = [s for s in registered if s.name != "crm.profile"] + [
        s for s in registered if s.name == "crm.profile"
    ]
    for source in ordered:
        counts[source.name] = source.erase(contact.pk)
    counts["crm.sign_in_attempts"] = _sign_in_records_remove(email)
    _portal_user_remove(user_id)
    now = timezone.now()
    is_actor = actor is not None and actor.is_authenticated
    erasure = Erasure.objects.create(
        contact_id=contact.pk,
        requested_by_id=actor.pk if is_actor and actor is not None else None,
        requested_by_label=actor.email
        if is_actor and actor is not None and actor.is_staff
        else "",
        via=via,
        reason=reason,
        erased_at=now,
        counts=counts,
    )
    audit_record(
        action=AuditEntry.Action.ERASURE,
        actor=actor if is_actor else None,
        request=request,
        object_type="crm.contact",
        object_id=contact.pk,
        contact_id=contact.pk,
        # The reason is staff's words about why, never the erased data; counts are figures.
        changes={"via": via, "reason": reason, "counts": counts},
    )
    return erasure


def erasure_token_make(*, contact: Contact) -> str:
    """A signed token that confirms the customer's own erasure request (valid 24 hours)."""
    return signing.dumps(
        {"contact": contact.pk, "user": contact.user_id}, salt=ERASE_SALT
    )


def erasure_token_check(*, token: str) -> Contact:
    """The contact a confirmation token names, or ``ValidationError`` if it is bad or old."""
    try:
        data = signing.loads(token, salt=ERASE_SALT, max_age=ERASE_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(
            {"token": _("This link has expired. Ask for a new one.")}
        ) from None
    except signing.BadSignature:
        raise ValidationError({"token": _("This link is not valid.")}) from None
    contact = Contact.objects.filter(
        pk=data.get("contact"), user_id=data.get("user"), erased_at__isnull=True
    ).first()
    if contact is None or contact.user_id is None:
        raise ValidationError({"token": _("This link is not valid.")})
    return contact


def erasure_confirmation_send(*, contact: Contact, confirm_url: str) -> None:
    """Email the customer the link that confirms their erasure request (after commit)."""
    from crm.tasks import privacy_erasure_confirmation_send

    contact_refuse_if_erased(contact)
    if not contact.email:
        raise ValidationError(
            {"email": _("There is no email address to confirm with.")}
        )
    transaction.on_commit(
        lambda: privacy_erasure_confirmation_send.delay(contact.pk, confirm_url)
    )


# --- Retention -------------------------------------------------------------------------------


def privacy_retention_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Purge what is no longer needed: old sent message bodies, expired export files, old
    sign-in attempts, and (through ``hooks.retention_purgers``) other apps' stale rows."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from crm import hooks
    from crm.models import OutboundMessage

    now = now or timezone.now()
    done: dict[str, int] = {}
    body_cutoff = now - dt.timedelta(days=settings.RETENTION_OUTBOX_BODY_DAYS)
    done["outbox_bodies"] = (
        OutboundMessage.objects.filter(created_at__lt=body_cutoff)
        .exclude(
            status__in=[OutboundMessage.Status.PLANNED, OutboundMessage.Status.QUEUED]
        )
        .exclude(subject="", body_text="")
        .update(subject="", body_text="")
    )
    expired = 0
    for export in DataExport.objects.filter(
        status=DataExport.Status.DONE, expires_at__lte=now
    ).iterator():
        if export.file:
            export.file.delete(save=False)
        DataExport.objects.filter(pk=export.pk).update(
            file="", status=DataExport.Status.EXPIRED
        )
        expired += 1
    done["export_files"] = expired
    attempts_cutoff = now - dt.timedelta(days=settings.RETENTION_SIGN_IN_DAYS)
    done["sign_in_attempts"] = (
        AccessAttempt.objects.filter(attempt_time__lt=attempts_cutoff).delete()[0]
        + AccessFailureLog.objects.filter(attempt_time__lt=attempts_cutoff).delete()[0]
        + AccessLog.objects.filter(attempt_time__lt=attempts_cutoff).delete()[0]
    )
    for purger in hooks.retention_purgers:
        done.update(purger(now=now))
    return done
