"""The one REST router (`/api/v1/`) and the API-wide error format."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from rest_framework import exceptions, routers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crm.api.users import MeView

router = routers.DefaultRouter()
# Each app registers its viewsets here as its issue lands, e.g.:
# router.register("contacts", ContactViewSet, basename="contact")

urlpatterns = [path("me/", MeView.as_view(), name="me"), *router.urls]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn a service's Django ``ValidationError`` into a 400 that names each field.

    Services raise Django's ``ValidationError`` (HackSoft style); clients get
    ``{"field": ["translated message", ...]}`` or ``{"detail": [...]}`` for non-field errors.
    """
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail: Any = {
                ("detail" if field == "__all__" else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            detail = {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    return drf_exception_handler(exc, context)
