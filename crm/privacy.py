"""The personal-data registry: what each app holds about a contact, to export and to erase.

Every app describes its part as ``PersonalDataSource`` objects registered through
``crm.hooks.personal_data`` (crm here, loyalty and feedback in their ``AppConfig.ready()``).
Export and erasure (``crm.services.privacy``) only ever walk this registry, so crm never
imports another app; the completeness test proves every model that leads to a contact is
covered by some source.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from django.utils.functional import Promise

from crm import hooks

Row = dict[str, Any]


@dataclass(frozen=True, eq=False)
class PersonalDataSource:
    """One section of a contact's personal data, e.g. ``crm.interactions``.

    ``export(contact_id)`` answers JSON-serialisable rows; ``erase(contact_id)`` removes or
    anonymises them inside the erasure transaction and answers how many rows it touched;
    ``count(contact_id)`` (optional) says how many rows an export would hold without building
    it, so the API knows when to answer at once and when to run a job.
    """

    name: str
    label: str | Promise
    models: tuple[type[models.Model], ...]
    export: Callable[[int], list[Row]]
    erase: Callable[[int], int]
    count: Callable[[int], int] | None = field(default=None)

    def row_count(self, contact_id: int) -> int:
        if self.count is not None:
            return self.count(contact_id)
        return len(self.export(contact_id))


def register(source: PersonalDataSource) -> PersonalDataSource:
    """Add a source to the registry (idempotent by name: a second ready() changes nothing)."""
    if any(s.name == source.name for s in hooks.personal_data):
        return source
    hooks.personal_data.register(source)
    return source


def sources() -> list[PersonalDataSource]:
    """Every registered source, in registration order (crm first, then the other apps)."""
    return list(hooks.personal_data)


def covered_models() -> set[type[models.Model]]:
    return {model for source in sources() for model in source.models}


class _Encoder(DjangoJSONEncoder):
    """Django's encoder (dates, Decimals, UUIDs) plus anything else as its text (phones)."""

    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def to_json(value: Any) -> Any:
    """``value`` reduced to plain JSON types (ISO dates, Decimals as text, phones as E.164)."""
    return json.loads(json.dumps(value, cls=_Encoder))


def rows(queryset: QuerySet[Any], fields: Sequence[str]) -> list[Row]:
    """The queryset's ``fields`` as JSON-ready dicts, oldest first by primary key."""
    return to_json(list(queryset.order_by("pk").values(*fields)))


def count_all(querysets: Iterable[QuerySet[Any]]) -> int:
    return sum(qs.count() for qs in querysets)
