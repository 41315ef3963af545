"""The message template editor at /outreach/templates/: every occasion's texts, a live preview
for any contact, and the onboarding steps. Managers edit; agents read."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import services
from crm.forms_outreach import (
    PLACEHOLDER_HELP,
    MessageTemplateForm,
    preview_contacts,
    preview_errors,
)
from crm.models import Campaign, Contact, MessageTemplate
from crm.outreach.greetings import salutation
from crm.permissions import AuthenticatedRequest, manager_required, staff_required
from crm.roles import MANAGER_ROLES, role_of
from crm.services.message_templates import DATED_OCCASIONS, TRANSLATED

PREVIEW_FIELD = "preview_contact"


def is_manager(request: HttpRequest) -> bool:
    return role_of(request.user) in MANAGER_ROLES


def _contact_id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def preview_contact(
    request: HttpRequest, default: Contact | None = None
) -> Contact | None:
    """The contact the preview is for: the one chosen, else ``default``, else the newest."""
    chosen = _contact_id(
        request.POST.get(PREVIEW_FIELD) or request.GET.get(PREVIEW_FIELD)
    )
    contacts = Contact.objects.select_related("company")
    if chosen is not None and (found := contacts.filter(pk=chosen).first()):
        return found
    return default or contacts.order_by("-created_at", "-id").first()


def preview_context(
    *,
    draft: MessageTemplate | Campaign,
    form: Form,
    contact: Contact | None,
) -> dict[str, Any]:
    """What the preview fragment shows: the message ``contact`` would get from ``draft``, or
    the errors (naming the field) that stop it being saved."""
    errors = preview_errors(draft, form)
    context: dict[str, Any] = {"preview_contact": contact, "preview_errors": errors}
    text_errors = any(name in TRANSLATED for name, _label, _found in errors)
    if contact is None or text_errors:
        return context
    if isinstance(draft, MessageTemplate):
        subject, body, language = services.message_template_preview(
            template=draft, contact=contact
        )
    else:
        subject, body, language = services.campaign_preview(
            campaign=draft, contact=contact
        )
    wanted = contact.language or settings.LANGUAGE_CODE
    names = dict(settings.LANGUAGES)
    context.update(
        {
            "preview_subject": subject,
            "preview_body": body,
            "preview_language": names.get(language, language),
            "preview_wanted_language": names.get(wanted, wanted),
            "preview_fallback": language != wanted,
            "preview_salutation": salutation(contact, language=language),
        }
    )
    return context


@staff_required
def message_templates(request: AuthenticatedRequest) -> HttpResponse:
    """Every occasion's template with its purpose, activity and timing."""
    context = {
        "templates": services.message_template_list(),
        "dated": DATED_OCCASIONS,
        "is_manager": is_manager(request),
        "tab": "templates",
    }
    return render(request, "crm/outreach/templates.html", context)


@staff_required
def message_template_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The editor: texts side by side, settings, placeholders, live preview. Managers save."""
    template = get_object_or_404(MessageTemplate, pk=pk)
    editable = is_manager(request)
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        form = MessageTemplateForm(request.POST, template=template)
        if form.is_valid() and form.save(actor=request.user):
            messages.success(
                request, _("%(template)s was saved.") % {"template": template}
            )
            return redirect("crm:message_template", pk=template.pk)
        draft = form.draft(request.POST)
    else:
        form = MessageTemplateForm(template=template, editable=editable)
        draft = template
    contact = preview_contact(request)
    context = {
        "template": template,
        "form": form,
        "editable": editable,
        "placeholders": PLACEHOLDER_HELP,
        "contacts": preview_contacts(selected=contact.pk if contact else None),
        "can_delete": editable
        and template.occasion == MessageTemplate.Occasion.ONBOARDING,
        "tab": "templates",
        **preview_context(draft=draft, form=form, contact=contact),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "crm/outreach/template_form.html", context, status=status)


@require_POST
@staff_required
def message_template_preview(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The live preview (HTMX): the unsaved texts as the chosen contact would get them."""
    template = get_object_or_404(MessageTemplate, pk=pk)
    form = MessageTemplateForm(template=template)
    context = preview_context(
        draft=form.draft(request.POST), form=form, contact=preview_contact(request)
    )
    return render(request, "crm/outreach/_preview.html", context)


@staff_required
def preview_contact_options(request: AuthenticatedRequest) -> HttpResponse:
    """The preview's contact choice, narrowed by a search (HTMX)."""
    selected = _contact_id(request.GET.get(PREVIEW_FIELD))
    contacts = preview_contacts(q=request.GET.get("preview_q", ""), selected=selected)
    response = render(
        request,
        "crm/outreach/_preview_contacts.html",
        {"contacts": contacts, "selected_id": contacts[0].pk if contacts else None},
    )
    response["HX-Trigger"] = "preview-contacts-loaded"
    return response


@require_POST
@manager_required
def onboarding_step_add(request: AuthenticatedRequest) -> HttpResponse:
    """Add a step at the end of the onboarding series (inactive) and open it."""
    template = services.onboarding_step_create(actor=request.user)
    messages.success(
        request,
        _("%(template)s was added, switched off: write it, then make it active.")
        % {"template": template},
    )
    return redirect("crm:message_template", pk=template.pk)


@manager_required
def onboarding_step_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Confirm, then remove an onboarding step."""
    template = get_object_or_404(
        MessageTemplate, pk=pk, occasion=MessageTemplate.Occasion.ONBOARDING
    )
    error = None
    if request.method == "POST":
        try:
            services.onboarding_step_delete(template=template, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request, _("%(template)s was removed.") % {"template": template}
            )
            return redirect("crm:message_templates")
    return render(
        request,
        "crm/outreach/template_delete.html",
        {"template": template, "error": error, "tab": "templates"},
        status=400 if error else 200,
    )
