"""The outreach outbox over the REST API: read-only, for staff."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import NewestFirstPagination
from crm.models import OutboundMessage
from crm.outbox import outbox_messages
from crm.permissions import IsStaffMember


class OutboundMessageSerializer(serializers.ModelSerializer):
    occasion_key = serializers.SerializerMethodField()

    class Meta:
        model = OutboundMessage
        fields = [
            "id",
            "contact",
            "occasion",
            "occasion_key",
            "status",
            "skip_reason",
            "language",
            "subject",
            "scheduled_for",
            "sent_at",
        ]
        read_only_fields = fields

    def get_occasion_key(self, message: OutboundMessage) -> str:
        return f"{message.occasion}:{message.occurrence}"


class OutboundMessageViewSet(viewsets.GenericViewSet):
    """Every outbox message, newest first; filter by contact, status (comma-separated), occasion."""

    permission_classes = [IsStaffMember]
    pagination_class = NewestFirstPagination
    serializer_class = OutboundMessageSerializer
    queryset = OutboundMessage.objects.none()

    def get_queryset(self) -> QuerySet[OutboundMessage]:
        params = self.request.query_params
        contact = params.get("contact", "")
        if contact and not contact.isdigit():
            return OutboundMessage.objects.none()
        return outbox_messages(
            status=params.get("status", ""),
            occasion=params.get("occasion", ""),
            contact_id=int(contact) if contact else None,
            occurrence=params.get("occurrence", ""),
        ).select_related(None)

    @extend_schema(
        parameters=[
            OpenApiParameter("contact", int),
            OpenApiParameter(
                "status",
                str,
                description="Statuses, comma-separated: "
                + ", ".join(OutboundMessage.Status.values),
            ),
            OpenApiParameter("occasion", str, description="e.g. `birthday`."),
            OpenApiParameter(
                "occurrence",
                str,
                description="One occurrence, e.g. a campaign's id with `occasion=campaign`.",
            ),
        ],
        responses=OutboundMessageSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            OutboundMessageSerializer(page, many=True).data
        )

    @extend_schema(responses=OutboundMessageSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(OutboundMessageSerializer(self.get_object()).data)
