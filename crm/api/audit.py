"""The audit log (admins, read only) and a contact's consent ledger over the REST API."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.pagination import KeysetPagination
from crm.models import AuditEntry, Consent, ConsentEvent
from crm.roles import AUDIT_LOG_ROLES, role_of
from crm.selectors_audit import audit_entry_list, audit_unseal_many


class IsAuditReader(BasePermission):
    """The audit log is for admins only (crm.roles.AUDIT_LOG_ROLES)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return role_of(request.user) in AUDIT_LOG_ROLES


class NewestEventFirstPagination(KeysetPagination):
    ordering = ("-at", "-id")


# --- Consent ledger (served by ContactViewSet.consents) ---------------------------------------


class ConsentEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "purpose",
            "granted",
            "source",
            "wording_version",
            "at",
            "actor",
            "actor_name",
        ]

    def get_actor_name(self, obj: ConsentEvent) -> str | None:
        """Staff by name; a customer's own change as null (their name is the contact's)."""
        if obj.actor is None or not obj.actor.is_staff:
            return None
        return obj.actor.display_name


class ConsentHistoryPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ConsentEventSerializer(many=True)


class ConsentChangeInputSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Consent.Purpose.choices)
    granted = serializers.BooleanField()
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Consent.Source.choices,
        help_text="Where the answer came from (portal, staff, import, api, unsubscribe).",
    )
    wording_version = serializers.CharField(
        max_length=40,
        required=False,
        help_text="The consent text agreed to; defaults to CONSENT_WORDING_VERSION.",
    )


class ConsentStateSerializer(serializers.Serializer):
    purpose = serializers.CharField()
    granted = serializers.BooleanField()
    source = serializers.CharField()  # type: ignore[assignment]
    wording_version = serializers.CharField()
    changed_at = serializers.DateTimeField()
    changed = serializers.BooleanField(
        help_text="False when the contact already had this answer (nothing recorded)."
    )


# --- Audit log --------------------------------------------------------------------------------


class AuditEntrySerializer(serializers.ModelSerializer):
    sealed = serializers.SerializerMethodField(
        help_text="The sealed values, unsealed; null when none or erased."
    )
    erased = serializers.SerializerMethodField(
        help_text="True when the entry had sealed values and the contact's key is destroyed."
    )

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "action",
            "actor_id",
            "actor_label",
            "ip_address",
            "path",
            "object_type",
            "object_id",
            "contact_id",
            "changes",
            "sealed",
            "erased",
        ]

    def _unsealed(self, obj: AuditEntry) -> dict[str, Any] | None:
        values: dict[int, Any] = self.context.get("unsealed") or {}
        if obj.pk not in values:
            values.update(audit_unseal_many([obj]))
        return values[obj.pk]

    def get_sealed(self, obj: AuditEntry) -> dict[str, Any] | None:
        return self._unsealed(obj)

    def get_erased(self, obj: AuditEntry) -> bool:
        return bool(obj.sealed) and self._unsealed(obj) is None


AUDIT_FILTERS = [
    OpenApiParameter("action", str, enum=list(AuditEntry.Action.values)),
    OpenApiParameter("actor", int, description="The acting user's id."),
    OpenApiParameter("contact", int, description="The contact the entry concerns."),
    OpenApiParameter(
        "since", OpenApiTypes.DATETIME, description="ISO date or date-time (inclusive)."
    ),
    OpenApiParameter(
        "until",
        OpenApiTypes.DATETIME,
        description="ISO date (that whole day) or date-time (inclusive).",
    ),
]


class AuditEntryViewSet(viewsets.GenericViewSet):
    """The append-only audit log: admins read it; nobody changes it."""

    permission_classes = [IsAuditReader]
    pagination_class = NewestEventFirstPagination
    serializer_class = AuditEntrySerializer
    queryset = AuditEntry.objects.none()  # for the schema; get_queryset() filters

    def get_queryset(self) -> QuerySet[AuditEntry]:
        if self.action != "list":
            return AuditEntry.objects.all()
        return audit_entry_list(filters=self.request.query_params)

    @extend_schema(parameters=AUDIT_FILTERS)
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        context = {"request": request, "unsealed": audit_unseal_many(page or [])}
        return self.get_paginated_response(
            AuditEntrySerializer(page, many=True, context=context).data
        )

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(
            AuditEntrySerializer(self.get_object(), context={"request": request}).data
        )
