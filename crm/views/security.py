"""Staff account security: two-factor sign-in set-up (`/account/security/`) and the code asked
for after the password (`/accounts/login/verify/`)."""

from __future__ import annotations

import base64

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login

from crm.forms import add_service_errors
from crm.permissions import AuthenticatedRequest, staff_required
from crm.services.two_factor import (
    two_factor_device,
    two_factor_disable,
    two_factor_enrol_confirm,
    two_factor_enrol_start,
    two_factor_pending,
    two_factor_required,
    two_factor_verify,
)
from crm.two_factor import CODE_PENDING, is_verified

WRONG_CODES = "rapport_2fa_wrong_codes"


class CodeForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("6-digit code"),
        max_length=8,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step of a staff sign-in: the current code of the person's authenticator.
    Wrong codes are throttled by django-otp; after AXES_FAILURE_LIMIT of them the session is
    signed out, so the next try starts again from the password (which django-axes counts)."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    user = request.user
    if is_verified(request) or not request.session.get(CODE_PENDING):
        return redirect(_next_url(request))
    if two_factor_device(user=user) is None:  # turned off elsewhere meanwhile
        request.session.pop(CODE_PENDING, None)
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_verify(user=user, token=form.cleaned_data["token"])
        except ValidationError as error:
            add_service_errors(form, error)
            wrong = request.session.get(WRONG_CODES, 0) + 1
            request.session[WRONG_CODES] = wrong
            if wrong >= settings.AXES_FAILURE_LIMIT:
                logout(request)
                messages.error(
                    request,
                    _("Too many wrong codes. Sign in again with your password."),
                )
                return redirect(settings.LOGIN_URL)
        else:
            otp_login(request, device)
            request.session.pop(CODE_PENDING, None)
            request.session.pop(WRONG_CODES, None)
            return redirect(_next_url(request))
    return render(
        request,
        "crm/security/verify.html",
        {"form": form, "next": _next_url(request)},
    )


def _qr_svg(config_url: str) -> str:
    """The set-up link as an inline SVG QR code (no image request, no inline style)."""
    return str(segno.make(config_url, error="m").svg_inline(scale=4))


@never_cache
@staff_required
def account_security(request: AuthenticatedRequest) -> HttpResponse:
    """Turn two-factor sign-in on (QR code + secret, confirmed with a code) or off (a code)."""
    user = request.user
    form = CodeForm()
    action = request.POST.get("action", "")
    if request.method == "POST":
        try:
            if action == "start":
                two_factor_enrol_start(user=user)
                return redirect("account_security")
            form = CodeForm(request.POST)
            if form.is_valid():
                token = form.cleaned_data["token"]
                if action == "confirm":
                    device = two_factor_enrol_confirm(
                        user=user, token=token, request=request
                    )
                    otp_login(request, device)  # this session already proved the code
                    request.session[CODE_PENDING] = True
                    messages.success(request, _("Two-factor sign-in is on."))
                    return redirect("account_security")
                if action == "disable":
                    two_factor_disable(user=user, token=token, request=request)
                    request.session.pop(CODE_PENDING, None)
                    messages.success(request, _("Two-factor sign-in is off."))
                    return redirect("account_security")
        except ValidationError as error:
            add_service_errors(form, error)
    device = two_factor_device(user=user)
    pending = None if device else two_factor_pending(user=user)
    context = {
        "device": device,
        "pending": pending,
        "required": two_factor_required(user=user),
        "form": form,
    }
    if pending is not None:
        context["qr_svg"] = _qr_svg(pending.config_url)
        secret = base64.b32encode(pending.bin_key).decode()
        context["secret"] = " ".join(
            secret[i : i + 4] for i in range(0, len(secret), 4)
        )
    return render(request, "crm/security/security.html", context)
