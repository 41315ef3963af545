"""Campaigns at /outreach/campaigns/: list, write (managers), see who it reaches before it goes,
test it on yourself, schedule, cancel. Agents read; customers never reach these pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.forms_outreach import (
    PLACEHOLDER_HELP,
    CampaignForm,
    campaign_draft,
    preview_contacts,
)
from crm.models import Campaign, Contact, OutboundMessage
from crm.outbox import outbox_counts_by_occurrence
from crm.pagination import keyset_paginate
from crm.permissions import AuthenticatedRequest, manager_required, staff_required
from crm.services.outreach import CAMPAIGN
from crm.views.message_templates import is_manager, preview_contact, preview_context

Status = Campaign.Status
ORDERING = ("-send_on", "-id")
# Statuses whose recipients are still a live count (later ones are what the outbox holds).
OPEN = (Status.DRAFT, Status.SCHEDULED)
# Outbox statuses of a message that goes (or went) out, not skipped.
REACHING = (
    OutboundMessage.Status.PLANNED,
    OutboundMessage.Status.QUEUED,
    OutboundMessage.Status.SENDING,
    OutboundMessage.Status.SENT,
    OutboundMessage.Status.FAILED,
    OutboundMessage.Status.UNKNOWN,
)


def _campaign(pk: int) -> Campaign:
    return get_object_or_404(
        Campaign.objects.select_related("segment", "created_by", "cancelled_by"), pk=pk
    )


def _first_recipient(campaign: Campaign) -> Contact | None:
    return (
        selectors.campaign_recipients(campaign=campaign)
        .select_related("company")
        .order_by("pk")
        .first()
    )


def outbox_url(campaign: Campaign) -> str:
    query = urlencode({"occasion": CAMPAIGN, "occurrence": str(campaign.pk)})
    return f"{reverse('crm:outreach')}?{query}"


@staff_required
def campaigns(request: AuthenticatedRequest) -> HttpResponse:
    """Every campaign, latest day first: when, to whom, how many it reaches, what it sent."""
    page = keyset_paginate(
        Campaign.objects.select_related("segment", "created_by").annotate(
            chosen=Count("contacts")
        ),
        ordering=ORDERING,
        cursor=request.GET.get("cursor"),
    )
    counts = outbox_counts_by_occurrence(
        occasion=CAMPAIGN, occurrences=[str(c.pk) for c in page.object_list]
    )
    rows = []
    for campaign in page.object_list:
        sent = counts[str(campaign.pk)]
        if campaign.status in OPEN and not sent:
            # One aggregate per open campaign: its segment is a live filter.
            reachable = selectors.campaign_recipient_summary(campaign=campaign)[
                "reachable"
            ]
        else:
            reachable = sum(sent.get(status, 0) for status in REACHING)
        rows.append(
            {
                "campaign": campaign,
                "reachable": reachable,
                "sent": sent.get(OutboundMessage.Status.SENT, 0),
                "skipped": sent.get(OutboundMessage.Status.SKIPPED, 0),
            }
        )
    context = {
        "page": page,
        "rows": rows,
        "is_manager": is_manager(request),
        "tab": "campaigns",
    }
    return render(request, "crm/outreach/campaigns.html", context)


@staff_required
def campaign_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Who it reaches before it goes, how its messages fared after, and the actions."""
    campaign = _campaign(pk)
    counts = outbox_counts_by_occurrence(
        occasion=CAMPAIGN, occurrences=[str(campaign.pk)]
    )[str(campaign.pk)]
    contact = preview_contact(request, default=_first_recipient(campaign))
    manager = is_manager(request)
    form = CampaignForm(actor=request.user, campaign=campaign)
    context = {
        "campaign": campaign,
        "summary": selectors.campaign_recipient_summary(campaign=campaign),
        "chosen": campaign.contacts.count(),
        "counts": [
            (value, label, counts.get(value, 0))
            for value, label in OutboundMessage.Status.choices
        ],
        "planned_any": bool(counts),
        "outbox_url": outbox_url(campaign),
        "is_manager": manager,
        "can_edit": manager and campaign.status in OPEN,
        "can_schedule": manager and campaign.status == Status.DRAFT,
        "can_cancel": manager and campaign.status in OPEN,
        "can_delete": manager and campaign.status == Status.DRAFT and not counts,
        "contacts": preview_contacts(selected=contact.pk if contact else None),
        "tab": "campaigns",
        **preview_context(draft=campaign, form=form, contact=contact),
    }
    return render(request, "crm/outreach/campaign_detail.html", context)


