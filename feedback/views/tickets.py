"""Staff ticket pages: the SLA queue, a ticket's thread with reply/note forms and controls
(HTMX or plain posts), opening a ticket for a contact, and the contact-page panel."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.models import Contact, User
from crm.pagination import keyset_paginate
from crm.permissions import AuthenticatedRequest, manager_required, staff_required
from crm.roles import MANAGER_ROLES, STAFF_ROLES, role_of
from crm.views.contacts import is_htmx, vary_on_htmx
from feedback.models.tickets import Ticket
from feedback.selectors.tickets import (
    QUEUE_ORDERING,
    STATUS_FILTERS,
    annotate_sla,
    contact_open_tickets,
    sla_calendar,
    staff_choices,
    ticket_list,
    ticket_thread,
)
from feedback.services import tickets as services

PANEL_TICKETS = 5


class TicketForm(forms.Form):
    contact_email = forms.EmailField(label=gettext_lazy("Contact email"))
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"), widget=forms.Textarea, required=False
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), choices=Ticket.Channel.choices
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"),
        choices=Ticket.Priority.choices,
        initial=Ticket.Priority.NORMAL,
    )

    def clean_contact_email(self) -> Contact:
        email = self.cleaned_data["contact_email"]
        contact = Contact.objects.filter(email__iexact=email).first()
        if contact is None:
            raise ValidationError(_("No contact with this email."))
        return contact


class ReplyForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea)
    internal = forms.BooleanField(
        label=gettext_lazy("Internal note (not shown to the customer)"), required=False
    )


class ControlsForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[c for c in Ticket.Status.choices if c[0] != Ticket.Status.NEW],
        required=False,
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=Ticket.Priority.choices
    )
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Unassigned"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_choices()  # type: ignore[attr-defined]


class TagsForm(forms.Form):
    tags = forms.CharField(
        label=gettext_lazy("Tags"),
        max_length=1000,
        required=False,
        help_text=gettext_lazy("Comma-separated."),
    )


def _filters(request: AuthenticatedRequest) -> dict[str, Any]:
    get = request.GET
    status = get.get("status", "active")
    return {
        "status": status if status in STATUS_FILTERS else "active",
        "priority": get.get("priority", ""),
        "channel": get.get("channel", ""),
        "assignee": get.get("assignee", ""),
        "tag": get.get("tag", "").strip()[:60],
    }


@staff_required
def tickets(request: AuthenticatedRequest) -> HttpResponse:
    """The queue, most urgent SLA first; ``assignee=me`` is "my tickets"."""
    filters = _filters(request)
    assignee: User | None = None
    if filters["assignee"] == "me":
        assignee = request.user
    elif filters["assignee"].isdigit():
        assignee = staff_choices().filter(pk=int(filters["assignee"])).first()
    qs = ticket_list(
        user=request.user,
        status=filters["status"],
        priority=filters["priority"],
        channel=filters["channel"],
        assignee=assignee,
        unassigned=filters["assignee"] == "none",
        tag=filters["tag"],
    ).prefetch_related("tags")
    page = keyset_paginate(
        qs, ordering=QUEUE_ORDERING, cursor=request.GET.get("cursor")
    )
    annotate_sla(page.object_list, calendar=sla_calendar())
    context = {
        "page": page,
        "filters": filters,
        "statuses": Ticket.Status.choices,
        "priorities": Ticket.Priority.choices,
        "channels": Ticket.Channel.choices,
        "staff": list(staff_choices()),
        "now": timezone.now(),
    }
    template = (
        "feedback/tickets/_queue.html"
        if is_htmx(request)
        else "feedback/tickets/queue.html"
    )
    return vary_on_htmx(render(request, template, context))


def _ticket(request: AuthenticatedRequest, pk: int) -> Ticket:
    ticket = ticket_list(user=request.user, status="all").filter(pk=pk).first()
    if ticket is None:
        raise Http404(_("No such ticket."))
    return ticket


def _detail_context(
    request: AuthenticatedRequest,
    ticket: Ticket,
    reply_form: ReplyForm | None = None,
    tags_form: TagsForm | None = None,
) -> dict[str, Any]:
    annotate_sla([ticket], calendar=sla_calendar())
    return {
        "ticket": ticket,
        "thread": list(ticket_thread(ticket=ticket)),
        "reply_form": reply_form or ReplyForm(),
        "controls": ControlsForm(
            initial={
                "status": ticket.status,
                "priority": ticket.priority,
                "assignee": ticket.assignee_id,
            }
        ),
        "tags_form": tags_form
        or TagsForm(initial={"tags": ", ".join(tag.name for tag in ticket.tags.all())}),
        "is_manager": role_of(request.user) in MANAGER_ROLES,
    }


def _render_detail(
    request: AuthenticatedRequest,
    ticket: Ticket,
    reply_form: ReplyForm | None = None,
    tags_form: TagsForm | None = None,
) -> HttpResponse:
    template = (
        "feedback/tickets/_ticket.html"
        if is_htmx(request)
        else "feedback/tickets/detail.html"
    )
    context = _detail_context(request, ticket, reply_form, tags_form)
    return vary_on_htmx(render(request, template, context))


@staff_required
def ticket_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _ticket(request, pk))


@staff_required
def ticket_new(request: AuthenticatedRequest) -> HttpResponse:
    """Open a ticket for a contact (``?contact=<id>`` fills in the contact)."""
    if request.method == "POST":
        form = TicketForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.ticket_open(
                    contact=data["contact_email"],
                    subject=data["subject"],
                    description=data["description"],
                    channel=data["channel"],
                    priority=data["priority"],
                    actor=request.user,
                    assignee=request.user,
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request, _("Ticket #%(id)s opened.") % {"id": ticket.pk}
                )
                return redirect(ticket)
    else:
        initial: dict[str, Any] = {}
        contact_id = request.GET.get("contact", "")
        if contact_id.isdigit():
            contact = Contact.objects.filter(pk=int(contact_id)).first()
            if contact is not None:
                initial["contact_email"] = contact.email
        form = TicketForm(initial=initial)
    return render(request, "feedback/tickets/new.html", {"form": form})


@require_POST
@staff_required
def ticket_reply(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A reply to the customer, or an internal note (``internal=on``)."""
    ticket = _ticket(request, pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_reply(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
            )
        except ValidationError as error:
            for errors in error.message_dict.values():
                form.add_error("body", errors)
        else:
            if form.cleaned_data["internal"]:
                messages.success(request, _("Note added."))
            else:
                messages.success(request, _("Reply sent."))
            form = ReplyForm()
            ticket = _ticket(request, pk)
    if is_htmx(request):
        return _render_detail(request, ticket, form)
    if form.is_bound:
        for field_errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in field_errors))
    return redirect(ticket)


