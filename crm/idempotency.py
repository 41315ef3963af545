"""``Idempotency-Key`` for API writes a client may retry, with Stripe's semantics (DESIGN §6).

Decorate a viewset action with ``@idempotent``. Without the header the action runs as usual.
With it, the first answer to (user, key) is stored and replayed for the same request (same
method, path and body), and any other request with that key gets 422.

The action runs in one transaction with the key's row locked, so a concurrent duplicate waits
for the first one and then replays its answer: the write happens once. Only answers the action
returns are stored; an error it raises (bad input, missing exchange rate, permission) is not,
nor is a 5xx, so the client can fix the cause and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import IdempotencyRecord
from crm.writes import insert_unless_taken, save_fields

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=_(
        "A unique value (e.g. a UUID, at most 255 characters) that makes a retry safe: the same "
        "key with the same request returns the first answer again, with the header "
        "Idempotent-Replayed: true; the same key with another request gets 422. Keys are kept "
        "for 24 hours."
    ),
)
IDEMPOTENCY_KEY_REUSED_RESPONSE = OpenApiResponse(
    description=_("This Idempotency-Key was already used with a different request.")
)

V = TypeVar("V", bound=APIView)
P = ParamSpec("P")
Action = Callable[Concatenate[V, Request, P], Response]


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _(
        "This Idempotency-Key was already used with a different request."
    )
    default_code = "idempotency_key_reused"


def _canonical(value: Any) -> Any:
    """A JSON-able, order-independent form of parsed request data (JSON, form or multipart)."""
    if isinstance(value, QueryDict):
        return {key: [_canonical(v) for v in value.getlist(key)] for key in value}
    if isinstance(value, Mapping):
        return {str(key): _canonical(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)  # the action reads the file again
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    return value


def request_fingerprint(request: Request) -> str:
    """sha256 of method, path and the canonical body: equal for a retry of the same request."""
    body = json.dumps(
        _canonical(request.data),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(
        f"{request.method}\n{request.path}\n{body}".encode()
    ).hexdigest()


def _key(request: Request) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key:
        raise exceptions.ValidationError(
            {HEADER: [_("The Idempotency-Key header is empty.")]}
        )
    if len(key) > MAX_KEY_LENGTH:
        raise exceptions.ValidationError(
            {
                HEADER: [
                    _("Keep the Idempotency-Key to at most %(max)d characters.")
                    % {"max": MAX_KEY_LENGTH}
                ]
            }
        )
    return key


def _insert_or_lock(user_id: int, key: str, fingerprint: str) -> IdempotencyRecord:
    """The (user, key) record, locked until the transaction ends: ours, newly inserted, or
    the one a first request committed.

    ``INSERT … ON CONFLICT DO NOTHING`` waits for a concurrent first insert of the same key to
    commit or roll back: then either nothing is inserted and the committed row is read and
    locked, or ours goes in. A first request that answered 5xx deleted its row, so the loop
    inserts again.
    """
    while True:
        record = IdempotencyRecord(user_id=user_id, key=key, fingerprint=fingerprint)
        if insert_unless_taken(record):  # created_at set as save() sets it
            return record
        existing = (
            IdempotencyRecord.objects.select_for_update()
            .filter(user_id=user_id, key=key)
            .first()
        )
        if existing is not None:
            return existing


def idempotent(action: Action[V, P]) -> Action[V, P]:
    """Run ``action`` at most once per (user, Idempotency-Key) and replay its first answer."""

    @wraps(action)
    def wrapper(
        view: V, request: Request, *args: P.args, **kwargs: P.kwargs
    ) -> Response:
        key = _key(request)
        if key is None or not request.user.is_authenticated:
            return action(view, request, *args, **kwargs)
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            record = _insert_or_lock(request.user.pk, key, fingerprint)
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused
            if record.status_code is not None:
                return Response(
                    record.body,
                    status=record.status_code,
                    headers={REPLAYED_HEADER: "true"},
                )
            response = action(view, request, *args, **kwargs)
            if response.status_code >= 500:
                record.delete()  # not an answer worth keeping: a retry runs again
                return response
            record.status_code = response.status_code
            record.body = (
                None
                if response.data is None
                else json.loads(JSONRenderer().render(response.data))
            )
            save_fields(record, "status_code", "body")
            return response

    return wrapper
