"""The outreach outbox for staff: every message with its status, one message in full, retry."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import services
from crm.models import OutboundMessage
from crm.outbox import (
    ORDERING,
    outbox_messages,
    outbox_occasions,
    outbox_status_counts,
)
from crm.pagination import keyset_paginate
from crm.permissions import AuthenticatedRequest, manager_required, staff_required
from crm.roles import MANAGER_ROLES, role_of
from crm.views.contacts import is_htmx, vary_on_htmx

Status = OutboundMessage.Status


class OutboxFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Contact"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": gettext_lazy("Name or email"),
                "autocomplete": "off",
            }
        ),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any")), *Status.choices],
        widget=forms.Select(attrs={"class": "filter-control"}),
    )
    occasion = forms.ChoiceField(
        label=gettext_lazy("Occasion"),
        required=False,
        widget=forms.Select(attrs={"class": "filter-control"}),
    )
    skip_reason = forms.ChoiceField(
        label=gettext_lazy("Skip reason"),
        required=False,
        choices=[("", gettext_lazy("Any")), *OutboundMessage.SkipReason.choices],
        widget=forms.Select(attrs={"class": "filter-control"}),
    )
    # One occurrence of the occasion, e.g. a campaign's id (linked from the campaign page).
    occurrence = forms.CharField(
        required=False, max_length=40, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, occasions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["occasion"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", gettext_lazy("Any")),
            *((name, name.replace("_", " ").capitalize()) for name in occasions),
        ]


def _is_manager(request: AuthenticatedRequest) -> bool:
    return role_of(request.user) in MANAGER_ROLES


@staff_required
def outbox(request: AuthenticatedRequest) -> HttpResponse:
    """Every outbox message newest first, filtered, keyset-paged, with per-status counts."""
    form = OutboxFilterForm(request.GET, occasions=outbox_occasions())
    form.is_valid()  # a value that is not one of the choices is dropped: no filter
    values = {name: str(form.cleaned_data.get(name) or "") for name in form.fields}
    occasion, skip_reason, q = values["occasion"], values["skip_reason"], values["q"]
    occurrence = values["occurrence"] if occasion else ""
    page = keyset_paginate(
        outbox_messages(
            status=values["status"],
            occasion=occasion,
            skip_reason=skip_reason,
            q=q,
            occurrence=occurrence,
        ),
        ordering=ORDERING,
        cursor=request.GET.get("cursor"),
    )
    # The counts follow every filter but the status one, so each chip says what it shows.
    counts = outbox_status_counts(
        outbox_messages(
            occasion=occasion, skip_reason=skip_reason, q=q, occurrence=occurrence
        )
    )
    context = {
        "form": form,
        "page": page,
        "status": values["status"],
        "status_counts": [
            (value, label, counts[value]) for value, label in Status.choices
        ],
        "total": sum(counts.values()),
        "filtered": any(values.values()),
        "tab": "outbox",
    }
    template = (
        "crm/outreach/_outbox_results.html"
        if is_htmx(request)
        else "crm/outreach/outbox.html"
    )
    return vary_on_htmx(render(request, template, context))


@staff_required
def outbox_message(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """One message exactly as it was (or will be) sent, with its delivery history."""
    message = get_object_or_404(
        OutboundMessage.objects.select_related("contact"), pk=pk
    )
    context = {
        "message": message,
        "from_email": settings.DEFAULT_FROM_EMAIL,
        "can_retry": message.status == Status.FAILED and _is_manager(request),
    }
    return render(request, "crm/outreach/message.html", context)


@require_POST
@manager_required
def outbox_message_retry(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Plan a failed message again (managers); anything else is left exactly as it is."""
    message = get_object_or_404(OutboundMessage, pk=pk)
    if services.outbox_retry(message=message):
        messages.success(request, _("The message is planned again and goes out soon."))
    else:
        messages.error(request, _("Only a failed message can be retried."))
    return redirect("crm:outreach_message", pk=message.pk)
