"""API pagination: keyset pages (crm.pagination) in DRF's shape, ``next``/``previous``/``results``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from crm.pagination import PAGE_SIZE, KeysetPage, keyset_paginate
from crm.selectors import contact_ordering


class KeysetPagination(BasePagination):
    """Cursor pages that stay exact and fast at any depth, whatever the ties in the ordering."""

    ordering: tuple[str, ...] = ("-created_at", "-id")
    cursor_query_param = "cursor"
    page_size = PAGE_SIZE

    def get_ordering(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> tuple[str, ...]:
        return self.ordering

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any]:
        """``queryset`` must be a QuerySet: keyset pages are range queries."""
        self.request = request
        self.page: KeysetPage = keyset_paginate(
            queryset,
            ordering=self.get_ordering(request, queryset, view),
            cursor=request.query_params.get(self.cursor_query_param),
            size=self.page_size,
        )
        return self.page.object_list

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The pagination cursor value.",
                "schema": {"type": "string"},
            }
        ]


class NewestFirstPagination(KeysetPagination):
    ordering = ("-created_at", "-id")


class DueFirstPagination(KeysetPagination):
    ordering = ("due_at", "id")


class ContactCursorPagination(KeysetPagination):
    """Keyset pages in any of the contact list's orderings (``?ordering=name|-created|…``)."""

    def get_ordering(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> tuple[str, ...]:
        return contact_ordering(
            request.query_params.get("ordering"),
            searching=bool(request.query_params.get("search", "").strip()),
        )
