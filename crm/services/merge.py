"""Merging duplicate contacts: the survivor keeps everything both had, and the merge is recorded."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import hooks
from crm.models import (
    AuditEntry,
    Consent,
    ConsentEvent,
    Contact,
    ContactMerge,
    Interaction,
    Purchase,
    Task,
    User,
)
from crm.services.audit import audit_record

# Profile fields the survivor takes from the merged contact when its own are empty.
FILL_FIELDS = (
    "given_name",
    "family_name",
    "email",
    "phone",
    "company_id",
    "country",
    "timezone",
    "birth_year",
    "birth_month",
    "birth_day",
    "owner_id",
)


def _snapshot(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "given_name": contact.given_name,
        "family_name": contact.family_name,
        "email": contact.email,
        "phone": str(contact.phone or ""),
        "company_id": contact.company_id,
        "country": str(contact.country or ""),
        "language": contact.language,
        "timezone": str(contact.timezone or ""),
        "birthday": contact.birthday_iso,
        "lifecycle_stage": contact.lifecycle_stage,
        "source": contact.source,
        "attributes": contact.attributes,
        "tags": sorted(contact.tags.values_list("name", flat=True)),
        "created_at": contact.created_at.isoformat(),
    }


@transaction.atomic
def contact_merge(*, survivor: Contact, merged: Contact, actor: User) -> ContactMerge:
    """Fold ``merged`` into ``survivor``: interactions, purchases, tasks, tags, consent, portal
    account and (through ``hooks.contact_merged``) every other app's records move over; empty
    profile fields are filled in; the merge is recorded on the survivor's timeline."""
    if survivor.pk == merged.pk:
        raise ValidationError({"merged": _("Choose two different contacts.")})
    # Lock both rows in id order so two merges of the same pair cannot deadlock.
    locked = {
        c.pk: c
        for c in Contact.objects.select_for_update()
        .filter(pk__in=[survivor.pk, merged.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError({"merged": _("One of these contacts no longer exists.")})
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if survivor.user_id and merged.user_id:
        raise ValidationError(
            {
                "merged": _(
                    "Both contacts have a portal account. Remove one account before merging."
                )
            }
        )
    snapshot = _snapshot(merged)

    Interaction.objects.filter(contact=merged).update(contact=survivor)
    Purchase.objects.filter(contact=merged).update(contact=survivor)
    Task.objects.filter(contact=merged).update(contact=survivor)
    survivor.tags.add(*merged.tags.all())
    survivor_purposes = set(
        Consent.objects.filter(contact=survivor).values_list("purpose", flat=True)
    )
    for consent in Consent.objects.filter(contact=merged):
        if consent.purpose in survivor_purposes:
            consent.delete()  # the survivor's own answer stands
        else:
            Consent.objects.filter(pk=consent.pk).update(contact=survivor)
            # The answer moves with the history that led to it.
            ConsentEvent.objects.filter(contact=merged, purpose=consent.purpose).update(
                contact=survivor
            )
    for function in hooks.contact_merged:
        function(survivor_id=survivor.pk, merged_id=merged.pk)

    merged_user_id, merged_email = merged.user_id, merged.email
    # Free the unique email and portal account before the survivor takes them.
    Contact.objects.filter(pk=merged.pk).update(email="", user=None)
    for field in FILL_FIELDS:
        if getattr(survivor, field) in (None, "") and getattr(merged, field) not in (
            None,
            "",
        ):
            setattr(survivor, field, getattr(merged, field))
    if not survivor.email and merged_email:
        survivor.email = merged_email
    if not survivor.user_id and merged_user_id:
        survivor.user_id = merged_user_id
    survivor.attributes = {**merged.attributes, **survivor.attributes}
    sinces = [d for d in (survivor.customer_since, merged.customer_since) if d]
    survivor.customer_since = min(sinces) if sinces else None
    lasts = [d for d in (survivor.last_purchase_at, merged.last_purchase_at) if d]
    survivor.last_purchase_at = max(lasts) if lasts else None
    # Still a customer if either was; churned only if both were (at the later date).
    if survivor.churned_at and merged.churned_at:
        survivor.churned_at = max(survivor.churned_at, merged.churned_at)
    elif merged.customer_since and not merged.churned_at:
        survivor.churned_at = None
    stages = list(Contact.LifecycleStage.values)
    survivor.lifecycle_stage = max(
        survivor.lifecycle_stage, merged.lifecycle_stage, key=stages.index
    )
    survivor.search_text = survivor.build_search_text()
    survivor.save()

    record = ContactMerge.objects.create(
        survivor=survivor,
        merged_contact_id=merged.pk,
        merged_name=merged.display_name[:300],
        merged_email=merged_email,
        snapshot=snapshot,
        merged_by=actor,
        merged_at=timezone.now(),
    )
    audit_record(
        action=AuditEntry.Action.MERGE,
        actor=actor,
        object_type="crm.contact",
        object_id=survivor.pk,
        contact_id=survivor.pk,
        changes={"merged_contact_id": merged.pk},
        sealed={"merged": snapshot},
    )
    merged.delete()
    return record
