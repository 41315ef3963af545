"""Survey reads: lists, results with their formulas, trends, verbatims and the CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils.translation import gettext as _

from crm.models import Contact, Segment
from crm.selectors import contact_filter
from crm.services.exports import csv_lines
from feedback.models import Answer, Invitation, Question, Response, Survey


def _pct(part: int, whole: int) -> Decimal | None:
    """part / whole x 100 to one decimal; None (not available) when whole is 0 (DESIGN §5)."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class Metric:
    """A number with the formula and the inputs behind it; ``value`` None = not available."""

    name: str
    value: Decimal | None
    formula: str
    inputs: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": None if self.value is None else str(self.value),
            "formula": self.formula,
            "inputs": self.inputs,
        }


def survey_list() -> QuerySet[Survey]:
    return Survey.objects.annotate(
        invited_count=Count("invitations", distinct=True),
        response_count=Count("responses", distinct=True),
    ).order_by("-created_at", "-id")


def survey_detail(*, survey_id: int) -> Survey:
    return Survey.objects.prefetch_related(
        Prefetch("questions", queryset=Question.objects.order_by("order"))
    ).get(pk=survey_id)


def _responses(
    survey: Survey,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> QuerySet[Response]:
    """Responses in the period (start, end] (DESIGN §5)."""
    qs = Response.objects.filter(survey=survey)
    if start is not None:
        qs = qs.filter(submitted_at__gt=start)
    if end is not None:
        qs = qs.filter(submitted_at__lte=end)
    return qs


def score_metric(kind: str, distribution: Mapping[int, int]) -> Metric | None:
    """The kind's headline metric from a {score: count} distribution."""
    total = sum(distribution.values())
    if kind == Survey.Kind.NPS:
        promoters = sum(n for s, n in distribution.items() if s >= 9)
        detractors = sum(n for s, n in distribution.items() if s <= 6)
        value = (
            None
            if total == 0
            else (Decimal(promoters - detractors) * 100 / Decimal(total)).quantize(
                Decimal("0.1"), rounding=ROUND_HALF_UP
            )
        )
        return Metric(
            name="NPS",
            value=value,
            formula=_("NPS = % promoters (9-10) - % detractors (0-6)"),
            inputs={
                "promoters": promoters,
                "passives": total - promoters - detractors,
                "detractors": detractors,
                "responses": total,
            },
        )
    if kind == Survey.Kind.CSAT:
        satisfied = sum(n for s, n in distribution.items() if s >= 4)
        return Metric(
            name="CSAT",
            value=_pct(satisfied, total),
            formula=_("CSAT = answers of 4 or 5 ÷ all answers x 100"),
            inputs={"satisfied": satisfied, "responses": total},
        )
    if kind == Survey.Kind.CES:
        points = sum(s * n for s, n in distribution.items())
        value = (
            None
            if total == 0
            else (Decimal(points) / Decimal(total)).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
        )
        return Metric(
            name="CES",
            value=value,
            formula=_("CES = sum of effort scores ÷ number of answers (1-7)"),
            inputs={"sum": points, "responses": total},
        )
    return None


def survey_results(
    *,
    survey: Survey,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Any]:
    """Response rate, score distribution and the kind's metric, each with its formula."""
    invitations = Invitation.objects.filter(survey=survey, sent_at__isnull=False)
    if start is not None:
        invitations = invitations.filter(sent_at__gt=start)
    if end is not None:
        invitations = invitations.filter(sent_at__lte=end)
    counts = invitations.aggregate(
        sent=Count("pk"), answered=Count("pk", filter=Q(responded_at__isnull=False))
    )
    responses = _responses(survey, start=start, end=end)
    rows = (
        responses.filter(score__isnull=False)
        .values("score")
        .annotate(n=Count("pk"))
        .order_by("score")
    )
    distribution: dict[int, int] = {cast(int, row["score"]): row["n"] for row in rows}
    low, high = {
        Survey.Kind.NPS: (0, 10),
        Survey.Kind.CSAT: (1, 5),
        Survey.Kind.CES: (1, 7),
    }.get(survey.kind, (None, None))  # type: ignore[call-overload]
    if low is not None:
        distribution = {s: distribution.get(s, 0) for s in range(low, high + 1)}
    response_rate = Metric(
        name=_("Response rate"),
        value=_pct(counts["answered"], counts["sent"]),
        formula=_("Response rate = answered invitations ÷ sent invitations x 100"),
        inputs={"answered": counts["answered"], "sent": counts["sent"]},
    )
    metric = score_metric(survey.kind, distribution)
    return {
        "survey_id": survey.pk,
        "kind": survey.kind,
        "responses": responses.count(),
        "response_rate": response_rate.as_dict(),
        "score": metric.as_dict() if metric else None,
        "distribution": [{"score": s, "count": n} for s, n in distribution.items()],
    }


def survey_trend(
    *,
    survey: Survey,
    period: str = "month",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The kind's metric per week or month, oldest first."""
    trunc = TruncWeek if period == "week" else TruncMonth
    rows = (
        _responses(survey, start=start, end=end)
        .filter(score__isnull=False)
        .annotate(bucket=trunc("submitted_at"))
        .values("bucket", "score")
        .annotate(n=Count("pk"))
        .order_by("bucket", "score")
    )
    buckets: dict[Any, dict[int, int]] = {}
    for row in rows:
        buckets.setdefault(row["bucket"], {})[cast(int, row["score"])] = row["n"]
    trend = []
    for bucket, distribution in buckets.items():
        metric = score_metric(survey.kind, distribution)
        trend.append(
            {
                "period": bucket.date().isoformat(),
                "responses": sum(distribution.values()),
                "value": None
                if metric is None or metric.value is None
                else str(metric.value),
            }
        )
    return trend


def survey_verbatims(
    *,
    survey: Survey,
    params: Mapping[str, Any] | None = None,
) -> QuerySet[Answer]:
    """Free-text answers, newest first, filterable by score range, language and segment."""
    params = params or {}
    qs = Answer.objects.filter(
        response__survey=survey, question__type=Question.Type.FREE_TEXT
    ).select_related("response__contact", "question")
    if (low := params.get("score_min")) not in (None, ""):
        qs = qs.filter(response__score__gte=int(low))
    if (high := params.get("score_max")) not in (None, ""):
        qs = qs.filter(response__score__lte=int(high))
    if language := params.get("language"):
        qs = qs.filter(response__language=language)
    if segment_id := params.get("segment"):
        segment = Segment.objects.get(pk=int(segment_id))
        members = contact_filter(Contact.objects.all(), {"segment": [str(segment.pk)]})
        qs = qs.filter(response__contact__in=members.values("pk"))
    return qs.order_by("-response__submitted_at", "-id")


def response_list(*, survey_id: int | None = None) -> QuerySet[Response]:
    qs = Response.objects.select_related("contact", "survey").prefetch_related(
        Prefetch("answers", queryset=Answer.objects.order_by("question_id"))
    )
    if survey_id is not None:
        qs = qs.filter(survey_id=survey_id)
    return qs


def survey_export_csv(*, survey: Survey) -> Iterator[str]:
    """One row per response with every question's answer; cells are formula-neutralised."""
    questions = list(survey.questions.order_by("order"))
    header = [
        _("Response"),
        _("Submitted"),
        _("Contact"),
        _("Email"),
        _("Language"),
        _("Score"),
        *[q.text for q in questions],
    ]

    def rows() -> Iterator[list[Any]]:
        for response in (
            response_list(survey_id=survey.pk)
            .order_by("submitted_at", "id")
            .iterator(chunk_size=500)
        ):
            by_question = {a.question_id: a.value for a in response.answers.all()}
            yield [
                response.pk,
                response.submitted_at.isoformat(),
                response.contact.display_name,
                response.contact.email,
                response.language,
                "" if response.score is None else response.score,
                *[
                    "; ".join(map(str, v))
                    if isinstance(v, list)
                    else ("" if v is None else v)
                    for v in (by_question.get(q.pk) for q in questions)
                ],
            ]

    return csv_lines(header, rows())
