"""Surveys, results, invitations, responses and reviews over the REST API."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import KeysetPagination, NewestFirstPagination
from crm.models import Contact, Segment, User
from crm.permissions import IsManager, IsStaffMember, ManagerWritesStaffReads
from feedback import services
from feedback.models import Answer, Invitation, Question, Review, Survey
from feedback.models import Response as SurveyResponse
from feedback.selectors import surveys as selectors
from feedback.services.surveys import survey_public_path


class NewestResponseFirst(KeysetPagination):
    ordering = ("-submitted_at", "-id")


def _actor(request: Request) -> User:
    return cast(User, request.user)


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Question
        fields = [
            "id",
            "order",
            "type",
            "text",
            "text_en",
            "text_ko",
            "choices",
            "choices_en",
            "choices_ko",
            "min_value",
            "max_value",
            "required",
            "is_score",
            "show_if",
        ]
        read_only_fields = ["id", "order", "text", "choices"]


class SurveySerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(many=True, required=False)

    class Meta:
        model = Survey
        fields = [
            "id",
            "title",
            "title_en",
            "title_ko",
            "kind",
            "active",
            "follow_up_question",
            "max_reminders",
            "reminder_interval_days",
            "expiry_days",
            "days_after_purchase",
            "questions",
            "created_at",
        ]
        read_only_fields = ["id", "title", "created_at"]


def _question_input(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("id", "order")}


class SurveyViewSet(viewsets.GenericViewSet):
    """Managers build surveys; every staff role reads them and their results."""

    permission_classes = [ManagerWritesStaffReads]
    pagination_class = NewestFirstPagination
    serializer_class = SurveySerializer
    queryset = Survey.objects.none()

    def get_queryset(self) -> QuerySet[Survey]:
        return Survey.objects.prefetch_related(
            Prefetch("questions", queryset=Question.objects.order_by("order"))
        )

    @extend_schema(responses=SurveySerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SurveySerializer(page, many=True).data)

    @extend_schema(responses=SurveySerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(SurveySerializer(self.get_object()).data)

    def _write_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        fields = dict(data)
        if "title_en" in fields and "title" not in fields:
            fields["title"] = fields["title_en"]
        if "questions" in fields:
            fields["questions"] = [_question_input(q) for q in fields["questions"]]
        return fields

    @extend_schema(request=SurveySerializer, responses={201: SurveySerializer})
    def create(self, request: Request) -> Response:
        data = SurveySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = self._write_fields(dict(data.validated_data))
        if not fields.get("title"):
            raise DRFValidationError({"title_en": [_("This field is required.")]})
        survey = services.survey_create(created_by=_actor(request), **fields)
        survey = self.get_queryset().get(pk=survey.pk)
        return Response(SurveySerializer(survey).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SurveySerializer, responses=SurveySerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        survey = self.get_object()
        data = SurveySerializer(survey, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.survey_update(
            survey=survey, **self._write_fields(dict(data.validated_data))
        )
        return Response(SurveySerializer(self.get_queryset().get(pk=survey.pk)).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        survey = get_object_or_404(Survey, pk=pk)
        results = selectors.survey_results(survey=survey)
        results["trend"] = selectors.survey_trend(
            survey=survey, period=request.query_params.get("period", "month")
        )
        return Response(results)


class InvitationSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "survey",
            "contact",
            "url",
            "created_at",
            "send_at",
            "sent_at",
            "expires_at",
            "reminders_sent",
            "responded_at",
            "channel",
            "source",
        ]

    def get_url(self, invitation: Invitation) -> str:
        request = self.context.get("request")
        path = survey_public_path(invitation)
        return request.build_absolute_uri(path) if request else path


class InvitationInputSerializer(serializers.Serializer):
    survey = serializers.IntegerField()
    contacts = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=1000
    )
    segment = serializers.IntegerField(required=False)


class SkippedSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    reason = serializers.CharField()


class InvitationBatchSerializer(serializers.Serializer):
    invited = InvitationSerializer(many=True)
    skipped = SkippedSerializer(many=True)


class InvitationViewSet(viewsets.GenericViewSet):
    """Personal links: staff read; managers send to contacts or a segment."""

    permission_classes = [ManagerWritesStaffReads]
    pagination_class = NewestFirstPagination
    serializer_class = InvitationSerializer
    queryset = Invitation.objects.none()

    def get_queryset(self) -> QuerySet[Invitation]:
        qs = Invitation.objects.all()
        if survey := self.request.query_params.get("survey"):
            qs = qs.filter(survey_id=int(survey) if survey.isdigit() else 0)
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("survey", int)],
        responses=InvitationSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            InvitationSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        request=InvitationInputSerializer, responses={201: InvitationBatchSerializer}
    )
    def create(self, request: Request) -> Response:
        data = InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        survey = Survey.objects.filter(pk=values["survey"]).first()
        if survey is None:
            raise DRFValidationError({"survey": [_("No survey with this id.")]})
        segment = None
        contacts = None
        if "segment" in values:
            segment = Segment.objects.filter(pk=values["segment"]).first()
            if segment is None:
                raise DRFValidationError({"segment": [_("No segment with this id.")]})
        if "contacts" in values:
            contacts = list(Contact.objects.filter(pk__in=values["contacts"]))
            missing = set(values["contacts"]) - {c.pk for c in contacts}
            if missing:
                raise DRFValidationError(
                    {
                        "contacts": [
                            _("No contact with id %(ids)s.")
                            % {"ids": ", ".join(map(str, sorted(missing)))}
                        ]
                    }
                )
        if (segment is None) == (contacts is None):
            raise DRFValidationError(
                {"contacts": [_("Give either contacts or a segment.")]}
            )
        batch = services.invitations_create(
            survey=survey, contacts=contacts, segment=segment
        )
        body = {
            "invited": InvitationSerializer(
                batch.invited, many=True, context={"request": request}
            ).data,
            "skipped": [{"contact": c.pk, "reason": r} for c, r in batch.skipped],
        }
        return Response(body, status=status.HTTP_201_CREATED)


class AnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Answer
        fields = ["question", "value"]


class ResponseSerializer(serializers.ModelSerializer):
    answers = AnswerSerializer(many=True, read_only=True)

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "survey",
            "contact",
            "invitation",
            "submitted_at",
            "language",
            "score",
            "follow_up_task",
            "answers",
        ]


class ResponseViewSet(viewsets.GenericViewSet):
    """Submitted answers, newest first (read-only)."""

    permission_classes = [IsStaffMember]
    pagination_class = NewestResponseFirst
    serializer_class = ResponseSerializer
    queryset = SurveyResponse.objects.none()

    def get_queryset(self) -> QuerySet[SurveyResponse]:
        survey = self.request.query_params.get("survey", "")
        return selectors.response_list(
            survey_id=int(survey) if survey.isdigit() else None
        )

    @extend_schema(
        parameters=[OpenApiParameter("survey", int)],
        responses=ResponseSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ResponseSerializer(page, many=True).data)

    @extend_schema(responses=ResponseSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ResponseSerializer(self.get_object()).data)


class ReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = Review
        fields = [
            "id",
            "contact",
            "rating",
            "text",
            "consent_to_publish",
            "status",
            "featured",
            "language",
            "created_at",
            "moderated_by",
            "moderated_at",
        ]


class ModerationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Review.Status.choices)
    featured = serializers.BooleanField(required=False)


class ReviewViewSet(viewsets.GenericViewSet):
    """Reviews: staff read; managers approve, reject and feature."""

    permission_classes = [IsStaffMember]
    pagination_class = NewestFirstPagination
    serializer_class = ReviewSerializer
    queryset = Review.objects.none()

    def get_queryset(self) -> QuerySet[Review]:
        qs = Review.objects.all()
        if state := self.request.query_params.get("status"):
            qs = qs.filter(status=state)
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=Review.Status.values)],
        responses=ReviewSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ReviewSerializer(page, many=True).data)

    @extend_schema(responses=ReviewSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ReviewSerializer(self.get_object()).data)

    @extend_schema(request=ModerationSerializer, responses=ReviewSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsManager])
    def moderate(self, request: Request, pk: str) -> Response:
        review = self.get_object()
        data = ModerationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_moderate(
            review=review, moderator=_actor(request), **data.validated_data
        )
        return Response(ReviewSerializer(review).data)
