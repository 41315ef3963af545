"""Outreach message templates over the REST API: staff read and preview, managers change."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm import services
from crm.api.pagination import KeysetPagination
from crm.models import Contact, MessageTemplate, User
from crm.permissions import IsManager, IsStaffMember
from crm.services.message_templates import TRANSLATED


class OccasionOrderPagination(KeysetPagination):
    """Templates in the editor's order: by occasion, then step."""

    ordering = ("occasion", "step", "id")


def _texts(required: bool = False) -> dict[str, serializers.Field]:
    """The translated subject/text fields (``subject_en``, ``body_text_ko``, ...)."""
    return {
        name: serializers.CharField(
            max_length=255 if name.startswith("subject_") else None,
            required=required,
            allow_blank=True,
            trim_whitespace=False,
        )
        for name in TRANSLATED
    }


class MessageTemplateViewSet(viewsets.GenericViewSet):
    """Each occasion's message: texts per language, consent purpose, activity and timing.

    Unknown placeholders or template tags are refused with a 400 naming the field.
    """

    pagination_class = OccasionOrderPagination
    queryset = MessageTemplate.objects.none()  # for the schema; get_queryset() is real

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = MessageTemplate
            fields = [
                "id",
                "occasion",
                "step",
                "purpose",
                "active",
                "send_time",
                "delay_days",
                "anchor",
                "exit_after_purchases",
                *TRANSLATED,
                "updated_at",
            ]
            read_only_fields = fields

    class InputSerializer(serializers.Serializer):
        purpose = serializers.ChoiceField(
            choices=MessageTemplate.Purpose.choices, required=False
        )
        active = serializers.BooleanField(required=False)
        send_time = serializers.TimeField(required=False)
        delay_days = serializers.IntegerField(
            min_value=0, required=False, allow_null=True
        )
        anchor = serializers.ChoiceField(
            choices=MessageTemplate.Anchor.choices, required=False
        )
        exit_after_purchases = serializers.IntegerField(
            min_value=1, required=False, allow_null=True
        )

        def get_fields(self) -> dict[str, serializers.Field]:
            return {**super().get_fields(), **_texts()}

    class PreviewInputSerializer(serializers.Serializer):
        contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all())

        def get_fields(self) -> dict[str, serializers.Field]:
            # Optional unsaved texts: preview an edit before saving it.
            return {**super().get_fields(), **_texts()}

    class PreviewOutputSerializer(serializers.Serializer):
        subject = serializers.CharField()
        text = serializers.CharField()
        language = serializers.CharField()

    serializer_class = OutputSerializer

    def get_permissions(self) -> list[Any]:
        if self.action == "partial_update":
            return [IsManager()]
        return [IsStaffMember()]

    def get_queryset(self) -> QuerySet[MessageTemplate]:
        return MessageTemplate.objects.all()

    @extend_schema(responses=OutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(responses=OutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(self.get_object()).data)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        template = services.message_template_update(
            template=self.get_object(),
            actor=cast(User, request.user),
            **data.validated_data,
        )
        return Response(self.OutputSerializer(template).data)

    @extend_schema(request=PreviewInputSerializer, responses=PreviewOutputSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        """The message a contact would get, in their language (English when the
        translation is empty); unsaved texts in the body are previewed and checked."""
        template = self.get_object()
        data = self.PreviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        contact = fields.pop("contact")
        for name, value in fields.items():
            setattr(template, name, value)  # an unsaved copy: never saved here
        if fields:
            template.clean()  # a ValidationError is a 400 naming the field
        subject, text, language = services.message_template_preview(
            template=template, contact=contact
        )
        return Response(
            self.PreviewOutputSerializer(
                {"subject": subject, "text": text, "language": language}
            ).data
        )
