"""crm's own personal-data sources: the profile, activity, money, consent, outreach, imports,
merges, data exports and the audit log (registered in ``CrmConfig.ready()``).

The erasers run inside ``contact_erase``'s transaction, with the contact row locked. Money rows
stay as anonymous figures so revenue and the metrics built on it do not change; free text is
blanked; the profile is anonymised last, because other erasers look its email and phone up.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import (
    AuditEntry,
    Consent,
    ConsentEvent,
    Contact,
    ContactMerge,
    DataExport,
    IdempotencyRecord,
    ImportJob,
    ImportRejection,
    Interaction,
    OutboundMessage,
    Purchase,
    Refund,
    Task,
)
from crm.privacy import PersonalDataSource, Row, register, rows, to_json
from crm.services.audit import audit_unseal_many, contact_keys_destroy

# --- Profile ---------------------------------------------------------------------------------


def erased_email(contact_id: int) -> str:
    """What an erased contact's (non-nullable) email becomes: unique, undeliverable, anonymous."""
    return f"erased-{contact_id}@invalid"


def profile_export(contact_id: int) -> list[Row]:
    contact = (
        Contact.objects.select_related("company", "owner", "user")
        .prefetch_related("tags")
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        return []
    return [
        to_json(
            {
                "id": contact.pk,
                "given_name": contact.given_name,
                "family_name": contact.family_name,
                "email": contact.email,
                "phone": str(contact.phone or ""),
                "company": contact.company.name if contact.company else "",
                "country": str(contact.country or ""),
                "language": contact.language,
                "timezone": str(contact.timezone or ""),
                "birthday": contact.birthday_iso,
                "tags": [tag.name for tag in contact.tags.all()],
                "lifecycle_stage": contact.lifecycle_stage,
                "source": contact.source,
                "attributes": contact.attributes,
                "owner": contact.owner.email if contact.owner else "",
                "portal_account": contact.user.email if contact.user else "",
                "customer_since": contact.customer_since,
                "last_purchase_at": contact.last_purchase_at,
                "churned_at": contact.churned_at,
                "created_at": contact.created_at,
                "updated_at": contact.updated_at,
            }
        )
    ]


def _api_replays(contact_id: int) -> Any:
    """Stored API answers (Idempotency-Key replays) that name the contact or hold their email
    or phone: a contact created or a purchase recorded through the API within the last day."""
    match = Q(body_text__regex=rf'"contact(_id)?": {contact_id}[,}}]')
    for needle in _identifiers(contact_id):
        match |= Q(body_text__icontains=needle)
    return IdempotencyRecord.objects.annotate(
        body_text=Cast("body", output_field=TextField())
    ).filter(match)


def profile_erase(contact_id: int) -> int:
    contact = Contact.objects.get(pk=contact_id)
    contact.tags.clear()
    # Forget replays that would hand the erased values back; a retried write is refused anyway.
    IdempotencyRecord.objects.filter(
        pk__in=list(_api_replays(contact_id).values_list("pk", flat=True))
    ).delete()
    return Contact.objects.filter(pk=contact_id).update(
        given_name="",
        family_name="",
        email=erased_email(contact_id),
        phone="",
        company=None,
        timezone=None,
        birth_year=None,
        birth_month=None,
        birth_day=None,
        attributes={},
        user=None,
        search_text="",
        erased_at=timezone.now(),
    )


# --- Activity and money ----------------------------------------------------------------------


def interactions_export(contact_id: int) -> list[Row]:
    return rows(
        Interaction.objects.filter(contact_id=contact_id),
        (
            "id",
            "kind",
            "direction",
            "subject",
            "body",
            "occurred_at",
            "duration_seconds",
            "author__email",
        ),
    )


def interactions_erase(contact_id: int) -> int:
    """Notes are only words about the person: deleted. Other interactions keep their kind,
    time and duration (activity figures) without subject or text."""
    qs = Interaction.objects.filter(contact_id=contact_id)
    deleted, _by_model = qs.filter(kind=Interaction.Kind.NOTE).delete()
    return deleted + qs.update(subject="", body="")


def purchases_export(contact_id: int) -> list[Row]:
    purchases = rows(
        Purchase.objects.filter(contact_id=contact_id),
        (
            "id",
            "amount",
            "currency",
            "amount_base",
            "base_currency",
            "refunded_amount",
            "occurred_at",
            "external_id",
        ),
    )
    refunds = rows(
        Refund.objects.filter(purchase__contact_id=contact_id),
        ("id", "purchase_id", "amount", "amount_base", "occurred_at", "reason"),
    )
    return [{"type": "purchase", **p} for p in purchases] + [
        {"type": "refund", **r} for r in refunds
    ]


def purchases_erase(contact_id: int) -> int:
    """Purchases and refunds stay as figures (revenue must not change); refund reasons go."""
    return Refund.objects.filter(purchase__contact_id=contact_id).update(reason="")


def purchases_count(contact_id: int) -> int:
    return (
        Purchase.objects.filter(contact_id=contact_id).count()
        + Refund.objects.filter(purchase__contact_id=contact_id).count()
    )


def tasks_export(contact_id: int) -> list[Row]:
    return rows(
        Task.objects.filter(contact_id=contact_id),
        ("id", "title", "notes", "due_at", "completed_at", "assignee__email"),
    )


def tasks_erase(contact_id: int) -> int:
    return Task.objects.filter(contact_id=contact_id).update(
        title=_("Follow-up (erased contact)"), notes=""
    )


# --- Consent ---------------------------------------------------------------------------------


def consents_export(contact_id: int) -> list[Row]:
    current = rows(
        Consent.objects.filter(contact_id=contact_id),
        ("purpose", "granted", "source", "changed_at", "wording_version", "ip_address"),
    )
    history = rows(
        ConsentEvent.objects.filter(contact_id=contact_id),
        ("purpose", "granted", "source", "at", "wording_version", "ip_address"),
    )
    return [{"type": "current", **c} for c in current] + [
        {"type": "change", **h} for h in history
    ]


def consents_erase(contact_id: int) -> int:
    """Every purpose withdrawn (nothing more is sent); the history keeps its dates and answers
    but not the addresses they were given from."""
    touched = Consent.objects.filter(contact_id=contact_id).update(
        granted=False, ip_address=None
    )
    return touched + ConsentEvent.objects.filter(contact_id=contact_id).update(
        ip_address=None
    )


def consents_count(contact_id: int) -> int:
    return (
        Consent.objects.filter(contact_id=contact_id).count()
        + ConsentEvent.objects.filter(contact_id=contact_id).count()
    )


# --- Outreach --------------------------------------------------------------------------------


def outreach_export(contact_id: int) -> list[Row]:
    return rows(
        OutboundMessage.objects.filter(contact_id=contact_id),
        (
            "id",
            "occasion",
            "occurrence",
            "channel",
            "language",
            "subject",
            "body_text",
            "status",
            "skip_reason",
            "scheduled_for",
            "sent_at",
        ),
    )


def outreach_erase(contact_id: int) -> int:
    """Messages not yet handed to the mail server are cancelled; every body is blanked (the
    status, occasion and dates stay for the outreach figures)."""
    qs = OutboundMessage.objects.filter(contact_id=contact_id)
    qs.filter(
        status__in=[OutboundMessage.Status.PLANNED, OutboundMessage.Status.QUEUED]
    ).update(
        status=OutboundMessage.Status.SKIPPED,
        skip_reason=OutboundMessage.SkipReason.CANCELLED,
    )
    return qs.update(subject="", body_text="", error="")


# --- Imports ---------------------------------------------------------------------------------


def _identifiers(contact_id: int) -> list[str]:
    """The contact's email and phone (as typed in files: E.164 and national), lower-cased."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None or contact.erased_at:
        return []
    found = [contact.email.strip().lower()] if contact.email.strip() else []
    if contact.phone:
        found.append(str(contact.phone))
        if national := getattr(contact.phone, "national_number", None):
            found.append("0" + str(national))
    return [value for value in found if len(value) >= 6]


def _rejections(contact_id: int) -> Any:
    needles = _identifiers(contact_id)
    if not needles:
        return ImportRejection.objects.none()
    match = Q()
    for needle in needles:
        match |= Q(data_text__icontains=needle)
    return ImportRejection.objects.annotate(
        data_text=Cast("data", output_field=TextField())
    ).filter(match)


def imports_export(contact_id: int) -> list[Row]:
    return rows(
        _rejections(contact_id),
        ("job__original_name", "job__created_at", "line", "reason", "data"),
    )


def _scrub_file(job: ImportJob, needles: list[bytes]) -> bool:
    """Drop the uploaded file's lines that hold one of ``needles``; True when it changed."""
    storage, name = job.file.storage, job.file.name
    if not name or not storage.exists(name):
        return False
    with storage.open(name, "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    kept = [line for line in lines if not any(n in line.lower() for n in needles)]
    if len(kept) == len(lines):
        return False
    from django.core.files.base import ContentFile

    storage.delete(name)
    saved = storage.save(name, ContentFile(b"".join(kept)))
    if saved != name:
        ImportJob.objects.filter(pk=job.pk).update(file=saved)
    return True


def imports_erase(contact_id: int) -> int:
    """Rejected rows that hold the contact's email or phone lose their data, and finished
    imports' uploaded files lose the lines that hold them."""
    needles = _identifiers(contact_id)
    touched = ImportRejection.objects.filter(
        pk__in=list(_rejections(contact_id).values_list("pk", flat=True))
    ).update(data={}, reason=_("This row was removed: its person's data was erased."))
    if needles:
        encoded = [n.encode() for n in needles]
        finished = list(
            ImportJob.objects.filter(
                status__in=[ImportJob.Status.DONE, ImportJob.Status.FAILED]
            ).exclude(file="")
        )

        def scrub() -> None:
            for job in finished:
                _scrub_file(job, encoded)

        # Files are not transactional: touch them only once the erasure is committed.
        transaction.on_commit(scrub)
    return touched


# --- Merges, data exports, audit -------------------------------------------------------------


def merges_export(contact_id: int) -> list[Row]:
    return rows(
        ContactMerge.objects.filter(survivor_id=contact_id),
        ("merged_contact_id", "merged_name", "merged_email", "snapshot", "merged_at"),
    )


def merges_erase(contact_id: int) -> int:
    merges = ContactMerge.objects.filter(survivor_id=contact_id)
    # What the audit log sealed about the merged record is this person's too.
    for merged_id in merges.values_list("merged_contact_id", flat=True):
        contact_keys_destroy(contact_id=merged_id)
    return merges.update(merged_name="", merged_email="", snapshot={})


def data_exports_export(contact_id: int) -> list[Row]:
    return rows(
        DataExport.objects.filter(contact_id=contact_id),
        ("public_id", "via", "status", "created_at", "finished_at", "expires_at"),
    )


def data_exports_erase(contact_id: int) -> int:
    """The archives are the personal data itself: their files are deleted."""
    exports = list(DataExport.objects.filter(contact_id=contact_id).exclude(file=""))
    files = [(export.file.storage, export.file.name or "") for export in exports]
    DataExport.objects.filter(contact_id=contact_id).update(
        file="", status=DataExport.Status.EXPIRED
    )

    def delete_files() -> None:
        for storage, name in files:
            storage.delete(name)

    # Files are not transactional: delete them once the erasure is committed.
    transaction.on_commit(delete_files)
    return len(files)


def audit_export(contact_id: int) -> list[Row]:
    entries = list(
        AuditEntry.objects.filter(contact_id=contact_id).order_by("at", "id")
    )
    values = audit_unseal_many(entries)
    return to_json(
        [
            {
                "at": entry.at,
                "action": entry.action,
                "by": entry.actor_label,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "changes": entry.changes,
                "values": values[entry.pk],
            }
            for entry in entries
        ]
    )


def audit_erase(contact_id: int) -> int:
    """The entries stay (the facts) and become unreadable (the values): the key goes."""
    sealed = (
        AuditEntry.objects.filter(contact_id=contact_id).exclude(sealed=None).count()
    )
    contact_keys_destroy(contact_id=contact_id)
    return sealed


def register_sources() -> None:
    """crm's sections, in the order an archive lists them (the profile first)."""
    register(
        PersonalDataSource(
            name="crm.profile",
            label=gettext_lazy("Profile"),
            models=(Contact,),
            export=profile_export,
            erase=profile_erase,
            count=lambda contact_id: 1,
        )
    )
    register(
        PersonalDataSource(
            name="crm.interactions",
            label=gettext_lazy("Interactions"),
            models=(Interaction,),
            export=interactions_export,
            erase=interactions_erase,
            count=lambda cid: Interaction.objects.filter(contact_id=cid).count(),
        )
    )
    register(
        PersonalDataSource(
            name="crm.purchases",
            label=gettext_lazy("Purchases and refunds"),
            models=(Purchase, Refund),
            export=purchases_export,
            erase=purchases_erase,
            count=purchases_count,
        )
    )
    register(
        PersonalDataSource(
            name="crm.tasks",
            label=gettext_lazy("Follow-up tasks"),
            models=(Task,),
            export=tasks_export,
            erase=tasks_erase,
            count=lambda cid: Task.objects.filter(contact_id=cid).count(),
        )
    )
    register(
        PersonalDataSource(
            name="crm.consents",
            label=gettext_lazy("Consent and its history"),
            models=(Consent, ConsentEvent),
            export=consents_export,
            erase=consents_erase,
            count=consents_count,
        )
    )
    register(
        PersonalDataSource(
            name="crm.outreach",
            label=gettext_lazy("Messages sent or planned"),
            models=(OutboundMessage,),
            export=outreach_export,
            erase=outreach_erase,
            count=lambda cid: OutboundMessage.objects.filter(contact_id=cid).count(),
        )
    )
    register(
        PersonalDataSource(
            name="crm.imports",
            label=gettext_lazy("Rejected import rows"),
            models=(ImportRejection,),
            export=imports_export,
            erase=imports_erase,
            count=lambda cid: _rejections(cid).count(),
        )
    )
    register(
        PersonalDataSource(
            name="crm.merges",
            label=gettext_lazy("Merged records"),
            models=(ContactMerge,),
            export=merges_export,
            erase=merges_erase,
            count=lambda cid: ContactMerge.objects.filter(survivor_id=cid).count(),
        )
    )
    register(
        PersonalDataSource(
            name="crm.data_exports",
            label=gettext_lazy("Personal data exports"),
            models=(DataExport,),
            export=data_exports_export,
            erase=data_exports_erase,
            count=lambda cid: DataExport.objects.filter(contact_id=cid).count(),
        )
    )
    register(
        PersonalDataSource(
            name="crm.audit",
            label=gettext_lazy("Audit log"),
            models=(AuditEntry,),
            export=audit_export,
            erase=audit_erase,
            count=lambda cid: AuditEntry.objects.filter(contact_id=cid).count(),
        )
    )
