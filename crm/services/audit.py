"""The audit log: record what happened, read it back, and forget a contact's values.

``audit_record`` is the one way in. Anything that concerns a contact's personal data goes in
``sealed`` (encrypted with the contact's ``ContactKey``); ``changes`` is for values that are not
a contact's personal data. ``contact_keys_destroy`` (called by erasure) deletes the key, after
which ``audit_unseal`` answers ``None`` for every entry about that contact.
"""

from __future__ import annotations

import json
from contextvars import ContextVar, Token
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from crm.models import AuditEntry, ContactKey, User

# The request being answered (set by crm.middleware.AuditMiddleware), so that services deep in a
# call chain record the actor's address without every signature carrying the request.
_current_request: ContextVar[HttpRequest | None] = ContextVar(
    "audit_current_request", default=None
)


def audit_request_bind(request: HttpRequest | None) -> Token[HttpRequest | None]:
    """Make ``request`` the one entries default to, until ``audit_request_unbind``."""
    return _current_request.set(request)


def audit_request_unbind(token: Token[HttpRequest | None]) -> None:
    _current_request.reset(token)


def request_ip(request: HttpRequest | None) -> str | None:
    """The client's address as the web server saw it (set a trusted proxy to rewrite it)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _contact_fernet(contact_id: int, *, create: bool) -> Fernet | None:
    row = ContactKey.objects.filter(contact_id=contact_id).first()
    if row is None and create:
        try:
            with transaction.atomic():
                row = ContactKey.objects.create(
                    contact_id=contact_id, key=Fernet.generate_key()
                )
        except IntegrityError:  # created by a concurrent writer
            row = ContactKey.objects.get(contact_id=contact_id)
    return Fernet(bytes(row.key)) if row is not None else None


def audit_record(
    *,
    action: str,
    actor: User | Any | None = None,
    request: HttpRequest | None = None,
    object_type: str = "",
    object_id: Any = "",
    contact_id: int | None = None,
    changes: dict[str, Any] | None = None,
    sealed: dict[str, Any] | None = None,
    path: str | None = None,
) -> AuditEntry:
    """Append one entry. ``sealed`` needs ``contact_id``: it is encrypted with that contact's key.

    A staff actor is named by email; a customer actor only by id (their email would be their
    personal data in clear), so put what identifies them in ``sealed``. Likewise the address of
    anyone but staff acting on a contact (the customer, an unsubscribe link, a sign-in attempt
    with their email) is sealed with the contact's values rather than kept in clear.
    """
    if sealed and contact_id is None:
        raise ValueError("sealed values need the contact they belong to")
    if request is None:
        request = _current_request.get()
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    actor_id, actor_label = None, ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id = actor.pk
        if getattr(actor, "is_staff", False):
            actor_label = actor.email
    ip_address = request_ip(request)
    if ip_address and contact_id is not None and not actor_label:
        sealed, ip_address = {**(sealed or {}), "ip_address": ip_address}, None
    token = None
    if sealed:
        fernet = _contact_fernet(contact_id, create=True)  # type: ignore[arg-type]
        assert fernet is not None
        token = fernet.encrypt(json.dumps(sealed, default=str).encode())
    return AuditEntry.objects.create(
        at=timezone.now(),
        action=action,
        actor_id=actor_id,
        actor_label=actor_label,
        ip_address=ip_address,
        path=(
            path if path is not None else (request.path if request is not None else "")
        )[:500],
        object_type=object_type,
        object_id=str(object_id or "")[:64],
        contact_id=contact_id,
        changes=changes or {},
        sealed=token,
    )


def audit_unseal(entry: AuditEntry) -> dict[str, Any] | None:
    """The sealed values of an entry, or None when there are none or the key was destroyed."""
    if not entry.sealed or entry.contact_id is None:
        return None
    fernet = _contact_fernet(entry.contact_id, create=False)
    if fernet is None:
        return None
    try:
        return json.loads(fernet.decrypt(bytes(entry.sealed)))
    except InvalidToken:
        return None


def contact_keys_destroy(*, contact_id: int) -> int:
    """Make every sealed audit value about the contact unreadable, for good."""
    deleted, _ = ContactKey.objects.filter(contact_id=contact_id).delete()
    return deleted