@require_POST
@staff_required
def ticket_update(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Status, priority and assignee in one form; only what changed is applied."""
    ticket = _ticket(request, pk)
    form = ControlsForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(
                {field: list(errors) for field, errors in form.errors.items()}
            )
        data = form.cleaned_data
        if data["assignee"] != ticket.assignee:
            ticket = services.ticket_assign(
                ticket=ticket, assignee=data["assignee"], actor=request.user
            )
        if data["priority"] != ticket.priority:
            ticket = services.ticket_set_priority(
                ticket=ticket, priority=data["priority"], actor=request.user
            )
        if data["status"] and data["status"] != ticket.status:
            ticket = services.ticket_set_status(
                ticket=ticket, status=data["status"], actor=request.user
            )
    except ValidationError as error:
        for errors in error.message_dict.values():
            messages.error(request, " ".join(errors))
    else:
        messages.success(request, _("Ticket updated."))
    ticket = _ticket(request, pk)
    if is_htmx(request):
        return _render_detail(request, ticket)
    return redirect(ticket)


@require_POST
@staff_required
def ticket_tags(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Replace the ticket's tags from a comma-separated field."""
    ticket = _ticket(request, pk)
    form = TagsForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_set_tags(
                ticket=ticket,
                tags=services.tag_names(form.cleaned_data["tags"]),
                actor=request.user,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
    if not form.is_valid():
        if is_htmx(request):
            return _render_detail(request, _ticket(request, pk), tags_form=form)
        for field_errors in form.errors.values():
            messages.error(request, " ".join(str(e) for e in field_errors))
        return redirect(ticket)
    messages.success(request, _("Tags saved."))
    if is_htmx(request):
        return _render_detail(request, _ticket(request, pk))
    return redirect(ticket)


@require_POST
@manager_required
def ticket_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk)
    services.ticket_delete(ticket=ticket)
    messages.success(request, _("Ticket #%(id)s deleted.") % {"id": pk})
    return redirect("feedback:tickets")


def contact_panel(*, request: HttpRequest, contact: Contact) -> dict[str, Any] | None:
    """crm's ``contact_page_panels`` hook: the contact's open tickets and a "New ticket" link."""
    if role_of(request.user) not in STAFF_ROLES:
        return None
    open_tickets = list(contact_open_tickets(contact_id=contact.pk)[:PANEL_TICKETS])
    annotate_sla(open_tickets, calendar=sla_calendar())
    html = render_to_string(
        "feedback/tickets/_panel.html",
        {
            "contact": contact,
            "tickets": open_tickets,
            "new_url": f"{reverse('feedback:ticket_new')}?contact={contact.pk}",
            "all_url": reverse("feedback:tickets"),
        },
        request=request,
    )
    return {"id": "tickets", "title": _("Tickets"), "html": html, "order": 20}