def _form_page(
    request: AuthenticatedRequest, campaign: Campaign | None
) -> HttpResponse:
    if request.method == "POST":
        form = CampaignForm(request.POST, actor=request.user, campaign=campaign)
        if form.is_valid() and (saved := form.save()):
            messages.success(
                request,
                _(
                    "“%(name)s” was saved as a draft. Check who it reaches, then schedule it."
                )
                % {"name": saved.name},
            )
            return redirect("crm:campaign", pk=saved.pk)
        draft = campaign_draft(request.POST, campaign=campaign)
    else:
        if campaign is None:
            initial: dict[str, Any] = {
                "send_on": timezone.localdate() + dt.timedelta(days=1),
                "send_time": "10:00",
                # "1,2,3", or one "contacts" per contact (a dashboard list's checkboxes).
                "contact_ids": ",".join(request.GET.getlist("contacts")),
            }
            form = CampaignForm(actor=request.user, initial=initial)
        else:  # the form starts from the campaign itself
            form = CampaignForm(actor=request.user, campaign=campaign)
        draft = campaign or campaign_draft({})
    default = _first_recipient(campaign) if campaign else None
    contact = preview_contact(request, default=default)
    context = {
        "campaign": campaign,
        "form": form,
        "placeholders": PLACEHOLDER_HELP,
        "contacts": preview_contacts(selected=contact.pk if contact else None),
        "tab": "campaigns",
        **preview_context(draft=draft, form=form, contact=contact),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "crm/outreach/campaign_form.html", context, status=status)


@manager_required
def campaign_create(request: AuthenticatedRequest) -> HttpResponse:
    """A new draft campaign."""
    return _form_page(request, None)


@manager_required
def campaign_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Change a draft or scheduled campaign (a scheduled one goes back to draft)."""
    campaign = _campaign(pk)
    if campaign.status not in OPEN:
        messages.error(request, _("A sent or cancelled campaign cannot be changed."))
        return redirect("crm:campaign", pk=campaign.pk)
    return _form_page(request, campaign)


@require_POST
@staff_required
def campaign_preview(request: AuthenticatedRequest) -> HttpResponse:
    """The live preview (HTMX) of the campaign form's unsaved texts."""
    campaign = None
    if (pk := str(request.POST.get("campaign", ""))).isdigit():
        campaign = Campaign.objects.filter(pk=int(pk)).first()
    form = CampaignForm(actor=request.user, campaign=campaign)
    context = preview_context(
        draft=campaign_draft(request.POST, campaign=campaign),
        form=form,
        contact=preview_contact(request),
    )
    return render(request, "crm/outreach/_preview.html", context)


@require_POST
@manager_required
def campaign_test_send(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Email the campaign to the signed-in user, as the chosen recipient would get it."""
    campaign = _campaign(pk)
    contact = preview_contact(request, default=_first_recipient(campaign))
    try:
        services.campaign_test_send(
            campaign=campaign, actor=request.user, contact=contact
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("A test was sent to %(email)s, as %(name)s would get it.")
            % {
                "email": request.user.email,
                "name": contact.display_name if contact else "",
            },
        )
    return redirect("crm:campaign", pk=campaign.pk)


def _confirm(
    request: AuthenticatedRequest, campaign: Campaign, action: str, error: str | None
) -> HttpResponse:
    context = {
        "campaign": campaign,
        "action": action,
        "error": error,
        "summary": selectors.campaign_recipient_summary(campaign=campaign)
        if action == "schedule"
        else None,
        "planned": OutboundMessage.objects.filter(
            occasion=CAMPAIGN,
            occurrence=str(campaign.pk),
            status=OutboundMessage.Status.PLANNED,
        ).count()
        if action == "cancel"
        else 0,
        "tab": "campaigns",
    }
    return render(
        request,
        "crm/outreach/campaign_confirm.html",
        context,
        status=400 if error else 200,
    )


@manager_required
def campaign_schedule(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Confirm the day, time and recipients; then schedule."""
    campaign = _campaign(pk)
    error = None
    if request.method == "POST":
        try:
            services.campaign_schedule(
                campaign=campaign, actor=request.user, now=timezone.now()
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _(
                    "“%(name)s” is scheduled. It goes out on its day at its time in each recipient's own time zone."
                )
                % {"name": campaign.name},
            )
            return redirect("crm:campaign", pk=campaign.pk)
    return _confirm(request, campaign, "schedule", error)


@manager_required
def campaign_cancel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Confirm, then stop the campaign and every message of it not yet sent."""
    campaign = _campaign(pk)
    error = None
    if request.method == "POST":
        try:
            stopped = services.campaign_cancel(
                campaign=campaign, actor=request.user, now=timezone.now()
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                ngettext(
                    "“%(name)s” is cancelled; %(count)s planned message was stopped.",
                    "“%(name)s” is cancelled; %(count)s planned messages were stopped.",
                    stopped,
                )
                % {"name": campaign.name, "count": stopped},
            )
            return redirect("crm:campaign", pk=campaign.pk)
    return _confirm(request, campaign, "cancel", error)


@manager_required
def campaign_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Confirm, then delete a draft."""
    campaign = _campaign(pk)
    error = None
    if request.method == "POST":
        try:
            services.campaign_delete(campaign=campaign)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request, _("“%(name)s” was deleted.") % {"name": campaign.name}
            )
            return redirect("crm:campaigns")
    return _confirm(request, campaign, "delete", error)
