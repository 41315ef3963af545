"""``/api/v1/analytics/metrics/`` and ``/api/v1/analytics/cohorts/``: the dashboard as JSON."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.forms import owner_id, staff_users
from analytics.metrics import Filters
from analytics.periods import Period
from analytics.services import segment_members_ensure
from crm.models import Segment, User
from crm.permissions import IsStaffMember

MAX_DAYS = 3 * 366 + 1


class PeriodQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        label=_("start"), help_text=_("First day, YYYY-MM-DD.")
    )
    end = serializers.DateField(label=_("end"), help_text=_("Last day, YYYY-MM-DD."))
    segment = serializers.PrimaryKeyRelatedField(
        queryset=Segment.objects.all(), required=False, label=_("segment")
    )
    country = serializers.ChoiceField(
        choices=list(countries), required=False, label=_("country")
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES, required=False, label=_("language")
    )
    owner = serializers.CharField(
        required=False,
        label=_("owner"),
        help_text=_(
            '"me" for the contacts you own, or the id of a staff user for theirs.'
        ),
    )

    def validate_owner(self, value: str) -> str:
        if value == "me" or (
            value.isdigit() and staff_users().filter(pk=int(value)).exists()
        ):
            return value
        raise serializers.ValidationError(
            _('Give "me" or the id of an active staff user.')
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError(
                {"end": _("The end date cannot be before the start date.")}
            )
        if (attrs["end"] - attrs["start"]).days >= MAX_DAYS:
            raise serializers.ValidationError(
                {"end": _("A period can be at most three years long.")}
            )
        return attrs


def _parse(request: Request) -> tuple[Period, Filters]:
    """The period and filters of the query string (``owner=me`` is the caller)."""
    query = PeriodQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    segment = data.get("segment")
    if segment is not None:
        segment_members_ensure(segment=segment)  # a segment newer than the rollups
    return Period(data["start"], data["end"]), Filters(
        segment_id=segment.pk if segment else None,
        country=data.get("country", "").upper(),
        language=data.get("language", ""),
        owner_id=owner_id(data.get("owner", ""), cast(User, request.user)),
    )


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    previous_start = serializers.DateField()
    previous_end = serializers.DateField()


class MetricSerializer(serializers.Serializer):
    name = serializers.CharField(
        help_text=_("The metric's name in the reader's language.")
    )
    value = serializers.JSONField(
        allow_null=True,
        help_text=_(
            "A number (money: a decimal string in the base currency); null = not enough data."
        ),
    )
    previous = serializers.JSONField(allow_null=True)
    change = serializers.JSONField(allow_null=True)
    unit = serializers.CharField()
    formula = serializers.CharField()
    inputs = serializers.DictField()


class MetricsOutputSerializer(serializers.Serializer):
    period = PeriodSerializer()
    filters = serializers.DictField()
    base_currency = serializers.CharField()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    metrics = serializers.DictField(child=MetricSerializer())


class CohortRowSerializer(serializers.Serializer):
    cohort = serializers.CharField()
    customers = serializers.IntegerField()
    retention = serializers.ListField(child=serializers.FloatField(allow_null=True))


class CohortsOutputSerializer(serializers.Serializer):
    period = PeriodSerializer()
    rows = CohortRowSerializer(many=True)


def _period(period: Period) -> dict[str, Any]:
    previous = period.previous()
    return {
        "start": period.start,
        "end": period.end,
        "days": period.days,
        "previous_start": previous.start,
        "previous_end": previous.end,
    }


class MetricsView(APIView):
    """Every dashboard metric of a period with its formula and inputs; percentages are 0-100.

    Agents get the reduced set (no revenue, average order value or lifetime value)."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        parameters=[PeriodQuerySerializer],
        responses=MetricsOutputSerializer,
        operation_id="analytics_metrics_retrieve",
    )
    def get(self, request: Request) -> Response:
        period, filters = _parse(request)
        refreshed = selectors.refreshed_at()
        metrics = selectors.period_metrics(
            user=cast(User, request.user),
            period=period,
            filters=filters,
            refreshed=refreshed,
        )
        data = {
            "period": _period(period),
            "filters": filters.as_dict(),
            "base_currency": settings.BASE_CURRENCY,
            "refreshed_at": refreshed,
            "metrics": {key: metric.as_api() for key, metric in metrics.items()},
        }
        return Response(MetricsOutputSerializer(data).data)


class CohortsView(APIView):
    """The cohort retention matrix for the 12 months ending with the period's last day."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        parameters=[PeriodQuerySerializer],
        responses=CohortsOutputSerializer,
        operation_id="analytics_cohorts_retrieve",
    )
    def get(self, request: Request) -> Response:
        period, filters = _parse(request)
        rows = selectors.cohorts(period=period, filters=filters)
        data = {"period": _period(period), "rows": [row.as_dict() for row in rows]}
        return Response(CohortsOutputSerializer(data).data)


urlpatterns = [
    path("analytics/metrics/", MetricsView.as_view(), name="analytics-metrics"),
    path("analytics/cohorts/", CohortsView.as_view(), name="analytics-cohorts"),
]
