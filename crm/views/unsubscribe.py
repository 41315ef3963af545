"""Public outreach endpoints reached from emails: the one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods


@csrf_exempt  # mail providers POST "List-Unsubscribe=One-Click" without a CSRF token; the signed token is the proof
@never_cache
@require_http_methods(["GET", "POST"])
def outreach_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET (a person following the link) asks to confirm, so link scanners that open every link
    in a mailbox unsubscribe nobody; POST (the confirm button, or the mail provider's one-click
    request) withdraws the marketing-email consent."""
    from crm.services import outreach_unsubscribe as unsubscribe
    from crm.services.outreach import unsubscribe_contact_id

    if request.method == "GET":
        valid = unsubscribe_contact_id(token=token) is not None
        return render(
            request,
            "crm/outreach/unsubscribed.html",
            {"ok": valid, "confirm": valid},
            status=200 if valid else 400,
        )
    ok = unsubscribe(token=token, ip_address=request.META.get("REMOTE_ADDR"))
    return render(
        request, "crm/outreach/unsubscribed.html", {"ok": ok}, status=200 if ok else 400
    )
