"""The portal's "My data" page: a customer exports everything held about them (a job with a
progress bar, then a download valid for a while) and erases their account, confirmed through a
signed link sent by email.

A customer reaches only their own exports: any other export id is a 404.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from crm.models import Contact, DataExport, Erasure
from crm.permissions import AuthenticatedRequest
from crm.selectors_audit import data_exports_recent
from crm.services.privacy import (
    contact_erase,
    data_export_request,
    erasure_confirmation_send,
    erasure_token_check,
    erasure_token_make,
)
from crm.views.privacy import export_file_response, export_status_context
from loyalty.views.portal import customer_portal

PORTAL_EXPORTS = 5


def _own_export(contact: Contact, public_id: uuid.UUID) -> DataExport:
    return get_object_or_404(DataExport, public_id=public_id, contact=contact)


def _export_context(export: DataExport) -> dict[str, object]:
    return export_status_context(
        export,
        status_url=reverse("portal:my_data_export", args=[export.public_id]),
        download_url=reverse("portal:my_data_download", args=[export.public_id]),
    )


@customer_portal
def portal_my_data(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    """What we hold about you: export it, or erase your account."""
    exports = data_exports_recent(contact=contact, limit=PORTAL_EXPORTS)
    return render(
        request,
        "loyalty/portal/my_data.html",
        {
            "contact": contact,
            "exports": [_export_context(export) for export in exports],
            "nav": "my_data",
        },
    )


@require_POST
@customer_portal
def portal_export_request(
    request: AuthenticatedRequest, contact: Contact
) -> HttpResponse:
    try:
        data_export_request(
            contact=contact,
            actor=request.user,
            via=DataExport.Via.PORTAL,
            request=request,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("We are preparing your data. The download link appears below.")
        )
    return redirect("portal:my_data")


@never_cache
@customer_portal
def portal_export_status(
    request: AuthenticatedRequest, contact: Contact, public_id: uuid.UUID
) -> HttpResponse:
    """HTMX: the export's progress, then its download link."""
    export = _own_export(contact, public_id)
    if not getattr(request, "htmx", False):
        return redirect("portal:my_data")
    return render(request, "crm/privacy/_export_status.html", _export_context(export))


@never_cache
@customer_portal
def portal_export_download(
    request: AuthenticatedRequest, contact: Contact, public_id: uuid.UUID
) -> HttpResponse:
    export = _own_export(contact, public_id)
    return export_file_response(
        request, export, base_template="loyalty/portal/base.html"
    )


@require_POST
@customer_portal
def portal_erase_request(
    request: AuthenticatedRequest, contact: Contact
) -> HttpResponse:
    """Email the link that confirms the erasure; nothing is erased before it is followed."""
    token = erasure_token_make(contact=contact)
    url = request.build_absolute_uri(reverse("portal:erase_confirm", args=[token]))
    try:
        erasure_confirmation_send(contact=contact, confirm_url=url)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("portal:my_data")
    return render(
        request,
        "loyalty/portal/erase_sent.html",
        {"contact": contact, "nav": "my_data"},
    )


def portal_erase_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: a page with one button (a GET never erases), then the erasure and
    sign-out. The signed token is the proof; it works for 24 hours."""
    try:
        contact = erasure_token_check(token=token)
    except ValidationError as error:
        return render(
            request,
            "loyalty/portal/erase_invalid.html",
            {"message": " ".join(error.messages)},
            status=400,
        )
    if request.method != "POST":
        return render(request, "loyalty/portal/erase_confirm.html", {"token": token})
    actor = contact.user
    contact_erase(
        contact=contact,
        actor=actor,
        reason=_("Requested by the customer in the portal (confirmed by email)."),
        via=Erasure.Via.PORTAL,
        request=request,
    )
    logout(request)
    return render(request, "loyalty/portal/erase_done.html")
