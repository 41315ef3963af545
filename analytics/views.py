"""The dashboard pages: metric cards and charts, drill-downs with follow-up tasks, CSV exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics import selectors
from analytics.forms import DashboardFilterForm, FollowUpForm
from analytics.periods import DEFAULT_PRESET, today
from analytics.services import followup_tasks_create, segment_members_ensure
from analytics.services.rollups import company_tz
from crm.permissions import AuthenticatedRequest, staff_required
from crm.services.audit_events import export_record

GROUPS = (
    ("customers", gettext_lazy("Customers")),
    ("feedback", gettext_lazy("Feedback")),
    ("revenue", gettext_lazy("Revenue")),
    ("loyalty", gettext_lazy("Loyalty")),
    ("support", gettext_lazy("Support")),
    ("outreach", gettext_lazy("Outreach")),
)
# Which number opens which drill-down.
DRILL = {
    "churn_rate": "lost",
    "retention_rate": "new",
    "nps": "detractors",
    "sla_breach_rate": "sla_breaches",
    "points_outstanding": "expiring_points",
}
DEFAULT_TASK_TITLES = {
    "lost": gettext_lazy("Win back: call this former customer"),
    "new": gettext_lazy("Welcome call for a new customer"),
    "detractors": gettext_lazy("Follow up on a low NPS score"),
    "sla_breaches": gettext_lazy("Apologise for a late ticket answer"),
    "expiring_points": gettext_lazy("Remind about points about to expire"),
}


def _filters(request: AuthenticatedRequest) -> DashboardFilterForm:
    form = DashboardFilterForm(
        request.GET or None, initial={"period": DEFAULT_PRESET}, user=request.user
    )
    if form.is_valid() and (segment := form.cleaned_data.get("segment")):
        segment_members_ensure(segment=segment)  # a segment newer than the rollups
    return form


@staff_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    form = _filters(request)
    data = selectors.dashboard(
        user=request.user, period=form.chosen_period, filters=form.filters
    )
    groups = []
    for key, label in GROUPS:
        cards = [m for m in data.metrics.values() if m.group == key]
        if cards:
            groups.append({"key": key, "label": label, "cards": cards})
    return render(
        request,
        "analytics/dashboard.html",
        {
            "form": form,
            "data": data,
            "groups": groups,
            "drill": DRILL,
            "query": request.GET.urlencode(),
            "sees_money": selectors.sees_money(request.user),
            "chart_data": data.charts,
            "base_currency": settings.BASE_CURRENCY,
        },
    )


@staff_required
def drilldown(request: AuthenticatedRequest, kind: str) -> HttpResponse:
    if kind not in selectors.DRILLDOWNS:
        raise Http404
    form = _filters(request)
    period, filters = form.chosen_period, form.filters
    contacts = list(
        selectors.drilldown_contacts(kind=kind, period=period, filters=filters)[
            : selectors.DRILLDOWN_LIMIT + 1
        ]
    )
    truncated = len(contacts) > selectors.DRILLDOWN_LIMIT
    contacts = contacts[: selectors.DRILLDOWN_LIMIT]
    ids = [c.pk for c in contacts]
    if request.method == "POST":
        followup = FollowUpForm(request.POST, contact_ids=ids)
        if followup.is_valid():
            chosen = set(followup.cleaned_data["contacts"])
            due_at = dt.datetime.combine(
                followup.cleaned_data["due_on"], dt.time(17), tzinfo=company_tz()
            )
            try:
                created = followup_tasks_create(
                    contacts=[c for c in contacts if c.pk in chosen],
                    title=followup.cleaned_data["title"],
                    notes=followup.cleaned_data["notes"],
                    due_at=due_at,
                    created_by=request.user,
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    _("%(count)d follow-up tasks created for the contacts' owners.")
                    % {"count": created},
                )
                return redirect(request.get_full_path())
    else:
        followup = FollowUpForm(
            contact_ids=ids,
            initial={
                "contacts": ids,
                "title": DEFAULT_TASK_TITLES[kind],
                "due_on": today() + dt.timedelta(days=2),
            },
        )
    return render(
        request,
        "analytics/drilldown.html",
        {
            "kind": kind,
            "title": selectors.DRILLDOWNS[kind],
            "form": form,
            "period": period,
            "contacts": contacts,
            "truncated": truncated,
            "limit": selectors.DRILLDOWN_LIMIT,
            "followup": followup,
            # Ticked: every contact at first; after an invalid post, those that were ticked.
            "chosen": {int(v) for v in request.POST.getlist("contacts") if v.isdigit()}
            if request.method == "POST"
            else set(ids),
            "query": request.GET.urlencode(),
        },
    )


def _csv(
    lines: Iterator[str], filename: str, *, request: HttpRequest, what: str
) -> Any:
    export_record(request=request, what=what, filters=dict(request.GET.lists()))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_required
def export_csv(request: AuthenticatedRequest, group: str) -> HttpResponse:
    if group not in selectors.EXPORTS:
        raise Http404
    form = _filters(request)
    period = form.chosen_period
    lines = selectors.export_csv(
        user=request.user, group=group, period=period, filters=form.filters
    )
    return _csv(
        lines,
        f"{group}-{period.start}-{period.end}.csv",
        request=request,
        what=f"analytics.{group}",
    )


@staff_required
def drilldown_csv(request: AuthenticatedRequest, kind: str) -> HttpResponse:
    if kind not in selectors.DRILLDOWNS:
        raise Http404
    form = _filters(request)
    period = form.chosen_period
    lines = selectors.drilldown_export_csv(
        kind=kind, period=period, filters=form.filters
    )
    return _csv(
        lines,
        f"{kind}-{period.start}-{period.end}.csv",
        request=request,
        what=f"analytics.drilldown.{kind}",
    )


@staff_required
def cohorts_csv(request: AuthenticatedRequest) -> HttpResponse:
    form = _filters(request)
    period = form.chosen_period
    lines = selectors.cohorts_export_csv(period=period, filters=form.filters)
    return _csv(
        lines, f"cohorts-{period.end}.csv", request=request, what="analytics.cohorts"
    )
