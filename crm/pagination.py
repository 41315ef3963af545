"""Keyset ("cursor") pagination over any ordering that ends with a unique column.

Each page is one indexed range query after (or before) the previous page's last row: no OFFSET
and no COUNT, so page 10,000 costs what page 1 does, and ties in the first column (thousands of
contacts named Kim) never repeat or skip rows. Used by the staff list pages and the API.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Model, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.db.models.fields.tuple_lookups import (  # Django's row-value comparisons
    Tuple,
    TupleGreaterThan,
    TupleLessThan,
)

PAGE_SIZE = 50


@dataclass
class KeysetPage:
    """One page of rows and the opaque cursors of its neighbours (None at either end)."""

    object_list: list[Any] = field(default_factory=list)
    next_cursor: str | None = None
    previous_cursor: str | None = None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def _encode_cursor(
    direction: str, row: Model | Mapping[str, Any], ordering: tuple[str, ...]
) -> str:
    values = []
    for name in ordering:
        column = name.lstrip("-")
        # Rows are model instances, or dictionaries from ``.values()`` holding the columns.
        value = row[column] if isinstance(row, Mapping) else getattr(row, column)
        values.append(value.isoformat() if isinstance(value, dt.datetime) else value)
    raw = json.dumps({"d": direction, "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(
    cursor: str, model: type[Model], ordering: tuple[str, ...]
) -> tuple[str, list[Any]] | None:
    """(direction, values) from a cursor; None for anything we did not make (→ first page)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        direction, values = data["d"], data["v"]
        if direction not in ("n", "p") or len(values) != len(ordering):
            return None
        return direction, [
            None if value is None else _field(model, name).to_python(value)
            for name, value in zip(ordering, values, strict=True)
        ]
    except (ValueError, KeyError, TypeError, binascii.Error, ValidationError):
        return None


def _field(model: type[Model], name: str) -> Any:
    return model._meta.get_field(name.lstrip("-"))


def _nothing() -> Q:
    return Q(pk__in=[])


def _row_beyond(
    model: type[Model], ordering: tuple[str, ...], values: list[Any], forward: bool
) -> Any:
    """``(a, b, id) > (x, y, z)`` when every column sorts the same way and none is NULL: one
    index range condition, where the expanded form below starts at the first ``a = x`` row
    and filters its way to the cursor (20,000 rows for a page deep among a million
    contacts named "Ana Smith"). None when the ordering does not allow it."""
    ascending = {not name.startswith("-") for name in ordering}
    if len(ascending) != 1 or None in values:
        return None
    if any(_field(model, name).null for name in ordering):
        return None
    lookup = TupleGreaterThan if ascending.pop() == forward else TupleLessThan
    return lookup(Tuple(*(F(name.lstrip("-")) for name in ordering)), tuple(values))


def _beyond(
    model: type[Model], ordering: tuple[str, ...], values: list[Any], forward: bool
) -> Any:
    """Rows strictly after (``forward``) or before the row with ``values`` in ``ordering``,
    where every column sorts with NULLs last: (a > x) OR (a = x AND b > y) OR …"""
    if (row := _row_beyond(model, ordering, values, forward)) is not None:
        return row
    condition = _nothing()
    equal = Q()
    for name, value in zip(ordering, values, strict=True):
        column = name.lstrip("-")
        ascending = not name.startswith("-")
        nullable = model._meta.get_field(column).null
        if forward:
            if value is None:
                step = _nothing()  # nothing sorts after NULL in this column
            else:
                step = Q(**{f"{column}__{'gt' if ascending else 'lt'}": value})
                if nullable:
                    step |= Q(**{f"{column}__isnull": True})
        elif value is None:
            step = Q(**{f"{column}__isnull": False})
        else:
            step = Q(**{f"{column}__{'lt' if ascending else 'gt'}": value})
        condition |= equal & step
        equal &= (
            Q(**{f"{column}__isnull": True}) if value is None else Q(**{column: value})
        )
    # Repeat the first column's bound on its own so the database can start an index scan there
    # instead of reading every earlier row.
    first, first_value = ordering[0], values[0]
    column = first.lstrip("-")
    if first_value is not None and not model._meta.get_field(column).null:
        upward = (not first.startswith("-")) == forward
        condition &= Q(**{f"{column}__{'gte' if upward else 'lte'}": first_value})
    return condition


def _order_by(
    model: type[Model], ordering: tuple[str, ...], forward: bool
) -> list[OrderBy]:
    """``ordering`` (or its exact reverse); nullable columns put NULLs last (first reversed)."""
    expressions = []
    for name in ordering:
        column = name.lstrip("-")
        descending = name.startswith("-") == forward
        nulls: dict[str, bool] = {}
        if model._meta.get_field(column).null:
            nulls = {"nulls_last": True} if forward else {"nulls_first": True}
        expression = F(column)
        expressions.append(
            expression.desc(**nulls) if descending else expression.asc(**nulls)
        )
    return expressions


def keyset_paginate(
    queryset: QuerySet[Any],
    *,
    ordering: tuple[str, ...],
    cursor: str | None,
    size: int = PAGE_SIZE,
) -> KeysetPage:
    """A page of ``queryset`` after/before the cursor's row: one indexed range query, no
    OFFSET and no COUNT, so page 10,000 costs what page 1 does. ``ordering`` ends with a
    unique column; NULLs sort last in every direction."""
    model = queryset.model
    decoded = _decode_cursor(cursor, model, ordering) if cursor else None
    direction, values = decoded if decoded else ("n", None)
    forward = direction == "n"
    if values is not None:
        queryset = queryset.filter(_beyond(model, ordering, values, forward))
    rows = list(queryset.order_by(*_order_by(model, ordering, forward))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    page = KeysetPage(object_list=rows)
    if rows:
        if (more if forward else True) and (forward or values is not None):
            page.next_cursor = _encode_cursor("n", rows[-1], ordering)
        if (values is not None) if forward else more:
            page.previous_cursor = _encode_cursor("p", rows[0], ordering)
    return page
