"""The gate that makes two-factor sign-in hold everywhere a session reaches: staff pages,
admin, the API over the session and the portal.

A staff member with a confirmed authenticator who has given only the password may open the
code page, sign out and switch language; everything else sends them to the code page (the
API answers 403). With ``STAFF_2FA_REQUIRED_FOR_ADMINS`` an Admin without an authenticator is
sent to set one up first. Requests authenticated by an API token carry no session user here
and are not affected. Sessions are checked when they sign in, so no page pays a query for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.roles import STAFF_ROLES, role_of
from crm.services.two_factor import two_factor_device, two_factor_required

# Always reachable, whatever the second factor's state.
OPEN_PATHS = ("/accounts/logout/", "/i18n/", "/health/", "/portal/logout/")
# Set in the session at sign-in when the person has an authenticator; cleared by the code.
CODE_PENDING = "rapport_2fa_pending"


def on_signed_in(
    sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any
) -> None:
    """Every way of signing in (staff page, admin, a test's force_login) marks a session
    whose owner has an authenticator as waiting for the code; the gate below holds it."""
    if request is None or user is None or role_of(user) not in STAFF_ROLES:
        return
    if two_factor_device(user=user) is not None:
        request.session[CODE_PENDING] = True


def is_verified(request: HttpRequest) -> bool:
    """Whether this session has passed the code (django-otp's OTPMiddleware marks it)."""
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())


class TwoFactorMiddleware:
    """Runs after django-otp's OTPMiddleware (which tells whether the session is verified)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or role_of(user) not in STAFF_ROLES:
            return None
        path = request.path
        if path.startswith(OPEN_PATHS) or path.startswith(settings.STATIC_URL):
            return None
        verify_url = reverse("login_verify")
        security_url = reverse("account_security")
        if request.session.get(CODE_PENDING):
            if is_verified(request) or path == verify_url:
                return None
            if path.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Enter your sign-in code first.")}, status=403
                )
            return redirect_to_login(request.get_full_path(), verify_url)
        # (Only with the setting on does this cost a query per request.)
        if (
            two_factor_required(user=user)
            and path not in (security_url, verify_url)
            and two_factor_device(user=user) is None
        ):
            if path.startswith("/api/"):
                return JsonResponse(
                    {"detail": _("Set up two-factor sign-in first.")}, status=403
                )
            return redirect(security_url)
        return None
