"""Writes on interactions, follow-up tasks and segments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Contact, Interaction, Segment, Task, User
from crm.roles import STAFF_ROLES, role_of


def _aware(value: dt.datetime | None, field: str) -> dt.datetime:
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        raise ValidationError(
            {field: _("Give a time with its time zone or UTC offset.")}
        )
    return value


@transaction.atomic
def interaction_log(
    *,
    contact: Contact,
    author: User | None,
    kind: str,
    direction: str = Interaction.Direction.OUTBOUND,
    subject: str = "",
    body: str = "",
    occurred_at: dt.datetime | None = None,
    duration_seconds: int | None = None,
) -> Interaction:
    """Record a call, email, meeting, chat, SMS, note or social exchange on the contact's timeline."""
    from crm.services.privacy import contact_refuse_if_erased

    contact_refuse_if_erased(contact)
    interaction = Interaction(
        contact=contact,
        author=author,
        kind=kind,
        direction=direction,
        subject=(subject or "").strip(),
        body=(body or "").strip(),
        occurred_at=_aware(occurred_at, "occurred_at"),
        duration_seconds=duration_seconds,
    )
    if not interaction.subject and not interaction.body:
        raise ValidationError({"body": _("Write a subject or some notes.")})
    if interaction.occurred_at > timezone.now() + dt.timedelta(days=1):
        raise ValidationError(
            {"occurred_at": _("An interaction cannot be logged more than a day ahead.")}
        )
    interaction.full_clean()
    interaction.save()
    return interaction


def _check_assignee(assignee: User) -> None:
    if role_of(assignee) not in STAFF_ROLES:
        raise ValidationError(
            {"assignee": _("Tasks can only be assigned to active staff.")}
        )


@transaction.atomic
def task_create(
    *,
    title: str,
    due_at: dt.datetime,
    assignee: User,
    created_by: User | None,
    contact: Contact | None = None,
    notes: str = "",
) -> Task:
    """A follow-up for ``assignee`` due at ``due_at``, usually about a contact."""
    _check_assignee(assignee)
    task = Task(
        title=(title or "").strip(),
        notes=(notes or "").strip(),
        due_at=_aware(due_at, "due_at"),
        assignee=assignee,
        created_by=created_by,
        contact=contact,
    )
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, **fields: Any) -> Task:
    """Change a task's title, notes, due time or assignee (reassigning)."""
    allowed = {"title", "notes", "due_at", "assignee"}
    if unknown := set(fields) - allowed:
        raise ValidationError(
            {name: _("This field cannot be set.") for name in sorted(unknown)}
        )
    task = Task.objects.select_for_update().get(pk=task.pk)
    if "assignee" in fields:
        _check_assignee(fields["assignee"])
    if "due_at" in fields:
        fields["due_at"] = _aware(fields["due_at"], "due_at")
    for name, value in fields.items():
        setattr(task, name, value.strip() if isinstance(value, str) else value)
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_complete(*, task: Task, done: bool = True) -> Task:
    """Mark a task done (or open again); completing twice keeps the first completion time."""
    task = Task.objects.select_for_update().get(pk=task.pk)
    if done and task.completed_at is None:
        task.completed_at = timezone.now()
    elif not done:
        task.completed_at = None
    task.save(update_fields=["completed_at", "updated_at"])
    return task


def _check_filters(filters: Any, user: User) -> dict[str, Any]:
    from crm.selectors import CONTACT_FILTERS, contact_filter

    if not isinstance(filters, dict):
        raise ValidationError(
            {"filters": _("Filters must be an object of filter names and values.")}
        )
    if unknown := set(filters) - set(CONTACT_FILTERS):
        raise ValidationError(
            {
                "filters": _("Unknown filter: %(names)s.")
                % {"names": ", ".join(sorted(unknown))}
            }
        )
    if "segment" in filters:
        raise ValidationError(
            {"filters": _("A segment cannot contain another segment.")}
        )
    cleaned = {
        name: value for name, value in filters.items() if value not in (None, "", [])
    }
    if not cleaned:
        raise ValidationError(
            {"filters": _("Choose at least one filter to save as a segment.")}
        )
    try:
        contact_filter(Contact.objects.none(), cleaned, user=user)
    except ValidationError as error:
        raise ValidationError(
            {"filters": [f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()]}
        ) from error
    return cleaned


@transaction.atomic
def segment_create(
    *, name: str, filters: dict[str, Any], created_by: User, description: str = ""
) -> Segment:
    """Save a contact-list filter under a name; its members are counted live."""
    segment = Segment(
        name=(name or "").strip(),
        description=(description or "").strip(),
        filters=_check_filters(filters, created_by),
        created_by=created_by,
    )
    segment.full_clean()
    segment.save()
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, user: User, **fields: Any) -> Segment:
    if unknown := set(fields) - {"name", "description", "filters"}:
        raise ValidationError(
            {name: _("This field cannot be set.") for name in sorted(unknown)}
        )
    if "filters" in fields:
        fields["filters"] = _check_filters(fields["filters"], user)
    for name, value in fields.items():
        setattr(segment, name, value.strip() if isinstance(value, str) else value)
    segment.full_clean()
    segment.save()
    return segment


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    """Delete a saved filter; no contact changes (members are computed, never stored)."""
    segment.delete()
