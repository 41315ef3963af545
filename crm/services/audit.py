"""The audit log: record what happened, read it back, and forget a contact's values.

``audit_record`` is the one way in. Anything that concerns a contact's personal data goes in
``sealed`` (encrypted with the contact's ``ContactKey``); ``changes`` is for values that are not
a contact's personal data. ``contact_keys_destroy`` (called by erasure) deletes the key, after
which ``audit_unseal`` answers ``None`` for every entry about that contact.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from contextvars import ContextVar, Token
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.http import HttpRequest
from django.utils import timezone

from crm.models import AuditEntry, ContactKey, User
from crm.querycache import cached_rows
from crm.writes import insert

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


def contact_keys(contact_ids: set[int], *, create: bool = True) -> dict[int, Fernet]:
    """Each contact's sealing key; with ``create``, missing keys are made first (a concurrent
    writer making the same key is harmless: the unique contact_id keeps one)."""
    if not contact_ids:
        return {}
    if len(contact_ids) == 1 or not create:
        # One member's write, the common case: read first, usually the only statement.
        keys = _stored_keys(contact_ids)
        if create and (missing := contact_ids - keys.keys()):
            _create_keys(missing)
            keys.update(_stored_keys(missing))
        return keys
    _create_keys(contact_ids)  # a batch (an import): two statements whatever it holds
    return _stored_keys(contact_ids)


def _create_keys(contact_ids: set[int]) -> None:
    ContactKey.objects.bulk_create(
        [ContactKey(contact_id=cid, key=Fernet.generate_key()) for cid in contact_ids],
        ignore_conflicts=True,
    )


def _stored_keys(contact_ids: set[int]) -> dict[int, Fernet]:
    if (
        len(contact_ids) == 1
    ):  # one member's write: the common case, a statement built once
        (contact_id,) = contact_ids
        found = cached_rows(
            "crm.contact_key",
            lambda contact_id: ContactKey.objects.filter(contact_id=contact_id),
            contact_id=contact_id,
        )
        return {row.contact_id: Fernet(bytes(row.key)) for row in found}
    return {
        contact_id: Fernet(bytes(key))
        for contact_id, key in ContactKey.objects.filter(
            contact_id__in=contact_ids
        ).values_list("contact_id", "key")
    }


def _entry(
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
) -> tuple[AuditEntry, dict[str, Any] | None]:
    """The unsaved entry and the values still to seal under ``contact_id``'s key."""
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
    entry = AuditEntry(
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
    )
    return entry, sealed or None


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
    keys: dict[int, Fernet] | None = None,
) -> AuditEntry:
    """Append one entry (see ``audit_record_many`` for what each field holds)."""
    item = {
        "action": action,
        "actor": actor,
        "request": request,
        "object_type": object_type,
        "object_id": object_id,
        "contact_id": contact_id,
        "changes": changes,
        "sealed": sealed,
        "path": path,
    }
    return audit_record_many([item], keys=keys)[0]


def audit_record_many(
    items: list[dict[str, Any]], *, keys: dict[int, Fernet] | None = None
) -> list[AuditEntry]:
    """Append entries in one INSERT. Each item takes ``action`` and optionally ``actor``,
    ``request``, ``object_type``, ``object_id``, ``contact_id``, ``changes``, ``sealed``,
    ``path``; ``sealed`` needs ``contact_id``: it is encrypted with that contact's key.

    A staff actor is named by email; a customer actor only by id (their email would be their
    personal data in clear), so put what identifies them in ``sealed``. Likewise the address of
    anyone but staff acting on a contact (the customer, an unsubscribe link, a sign-in attempt
    with their email) is sealed with the contact's values rather than kept in clear.

    ``keys`` are the contacts' keys when the caller read them already (``contact_keys``),
    e.g. before taking a row lock it holds until commit.
    """
    built = [_entry(**item) for item in items]
    needed = {e.contact_id for e, values in built if values and e.contact_id}
    if keys is None or not needed <= keys.keys():
        keys = contact_keys(needed)
    for entry, values in built:
        if values:
            assert entry.contact_id is not None
            entry.sealed = keys[entry.contact_id].encrypt(
                json.dumps(values, default=str).encode()
            )
    if len(built) == 1:  # one write's entry, the usual case: a statement built once
        insert(built[0][0])
        return [built[0][0]]
    return AuditEntry.objects.bulk_create([entry for entry, _values in built])


def audit_unseal_many(
    entries: Iterable[AuditEntry],
) -> dict[int, dict[str, Any] | None]:
    """The sealed values of each entry by id (None: nothing sealed, or the key is destroyed),
    reading every contact's key in one query."""
    entries = list(entries)
    keys = contact_keys(
        {e.contact_id for e in entries if e.sealed and e.contact_id}, create=False
    )
    values: dict[int, dict[str, Any] | None] = {}
    for entry in entries:
        fernet = keys.get(entry.contact_id) if entry.contact_id else None
        values[entry.pk] = None
        if fernet is not None and entry.sealed:
            with contextlib.suppress(InvalidToken):  # a foreign token reads as erased
                values[entry.pk] = json.loads(fernet.decrypt(bytes(entry.sealed)))
    return values


def audit_unseal(entry: AuditEntry) -> dict[str, Any] | None:
    """The sealed values of one entry (see ``audit_unseal_many``)."""
    return audit_unseal_many([entry])[entry.pk]


def contact_keys_destroy(*, contact_id: int) -> int:
    """Make every sealed audit value about the contact unreadable, for good."""
    deleted, _ = ContactKey.objects.filter(contact_id=contact_id).delete()
    return deleted
