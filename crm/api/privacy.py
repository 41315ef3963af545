"""Data-subject rights over the REST API (Managers and Admins only).

``GET contacts/{id}/export/`` answers the whole archive at once for a contact with fewer rows
than ``PRIVACY_EXPORT_SYNC_LIMIT``, else 202 with a job to poll at ``exports/{public_id}/``;
``POST contacts/{id}/erase/`` erases the contact's personal data (a ``reason`` is required).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import Contact, DataExport, Erasure, User
from crm.permissions import IsManager
from crm.services.privacy import (
    contact_erase,
    data_export_is_available,
    data_export_record_sync,
    data_export_request,
    data_export_row_count,
)
from crm.views.privacy import export_file_response


class ExportSerializer(serializers.Serializer):
    """A personal-data export job: its progress and, once built, where to download it."""

    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    progress = serializers.IntegerField(help_text="Percent of sections done, 0-100.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="Where to poll this export.")
    download_url = serializers.SerializerMethodField(
        help_text="The ZIP (data.json + summary.txt), once ready and until it expires."
    )

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, export: DataExport) -> str:
        return self._absolute(reverse("api:privacy-export", args=[export.public_id]))

    def get_download_url(self, export: DataExport) -> str | None:
        if not data_export_is_available(export):
            return None
        return self._absolute(
            reverse("api:privacy-export-download", args=[export.public_id])
        )


class ExportJobSerializer(serializers.Serializer):
    export = ExportSerializer()


class ArchiveSerializer(serializers.Serializer):
    """Everything held about the contact: one section per app's source of personal data."""

    format = serializers.CharField()
    contact_id = serializers.IntegerField()
    generated_at = serializers.DateTimeField()
    sections = serializers.DictField(
        child=serializers.DictField(),
        help_text='{"crm.profile": {"label": "Profile", "rows": [...]}, ...}',
    )


class ContactExportView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="contacts_personal_data_export",
        summary="Export a contact's personal data",
        responses={
            200: ArchiveSerializer,
            202: OpenApiResponse(
                ExportJobSerializer,
                description="Large contact: an export job to poll at its url.",
            ),
        },
        tags=["privacy"],
    )
    def get(self, request: Request, pk: int) -> Response:
        contact = get_object_or_404(Contact, pk=pk)
        actor = cast(User, request.user)
        rows = data_export_row_count(contact_id=contact.pk)
        if rows < settings.PRIVACY_EXPORT_SYNC_LIMIT:
            archive = data_export_record_sync(
                contact=contact, actor=actor, request=request
            )
            return Response(archive)
        export = data_export_request(
            contact=contact, actor=actor, via=DataExport.Via.API, request=request
        )
        data = ExportSerializer(export, context={"request": request}).data
        return Response({"export": data}, status=status.HTTP_202_ACCEPTED)


class ExportStatusView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="personal_data_exports_retrieve",
        summary="Poll a personal-data export job",
        responses={200: ExportSerializer},
        tags=["privacy"],
    )
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        export = get_object_or_404(DataExport, public_id=public_id)
        return Response(ExportSerializer(export, context={"request": request}).data)


class ExportDownloadView(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        operation_id="personal_data_exports_download",
        summary="Download a personal-data archive (ZIP)",
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            410: OpenApiResponse(description="Expired or not ready."),
        },
        tags=["privacy"],
    )
    def get(self, request: Request, public_id: uuid.UUID) -> Any:
        export = get_object_or_404(DataExport, public_id=public_id)
        if not data_export_is_available(export):
            return Response(
                {"detail": _("This archive is not ready or has expired.")},
                status=status.HTTP_410_GONE,
            )
        return export_file_response(request, export, base_template="base.html")


class ContactEraseView(APIView):
    permission_classes = [IsManager]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    class OutputSerializer(serializers.Serializer):
        contact_id = serializers.IntegerField()
        erased_at = serializers.DateTimeField()
        via = serializers.CharField()
        counts = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(
        operation_id="contacts_personal_data_erase",
        summary="Erase a contact's personal data",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="No reason given."),
            409: OpenApiResponse(description="Already erased."),
        },
        tags=["privacy"],
    )
    def post(self, request: Request, pk: int) -> Response:
        contact = get_object_or_404(Contact, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if contact.erased_at is not None:
            return self._conflict()
        try:
            erasure = contact_erase(
                contact=contact,
                actor=cast(User, request.user),
                reason=data.validated_data["reason"],
                via=Erasure.Via.API,
                request=request,
            )
        except ValidationError as error:
            if "contact" in getattr(error, "message_dict", {}):
                return self._conflict()  # erased meanwhile by someone else
            raise
        return Response(self.OutputSerializer(erasure).data)

    def _conflict(self) -> Response:
        return Response(
            {"detail": _("This contact's personal data was already erased.")},
            status=status.HTTP_409_CONFLICT,
        )
