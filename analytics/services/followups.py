"""Act on a drill-down: one follow-up task per contact, for the contact's owner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import Contact, User
from crm.roles import STAFF_ROLES, role_of
from crm.services import task_create


@transaction.atomic
def followup_tasks_create(
    *,
    contacts: Iterable[Contact],
    title: str,
    due_at: dt.datetime,
    created_by: User,
    notes: str = "",
) -> int:
    """A task about each contact for its owner (the acting user when it has none), through
    ``crm.services.task_create``; all or nothing. Returns how many tasks were created."""
    contacts = list(contacts)
    if not contacts:
        raise ValidationError({"contacts": _("Choose at least one contact.")})
    for contact in contacts:
        owner = contact.owner
        assignee = owner if owner and role_of(owner) in STAFF_ROLES else created_by
        task_create(
            title=title,
            due_at=due_at,
            assignee=assignee,
            created_by=created_by,
            contact=contact,
            notes=notes,
        )
    return len(contacts)
