"""Reads of the privacy records: the consent ledger, personal-data exports and the audit log
(unsealing lives beside sealing, in ``crm.services.audit``, and is re-exported here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from crm.models import AuditEntry, ConsentEvent, Contact, DataExport
from crm.services.audit import audit_unseal_many

__all__ = [
    "audit_entry_list",
    "audit_unseal_many",
    "consent_history",
    "data_exports_recent",
]


def data_exports_recent(*, contact: Contact, limit: int) -> list[DataExport]:
    """The contact's latest personal-data exports, newest first (staff panel and portal)."""
    return list(
        DataExport.objects.filter(contact=contact).order_by("-created_at", "-id")[
            :limit
        ]
    )


def consent_history(*, contact_id: int) -> QuerySet[ConsentEvent]:
    """Every change of the contact's consent, newest first, with who made it."""
    return (
        ConsentEvent.objects.filter(contact_id=contact_id)
        .select_related("actor")
        .order_by("-at", "-id")
    )


def _moment(value: str, name: str, *, end: bool) -> dt.datetime:
    """An ISO date-time, or a date (its start, or for ``until`` its end) in the current zone."""
    try:
        moment = parse_datetime(value)
        day = None if moment is not None else parse_date(value)
    except ValueError:  # well formed but impossible, e.g. month 13
        moment = day = None
    if moment is None:
        if day is None:
            raise ValidationError(
                {name: _("Give an ISO 8601 date (YYYY-MM-DD) or date and time.")}
            )
        moment = dt.datetime.combine(
            day + dt.timedelta(days=1) if end else day, dt.time()
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _whole_number(value: str, name: str) -> int:
    if not value.isdigit():
        raise ValidationError({name: _("Give a whole number (an id).")})
    return int(value)


def audit_entry_list(*, filters: Mapping[str, str]) -> QuerySet[AuditEntry]:
    """The audit log, filtered by ``action``, ``actor`` (user id), ``contact`` (id), ``since``
    and ``until`` (ISO dates or date-times); bad values raise ``ValidationError`` naming them."""
    qs = AuditEntry.objects.all()
    if action := filters.get("action"):
        if action not in AuditEntry.Action.values:
            raise ValidationError(
                {
                    "action": _("Unknown action. Use one of: %(choices)s.")
                    % {"choices": ", ".join(AuditEntry.Action.values)}
                }
            )
        qs = qs.filter(action=action)
    if actor := filters.get("actor"):
        qs = qs.filter(actor_id=_whole_number(actor, "actor"))
    if contact := filters.get("contact"):
        qs = qs.filter(contact_id=_whole_number(contact, "contact"))
    if since := filters.get("since"):
        qs = qs.filter(at__gte=_moment(since, "since", end=False))
    if until := filters.get("until"):
        moment = _moment(until, "until", end=True)
        whole_day = len(until.strip()) == len("YYYY-MM-DD")
        qs = qs.filter(at__lt=moment) if whole_day else qs.filter(at__lte=moment)
    return qs
