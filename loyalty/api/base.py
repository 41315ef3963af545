"""What the loyalty API modules share: the 409 answer, retry scopes, tier and entry shapes."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.serializers import FieldsBuiltOnce
from crm.idempotency import HEADER
from crm.models import User
from loyalty.models import PointsEntry, Tier
from loyalty.services import LoyaltyConflict

UUID_PATTERN = "[0-9a-fA-F-]{36}"
# A hand adjustment beyond this is a typo (a stray zero), not a gesture of goodwill.
MAX_ADJUSTMENT = 10_000_000
LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
DEFAULT_LANGUAGE = settings.MODELTRANSLATION_DEFAULT_LANGUAGE
CONFLICT_RESPONSE = OpenApiResponse(
    description=_(
        "Refused by the member's or the reward's state, with the reason: not enough points, "
        "reward inactive, out of stock or above the member's tier, voucher already used or "
        "cancelled."
    )
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state.")
    default_code = "conflict"


class ConflictAs409Mixin:
    """Answer a service's ``LoyaltyConflict`` with 409 ``{"detail": reason, "code": …}``."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, LoyaltyConflict):
            exc = Conflict(
                detail={
                    "detail": " ".join(exc.messages),
                    "code": getattr(exc, "code", None) or "conflict",
                }
            )
        return super().handle_exception(exc)  # type: ignore[misc]


def request_user(request: Request) -> User:
    return cast(User, request.user)


def retry_scope(request: Request) -> str | None:
    """Ties a service key to the client's Idempotency-Key, so even a replay after the stored
    answer was purged writes nothing twice."""
    key = request.headers.get(HEADER, "").strip()
    return f"rapport:loyalty:{request.user.pk}:{request.path}:{key}" if key else None


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "benefits", "threshold", "multiplier"]
        read_only_fields = fields


class EntrySerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    description = serializers.CharField(read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = PointsEntry
        fields = [
            "id",
            "kind",
            "points",
            "balance_after",
            "description",
            "reason",
            "source_type",
            "source_id",
            "actor",
            "created_at",
            "expires_at",
            "remaining",
        ]
        read_only_fields = fields

    def get_actor(self, obj: PointsEntry) -> str:
        return obj.actor.display_name if obj.actor else ""


class ExpiringSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)


class EntryCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
