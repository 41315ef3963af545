"""Audit entries for what people do rather than what services change: signing in and out,
refusals, views of a contact's page and staff exports.

Whatever such an entry says about a contact is sealed under that contact's key (see
``crm.services.audit``); an email that belongs to nobody is kept only as a keyed hash, so the
log can tell that the same unknown address was tried again without saying which.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest

from crm.models import AuditEntry, Contact, User
from crm.services.audit import audit_record

# Filters whose values may be a person's name, email or phone: logged as present, not shown.
FREE_TEXT_FILTERS = {"q", "search"}


def email_digest(email: str) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY) of a normalised email address."""
    normalised = (email or "").strip().lower().encode()
    return hmac.new(
        str(settings.SECRET_KEY).encode(), normalised, hashlib.sha256
    ).hexdigest()


def customer_contact_id(user: Any) -> int | None:
    """The contact behind a portal customer's account (None for staff or nobody)."""
    if user is None or not user.is_authenticated or user.is_staff:
        return None
    return Contact.objects.filter(user_id=user.pk).values_list("pk", flat=True).first()


def _method(user: Any) -> str:
    backend = getattr(user, "backend", "") or ""
    return "link" if "sesame" in backend else "password"


def sign_in_record(*, request: HttpRequest | None, user: User) -> AuditEntry:
    """A successful sign-in, staff or customer, by password or emailed link."""
    return audit_record(
        action=AuditEntry.Action.SIGN_IN,
        actor=user,
        request=request,
        object_type="crm.user",
        object_id=user.pk,
        contact_id=customer_contact_id(user),
        changes={"method": _method(user)},
    )


def sign_out_record(*, request: HttpRequest | None, user: Any) -> AuditEntry | None:
    if user is None or not user.is_authenticated:
        return None
    return audit_record(
        action=AuditEntry.Action.SIGN_OUT,
        actor=user,
        request=request,
        object_type="crm.user",
        object_id=user.pk,
        contact_id=customer_contact_id(user),
    )


def sign_in_failed_record(
    *, request: HttpRequest | None, credentials: Mapping[str, Any]
) -> AuditEntry:
    """A refused sign-in. The email tried is sealed under the contact it belongs to; an email
    that belongs to nobody is kept only as a keyed hash; a staff account is named by id."""
    email = str(credentials.get("username") or credentials.get("email") or "").strip()
    method = "link" if "sesame" in credentials else "password"
    if not email:
        return audit_record(
            action=AuditEntry.Action.SIGN_IN_FAILED,
            actor=None,
            request=request,
            changes={"method": method},
        )
    contact = (
        Contact.objects.filter(Q(email__iexact=email) | Q(user__email__iexact=email))
        .values_list("pk", flat=True)
        .first()
    )
    user_id = (
        User.objects.filter(email__iexact=email).values_list("pk", flat=True).first()
    )
    if contact is not None:
        return audit_record(
            action=AuditEntry.Action.SIGN_IN_FAILED,
            actor=None,
            request=request,
            object_type="crm.user" if user_id else "",
            object_id=user_id or "",
            contact_id=contact,
            changes={"method": method},
            sealed={"email": email},
        )
    return audit_record(
        action=AuditEntry.Action.SIGN_IN_FAILED,
        actor=None,
        request=request,
        object_type="crm.user" if user_id else "",
        object_id=user_id or "",
        changes={"method": method, "email_hmac": email_digest(email)},
    )


def permission_denied_record(*, request: HttpRequest) -> AuditEntry:
    """A 403 answered to a signed-in user or an API client."""
    user = getattr(request, "user", None)
    return audit_record(
        action=AuditEntry.Action.PERMISSION_DENIED,
        request=request,
        contact_id=customer_contact_id(user),
        changes={"method": request.method},
    )


def contact_view_record(*, request: HttpRequest, contact_id: int) -> AuditEntry:
    """A staff member opened a contact's page (UI) or record (API)."""
    return audit_record(
        action=AuditEntry.Action.CONTACT_VIEWED,
        request=request,
        object_type="crm.contact",
        object_id=contact_id,
        contact_id=contact_id,
    )


def export_record(
    *,
    request: HttpRequest,
    what: str,
    file_format: str = "csv",
    filters: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """A staff export of many records (contacts, dashboard figures, survey answers).

    The filters are kept so the log says which records left; free-text searches (which may
    be a name or an email) only as "present"."""
    kept: dict[str, Any] = {}
    for name, value in (filters or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        if name in FREE_TEXT_FILTERS:
            kept[name] = bool(any(values))
        elif name not in ("csrfmiddlewaretoken", "cursor", "format"):
            kept[name] = [str(v)[:100] for v in values]
    return audit_record(
        action=AuditEntry.Action.EXPORT,
        request=request,
        object_type=what,
        changes={"format": file_format, "filters": kept},
    )
