"""My tasks: overdue, due today (the viewer's local day), upcoming and recently done, with
complete/reopen and reassignment in place (HTMX) or by plain form posts without JavaScript."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.forms import TaskReassignForm
from crm.models import Task, User
from crm.permissions import AuthenticatedRequest, staff_required
from crm.views.contacts import is_htmx, vary_on_htmx

SECTION_LIMIT = 100
DONE_DAYS = 7


def _whose(request: AuthenticatedRequest, value: str) -> tuple[str, User | None]:
    """The board's owner filter: "me" (default), "all", or a staff user's id."""
    if value == "all":
        return "all", None
    if value.isdigit() and value != str(request.user.pk):
        user = User.objects.filter(pk=int(value), is_staff=True).first()
        if user is not None:
            return value, user
    return "me", request.user


def _board(request: AuthenticatedRequest, whose_value: str) -> dict[str, Any]:
    whose, assignee = _whose(request, whose_value)
    now = timezone.now()
    # "Today" is the viewer's calendar day: the middleware has activated their time zone.
    today = timezone.localdate()
    tomorrow = timezone.make_aware(
        dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min)
    )

    def tasks(state: str) -> QuerySet[Task]:
        return selectors.task_list(user=request.user, assignee=assignee, state=state)

    sections = [
        {
            "key": "overdue",
            "title": _("Overdue"),
            "tasks": list(tasks("overdue").order_by("due_at", "id")[:SECTION_LIMIT]),
            "empty": _("Nothing overdue."),
        },
        {
            "key": "today",
            "title": _("Today"),
            "tasks": list(
                tasks("open")
                .filter(due_at__gte=now, due_at__lt=tomorrow)
                .order_by("due_at", "id")[:SECTION_LIMIT]
            ),
            "empty": _("Nothing else due today."),
        },
        {
            "key": "upcoming",
            "title": _("Upcoming"),
            "tasks": list(
                tasks("open")
                .filter(due_at__gte=tomorrow)
                .order_by("due_at", "id")[:SECTION_LIMIT]
            ),
            "empty": _("Nothing planned."),
        },
        {
            "key": "done",
            "title": _("Done recently"),
            "tasks": list(
                tasks("done")
                .filter(completed_at__gte=now - dt.timedelta(days=DONE_DAYS))
                .order_by("-completed_at", "-id")[:20]
            ),
            "empty": _("Nothing completed in the last week."),
        },
    ]
    return {
        "sections": sections,
        "whose": whose,
        "assignee": assignee,
        "staff": list(
            User.objects.filter(is_staff=True, is_active=True).order_by(
                "given_name", "family_name", "email"
            )
        ),
        "now": now,
    }


def _render_board(request: AuthenticatedRequest, whose: str) -> HttpResponse:
    template = "crm/tasks/_board.html" if is_htmx(request) else "crm/tasks/board.html"
    return vary_on_htmx(render(request, template, _board(request, whose)))


@staff_required
def tasks(request: AuthenticatedRequest) -> HttpResponse:
    return _render_board(request, request.GET.get("whose", "me"))


def _task(request: AuthenticatedRequest, pk: int) -> Task:
    task = selectors.task_list(user=request.user, state="all").filter(pk=pk).first()
    if task is None:
        raise Http404(_("No such task."))
    return task


def _after_change(request: AuthenticatedRequest) -> HttpResponse:
    whose = request.POST.get("whose", "me")
    if is_htmx(request):
        return _render_board(request, whose)
    return redirect(f"{reverse('crm:tasks')}?whose={whose}")


@require_POST
@staff_required
def task_complete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Mark done (``done=1``) or open again (``done=0``)."""
    task = services.task_complete(
        task=_task(request, pk), done=request.POST.get("done", "1") != "0"
    )
    if task.completed_at:
        messages.success(request, _("“%(title)s” is done.") % {"title": task.title})
    else:
        messages.info(request, _("“%(title)s” is open again.") % {"title": task.title})
    return _after_change(request)


@require_POST
@staff_required
def task_reassign(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    form = TaskReassignForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"assignee": form.errors["assignee"]})
        task = services.task_update(task=task, assignee=form.cleaned_data["assignee"])
    except ValidationError as error:
        for items in error.message_dict.values():
            messages.error(request, " ".join(items))
    else:
        messages.success(
            request,
            _("“%(title)s” is now assigned to %(name)s.")
            % {"title": task.title, "name": task.assignee.display_name},
        )
    return _after_change(request)
