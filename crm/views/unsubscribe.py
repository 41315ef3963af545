"""Public outreach pages reached from emails: the one-click unsubscribe (RFC 8058) and the
email preference page. A signed token in the link is the proof; no sign-in is needed."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from crm.models import Consent, Contact
from crm.selectors import contact_consents


@csrf_exempt  # mail providers POST "List-Unsubscribe=One-Click" without a CSRF token; the signed token is the proof
@never_cache
@require_http_methods(["GET", "POST"])
def outreach_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET (a person following the link) asks to confirm, so link scanners that open every link
    in a mailbox unsubscribe nobody; POST (the confirm button, or the mail provider's one-click
    request) withdraws the consent the link was made for (marketing email or surveys)."""
    from crm.services import outreach_unsubscribe as unsubscribe
    from crm.services.outreach import unsubscribe_target

    target = unsubscribe_target(token=token)
    context = {
        "purpose": target[1] if target else "",
        "purpose_label": Consent.Purpose(target[1]).label if target else "",
        "token": token,
    }
    if request.method == "GET":
        valid = target is not None
        return render(
            request,
            "crm/outreach/unsubscribed.html",
            {**context, "ok": valid, "confirm": valid},
            status=200 if valid else 400,
        )
    ok = unsubscribe(token=token, ip_address=request.META.get("REMOTE_ADDR"))
    return render(
        request,
        "crm/outreach/unsubscribed.html",
        {**context, "ok": ok},
        status=200 if ok else 400,
    )


class EmailPreferencesForm(forms.Form):
    marketing_email = forms.BooleanField(
        label=_("News, offers and greetings"),
        help_text=_("Birthday and anniversary greetings, offers, campaigns."),
        required=False,
    )
    surveys = forms.BooleanField(
        label=_("Surveys"),
        help_text=_("Short questions about how we did, e.g. after a support request."),
        required=False,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def outreach_preferences(request: HttpRequest, token: str) -> HttpResponse:
    """Choose which kinds of email to get, from the link in any message."""
    from crm.services import outreach_preferences_set
    from crm.services.outreach import unsubscribe_target

    target = unsubscribe_target(token=token)
    contact = Contact.objects.filter(pk=target[0]).first() if target else None
    if contact is None:
        return render(
            request, "crm/outreach/preferences.html", {"invalid": True}, status=400
        )
    current = contact_consents(contact=contact)
    if request.method == "POST":
        form = EmailPreferencesForm(request.POST)
        if form.is_valid():
            try:
                outreach_preferences_set(
                    token=token,
                    consents=dict(form.cleaned_data),
                    ip_address=request.META.get("REMOTE_ADDR"),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect(request.path + "?saved=1")
    else:
        form = EmailPreferencesForm(
            initial={
                purpose: current.get(purpose, False)
                for purpose in ("marketing_email", "surveys")
            }
        )
    return render(
        request,
        "crm/outreach/preferences.html",
        {
            "form": form,
            "contact": contact,
            "saved": request.GET.get("saved") == "1" and request.method == "GET",
        },
    )
