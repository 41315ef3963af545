"""API-wide behaviour that DRF settings point to: the error format and schema component names.

Kept apart from config/api.py (the router), which imports every viewset: DRF imports these
while defining those viewsets.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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


TIME_OF_DAY = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$"


class RapportAutoSchema(AutoSchema):
    """Names nested ``Input``/``Output`` serializers (STYLE.md) after their view in the schema:
    ``CompanyViewSet.OutputSerializer`` becomes the component ``CompanyOutput``."""

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        qualname = serializer.__class__.__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        owner, _dot, name = qualname.rpartition(".")
        owner = owner.split(".")[-1].removesuffix("ViewSet").removesuffix("View")
        return owner + name.removesuffix("Serializer")

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        # A send time is a wall-clock time in the contact's zone ("09:00:00"), which is not
        # JSON Schema's "time" format (that one needs an offset): describe it by its pattern.
        if isinstance(field, serializers.TimeField):
            return {"type": "string", "pattern": TIME_OF_DAY, "example": "09:00:00"}
        return super()._map_serializer_field(field, direction, bypass_extensions)
