from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from crm.selectors import contact_ordering


class NewestFirstPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class DueFirstPagination(CursorPagination):
    ordering = ("due_at", "id")


class ContactCursorPagination(CursorPagination):
    """Cursor pages in any of the contact list's orderings (``?ordering=name|-created|…``)."""

    def get_ordering(
        self, request: Request, queryset: Any, view: Any
    ) -> tuple[str, ...]:
        return contact_ordering(request.query_params.get("ordering"))
