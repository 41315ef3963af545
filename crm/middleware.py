from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


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
