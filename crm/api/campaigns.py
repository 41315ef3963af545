"""Campaigns over the REST API: staff read, managers write, schedule, test and cancel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api.pagination import NewestFirstPagination
from crm.models import Campaign, Contact, OutboundMessage, Segment, User
from crm.outbox import outbox_counts_by_occurrence
from crm.permissions import IsManager, IsStaffMember
from crm.services.message_templates import TRANSLATED, errors_by_form_field
from crm.services.outreach import CAMPAIGN

MessageStatus = OutboundMessage.Status


class CampaignMessageCountsSerializer(serializers.Serializer):
    """The campaign's outbox rows by status (all zero before its day)."""

    planned = serializers.IntegerField()
    queued = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unknown = serializers.IntegerField()


def _actor(request: Request) -> User:
    return cast(User, request.user)


@contextmanager
def _service_call() -> Iterator[None]:
    """Run a campaign write; its errors name the API's (translated) fields."""
    try:
        yield
    except ValidationError as error:
        raise errors_by_form_field(error) from None


class CampaignViewSet(viewsets.GenericViewSet):
    """One-off messages to a segment (or chosen contacts) on a day, at a local time in each
    recipient's own time zone. Errors name the field."""

    pagination_class = NewestFirstPagination
    queryset = Campaign.objects.none()  # for the schema; get_queryset() is real

    class OutputSerializer(serializers.ModelSerializer):
        contact_ids = serializers.SerializerMethodField()
        message_counts = serializers.SerializerMethodField()

        class Meta:
            model = Campaign
            fields = [
                "id",
                "name",
                "status",
                "send_on",
                "send_time",
                "segment",
                "contact_ids",
                "purpose",
                *TRANSLATED,
                "message_counts",
                "created_by",
                "scheduled_at",
                "cancelled_at",
                "created_at",
                "updated_at",
            ]
            read_only_fields = fields

        def get_contact_ids(self, obj: Campaign) -> list[int]:
            return sorted(contact.pk for contact in obj.contacts.all())

        @extend_schema_field(CampaignMessageCountsSerializer)
        def get_message_counts(self, obj: Campaign) -> dict[str, int]:
            counts = self.context["counts"].get(str(obj.pk), {})
            return {value: counts.get(value, 0) for value in MessageStatus.values}

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        segment = serializers.PrimaryKeyRelatedField(
            queryset=Segment.objects.all(), allow_null=True, required=False
        )
        contact_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False
        )
        purpose = serializers.ChoiceField(
            choices=Campaign.Purpose.choices, required=False
        )
        send_on = serializers.DateField()
        send_time = serializers.TimeField(
            required=False, help_text="In each recipient's own time zone."
        )

        def get_fields(self) -> dict[str, serializers.Field]:
            texts = {
                name: serializers.CharField(
                    max_length=255 if name.startswith("subject_") else None,
                    required=name.endswith(f"_{settings.LANGUAGE_CODE}"),
                    allow_blank=True,
                    trim_whitespace=False,
                )
                for name in TRANSLATED
            }
            return {**super().get_fields(), **texts}

    class RecipientsSerializer(serializers.Serializer):
        total = serializers.IntegerField()
        reachable = serializers.IntegerField(help_text="Will receive it.")
        no_consent = serializers.IntegerField()
        no_email = serializers.IntegerField()

    class TestSendInputSerializer(serializers.Serializer):
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(),
            required=False,
            help_text="Render it as this contact gets it (default: the first recipient).",
        )

    class TestSendOutputSerializer(serializers.Serializer):
        sent_to = serializers.EmailField()
        subject = serializers.CharField()
        language = serializers.CharField()

    class CancelOutputSerializer(serializers.Serializer):
        cancelled = serializers.IntegerField(help_text="Planned messages stopped.")

    serializer_class = OutputSerializer

    def get_permissions(self) -> list[Any]:
        if self.action in ("list", "retrieve", "recipients"):
            return [IsStaffMember()]
        return [IsManager()]

    def get_queryset(self) -> QuerySet[Campaign]:
        return Campaign.objects.prefetch_related(
            Prefetch("contacts", queryset=Contact.objects.only("id"))
        )

    def _output(self, campaigns: list[Campaign]) -> list[dict[str, Any]]:
        counts = outbox_counts_by_occurrence(
            occasion=CAMPAIGN, occurrences=[str(c.pk) for c in campaigns]
        )
        return list(
            self.OutputSerializer(campaigns, many=True, context={"counts": counts}).data
        )

    def _one(self, pk: int) -> Response:
        return Response(self._output([self.get_queryset().get(pk=pk)])[0])

    @extend_schema(responses=OutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response(self._output(page))

    @extend_schema(responses=OutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self._output([self.get_object()])[0])

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _service_call():
            campaign = services.campaign_create(
                actor=_actor(request), **data.validated_data
            )
        response = self._one(campaign.pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        with _service_call():
            services.campaign_update(
                campaign=campaign, actor=_actor(request), **data.validated_data
            )
        return self._one(campaign.pk)

    def destroy(self, request: Request, pk: str) -> Response:
        services.campaign_delete(campaign=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=RecipientsSerializer)
    @action(detail=True, methods=["get"])
    def recipients(self, request: Request, pk: str) -> Response:
        """How many it reaches as of now, and why the others would be skipped."""
        summary = selectors.campaign_recipient_summary(campaign=self.get_object())
        return Response(self.RecipientsSerializer(summary).data)

    @extend_schema(request=TestSendInputSerializer, responses=TestSendOutputSerializer)
    @action(detail=True, methods=["post"], url_path="test-send")
    def test_send(self, request: Request, pk: str) -> Response:
        """Email it to yourself, marked as a test, as a recipient would get it."""
        data = self.TestSendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = _actor(request)
        subject, _text, language = services.campaign_test_send(
            campaign=self.get_object(),
            actor=actor,
            contact=data.validated_data.get("contact"),
        )
        return Response(
            self.TestSendOutputSerializer(
                {"sent_to": actor.email, "subject": subject, "language": language}
            ).data
        )

    @extend_schema(request=None, responses=OutputSerializer)
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str) -> Response:
        """Draft → scheduled: it goes out on its day at its time in each recipient's zone."""
        campaign = services.campaign_schedule(
            campaign=self.get_object(), actor=_actor(request), now=timezone.now()
        )
        return self._one(campaign.pk)

    @extend_schema(request=None, responses=CancelOutputSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Stop it; its planned messages are skipped as "cancelled"."""
        stopped = services.campaign_cancel(
            campaign=self.get_object(), actor=_actor(request), now=timezone.now()
        )
        return Response(self.CancelOutputSerializer({"cancelled": stopped}).data)
