"""Staff pages for data-subject rights: the contact page's "Personal data" box (export with a
polled progress bar, then a download valid for a while) and the erasure confirmation page.

Managers and admins only. Archives are served by ``export_file_response`` after the caller has
checked who may have it (here: managers; the portal: the owning customer), never from MEDIA_URL.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from crm.models import Contact, DataExport, Erasure
from crm.permissions import AuthenticatedRequest, manager_required
from crm.roles import MANAGER_ROLES, role_of
from crm.selectors_audit import data_exports_recent
from crm.services.privacy import (
    contact_erase,
    data_export_is_available,
    data_export_request,
)

PANEL_EXPORTS = 3


class ErasureForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=gettext_lazy(
            "Why the data is erased, e.g. “The customer asked by email on 3 May”. It is "
            "kept with the record of the erasure."
        ),
    )


def export_file_response(
    request: HttpRequest, export: DataExport, *, base_template: str
) -> HttpResponse:
    """The archive as a download, or 410 with a page saying it is gone or not ready."""
    if not data_export_is_available(export):
        return render(
            request,
            "crm/privacy/export_gone.html",
            {"export": export, "base_template": base_template},
            status=410,
        )
    response = FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=f"personal-data-{export.contact_id}-{export.created_at:%Y%m%d}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return cast(HttpResponse, response)


def export_status_context(
    export: DataExport, *, status_url: str, download_url: str
) -> dict[str, Any]:
    return {
        "export": export,
        "status_url": status_url,
        "download_url": download_url,
        "available": data_export_is_available(export),
        "polling": export.status
        in (DataExport.Status.QUEUED, DataExport.Status.RUNNING),
    }


def _staff_export_context(export: DataExport) -> dict[str, Any]:
    return export_status_context(
        export,
        status_url=reverse("crm:privacy_export_status", args=[export.public_id]),
        download_url=reverse("crm:privacy_export_download", args=[export.public_id]),
    )


def contact_panel(*, request: HttpRequest, contact: Contact) -> dict[str, Any] | None:
    """The "Personal data" box on the contact page, for managers and admins only."""
    if role_of(request.user) not in MANAGER_ROLES:
        return None
    exports = data_exports_recent(contact=contact, limit=PANEL_EXPORTS)
    html = render_to_string(
        "crm/privacy/_panel.html",
        {
            "contact": contact,
            "erasure": Erasure.objects.filter(contact_id=contact.pk).first()
            if contact.erased_at
            else None,
            "exports": [_staff_export_context(export) for export in exports],
        },
        request=request,
    )
    return {"id": "privacy", "title": _("Personal data"), "html": html, "order": 90}


@require_POST
@manager_required
def export_request(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    try:
        data_export_request(
            contact=contact,
            actor=request.user,
            via=DataExport.Via.STAFF,
            request=request,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _(
                "The export is being prepared; the download link appears here when ready."
            ),
        )
    return redirect(f"{contact.get_absolute_url()}#panel-privacy")


@never_cache
@manager_required
def export_status(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """HTMX: the export's progress (asks for itself again while it runs), then its link."""
    export = get_object_or_404(DataExport, public_id=public_id)
    if not getattr(request, "htmx", False):
        return redirect(f"{export.contact.get_absolute_url()}#panel-privacy")
    return render(
        request, "crm/privacy/_export_status.html", _staff_export_context(export)
    )


@never_cache
@manager_required
def export_download(
    request: AuthenticatedRequest, public_id: uuid.UUID
) -> HttpResponse:
    export = get_object_or_404(DataExport, public_id=public_id)
    return export_file_response(request, export, base_template="base.html")


@manager_required
def erase(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The confirmation page: what erasure does, a required reason, then the erasure."""
    contact = get_object_or_404(Contact, pk=pk)
    if contact.erased_at is not None:
        messages.info(request, _("This contact's personal data was already erased."))
        return redirect(contact)
    form = ErasureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_erase(
                contact=contact,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                via=Erasure.Via.STAFF,
                request=request,
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(
                request,
                _(
                    "The contact's personal data was erased. Purchases and points stay as "
                    "anonymous figures."
                ),
            )
            return redirect(contact)
    return render(
        request,
        "crm/privacy/erase.html",
        {"contact": contact, "form": form},
        status=400 if form.errors else 200,
    )
