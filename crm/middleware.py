from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from crm.services.audit import audit_request_bind, audit_request_unbind
from crm.services.audit_events import permission_denied_record


class UserPreferencesMiddleware:
    """Show a signed-in user the site in their own language and time zone.

    The language switcher stores the choice on the user (and in the language cookie for
    anonymous visitors), so the preference follows them across browsers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
            if user.timezone:
                timezone.activate(user.timezone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class AuditMiddleware:
    """Let audit entries name the address they came from, and record every refusal (403)
    answered to a signed-in user or an API client, in the UI, the API and admin."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = audit_request_bind(request)
        try:
            response = self.get_response(request)
        finally:
            audit_request_unbind(token)
        if response.status_code == 403:
            # DRF puts a token-authenticated user on the Django request too.
            user = getattr(request, "user", None)
            signed_in = bool(user is not None and user.is_authenticated)
            if signed_in or request.path.startswith("/api/"):
                permission_denied_record(request=request)
        return response
