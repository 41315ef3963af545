"""The customer's support tickets in the portal (mounted at /portal/tickets/ by
loyalty/portal_urls.py): their own tickets only — anyone else's is a 404 — and never the
team's internal notes."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Contact
from crm.pagination import keyset_paginate
from crm.permissions import AuthenticatedRequest
from feedback.models.tickets import Ticket
from feedback.selectors.tickets import portal_ticket_list, ticket_thread
from feedback.services import tickets as services
from loyalty.views.portal import customer_portal

PAGE = 20


class PortalTicketForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("How can we help?"), widget=forms.Textarea
    )


class PortalReplyForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Your reply"), widget=forms.Textarea)


@customer_portal
def portal_tickets(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    page = keyset_paginate(
        portal_ticket_list(contact_id=contact.pk),
        ordering=("-created_at", "-id"),
        cursor=request.GET.get("cursor"),
        size=PAGE,
    )
    return render(
        request, "feedback/portal/tickets.html", {"page": page, "nav": "tickets"}
    )


@customer_portal
def portal_ticket_new(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    form = PortalTicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_open(
                contact=contact,
                subject=form.cleaned_data["subject"],
                description=form.cleaned_data["description"],
                channel=Ticket.Channel.PORTAL,
                actor=request.user,
            )
        except ValidationError as error:
            for errors in error.message_dict.values():
                form.add_error(None, errors)
        else:
            messages.success(request, _("Thanks! We received your request."))
            return redirect("portal:ticket", public_id=ticket.public_id)
    return render(request, "feedback/portal/new.html", {"form": form, "nav": "tickets"})


@customer_portal
def portal_ticket(
    request: AuthenticatedRequest, contact: Contact, public_id: uuid.UUID
) -> HttpResponse:
    ticket = get_object_or_404(
        portal_ticket_list(contact_id=contact.pk), public_id=public_id
    )
    form = PortalReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.ticket_customer_reply(
                ticket=ticket, author=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            for errors in error.message_dict.values():
                form.add_error("body", errors)
        else:
            messages.success(request, _("Your reply was sent."))
            return redirect(reverse("portal:ticket", args=[ticket.public_id]))
    return render(
        request,
        "feedback/portal/ticket.html",
        {
            "ticket": ticket,
            "thread": list(ticket_thread(ticket=ticket, public_only=True)),
            "form": form,
            "can_reply": ticket.status != Ticket.Status.CLOSED,
            "nav": "tickets",
        },
    )


# Included by loyalty/portal_urls.py under "tickets/", inside the "portal" namespace.
urlpatterns = [
    path("", portal_tickets, name="tickets"),
    path("new/", portal_ticket_new, name="ticket_new"),
    path("<uuid:public_id>/", portal_ticket, name="ticket"),
]
