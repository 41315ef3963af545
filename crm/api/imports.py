"""Contact imports and exports over the REST API (Managers and Admins only)."""

from __future__ import annotations

import json
from typing import Any, cast

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import selectors, services
from crm.api.pagination import NewestFirstPagination
from crm.importing import ENCODING_CHOICES
from crm.models import Contact, ImportJob, ImportRejection, User
from crm.permissions import IsManager
from crm.services.audit_events import export_record

UUID_PATTERN = "[0-9a-fA-F-]{36}"


class _PassthroughRenderer(BaseRenderer):
    """Lets content negotiation accept ``?format=csv`` (or ``.csv``); the view streams the body."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> Any:
        return data if isinstance(data, bytes | str) else json.dumps(data)


class CSVRenderer(_PassthroughRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"


class VCardRenderer(_PassthroughRenderer):
    media_type = "text/vcard"
    format = "vcard"
    charset = "utf-8"


class JSONErrorsMixin(APIView):
    """Errors are JSON even when a CSV or vCard body was asked for (``?format=csv``)."""

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        request = cast(Request, self.request)
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
        return response


def _manager(request: Request) -> User:
    """The signed-in Manager or Admin (``IsManager`` let the request in)."""
    return cast(User, request.user)


class RejectionPagination(CursorPagination):
    ordering = ("line", "id")
    page_size = 100


@extend_schema_field(OpenApiTypes.STR)  # multipart forms carry it as JSON text
class MappingField(serializers.Field):
    """A JSON object of column → field, sent as text in a multipart form (or as an object)."""

    default_error_messages = {
        "invalid": _(
            "Give the mapping as a JSON object of column names and fields, e.g. "
            '{{"E-mail": "email"}}.'
        )
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            if not data.strip():
                return {}
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


def _file_name(name: str) -> str:
    return f"contacts-{timezone.localdate():%Y%m%d}.{name}"


def _stream(body: Any, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class ImportJobViewSet(
    JSONErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Upload a CSV or vCard file of contacts (answered 202 at once), then follow the job and
    read the report of every rejected row."""

    permission_classes = [IsManager]
    pagination_class = NewestFirstPagination
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_PATTERN
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(label=_("file"))
        mapping = MappingField(
            required=False,
            label=_("column mapping"),
            help_text=_(
                "JSON object: column name → field (given_name, family_name, full_name, "
                "email, phone, company, country, language, timezone, birthday, tags, "
                "lifecycle_stage, consent_marketing_email) or an empty string to ignore "
                "it. Default: the suggested mapping."
            ),
        )
        encoding = serializers.ChoiceField(
            choices=[code for code, _label in ENCODING_CHOICES],
            required=False,
            allow_blank=True,
            label=_("encoding"),
            help_text=_("Empty: detect it."),
        )

    class OutputSerializer(serializers.ModelSerializer):
        id = serializers.UUIDField(source="public_id", read_only=True)
        file_name = serializers.CharField(source="original_name", read_only=True)
        progress = serializers.IntegerField(read_only=True)
        created = serializers.IntegerField(source="created_count", read_only=True)
        updated = serializers.IntegerField(source="updated_count", read_only=True)
        rejected = serializers.IntegerField(source="rejected_count", read_only=True)

        class Meta:
            model = ImportJob
            fields = [
                "id",
                "file_name",
                "status",
                "progress",
                "total_rows",
                "processed_rows",
                "created",
                "updated",
                "rejected",
                "encoding",
                "format",
                "mapping",
                "error",
                "created_at",
                "updated_at",
                "finished_at",
            ]

    class RejectionSerializer(serializers.ModelSerializer):
        class Meta:
            model = ImportRejection
            fields = ["line", "reason", "data"]

    def get_queryset(self) -> QuerySet[ImportJob]:
        return ImportJob.objects.all()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return self.OutputSerializer

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={202: OutputSerializer},
    )
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.import_job_submit(
            upload=data.validated_data["file"],
            actor=_manager(request),
            encoding=data.validated_data.get("encoding", ""),
            mapping=data.validated_data.get("mapping") or None,
        )
        return Response(
            self.OutputSerializer(job).data, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(request=None, responses={202: OutputSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, **kwargs: Any) -> Response:
        """Resume a failed (or stalled) import after its last committed batch."""
        job = services.import_job_retry(job=self.get_object())
        return Response(
            self.OutputSerializer(job).data, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(
        responses={
            (200, "application/json"): RejectionSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
        description="Every rejected row with its line and reason; `report.csv` gives "
        "them as CSV (line, reason, then the row's own columns).",
    )
    @action(
        detail=True,
        renderer_classes=[JSONRenderer, BrowsableAPIRenderer, CSVRenderer],
        pagination_class=RejectionPagination,
    )
    def report(self, request: Request, **kwargs: Any) -> Any:
        job = self.get_object()
        if request.accepted_renderer.format == "csv":
            return _stream(
                services.import_report_csv(job=job),
                "text/csv; charset=utf-8",
                f"import-{job.public_id}-rejected.csv",
            )
        paginator = RejectionPagination()
        page: list[ImportRejection] | None = paginator.paginate_queryset(
            job.rejections.all(), request, view=self
        )
        return paginator.get_paginated_response(
            self.RejectionSerializer(page, many=True).data
        )


EXPORT_PARAMETERS = [
    OpenApiParameter("format", str, enum=["csv", "vcard"], description="Default: csv."),
    OpenApiParameter("q", str, description="Name, email, phone or company."),
    OpenApiParameter("country", str, description="ISO 3166 codes, comma-separated."),
    OpenApiParameter("language", str),
    OpenApiParameter("lifecycle_stage", str),
    OpenApiParameter("tag", str, description="Tag names or ids (all must match)."),
    OpenApiParameter("owner", str, description="User id, `me` or `none`."),
]


def export_params(params: Any) -> dict[str, list[str]]:
    """The contact-list filters in a query string (``search`` is accepted for ``q``)."""
    found = {
        name: params.getlist(name)
        for name in selectors.CONTACT_FILTERS
        if name in params
    }
    if "search" in params and "q" not in found:
        found["q"] = params.getlist("search")
    return found


class ContactExportViewSet(JSONErrorsMixin, viewsets.GenericViewSet):
    """The contacts matching the contact-list filters, streamed as CSV or vCard 4.0."""

    permission_classes = [IsManager]
    renderer_classes = [CSVRenderer, VCardRenderer, JSONRenderer]
    pagination_class = None

    def get_queryset(self) -> QuerySet[Contact]:
        user = _manager(cast(Request, self.request))
        return selectors.contact_filter(
            Contact.objects.visible_to(user),
            export_params(self.request.query_params),
            user=user,
        )

    @extend_schema(
        parameters=EXPORT_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            (200, "text/vcard"): OpenApiResponse(OpenApiTypes.STR),
        },
    )
    def list(self, request: Request) -> StreamingHttpResponse:
        queryset = self.get_queryset()
        export_record(
            request=request._request,
            what="crm.contact",
            file_format=request.accepted_renderer.format or "csv",
            filters=dict(request.query_params.lists()),
        )
        if request.accepted_renderer.format == "vcard":
            return _stream(
                services.contacts_export_vcard(queryset=queryset),
                "text/vcard; charset=utf-8",
                _file_name("vcf"),
            )
        return _stream(
            services.contacts_export_csv(queryset=queryset),
            "text/csv; charset=utf-8",
            _file_name("csv"),
        )
