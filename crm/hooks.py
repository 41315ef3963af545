"""Registries through which other apps plug into crm without crm importing them.

crm is the core and imports no other app. Where it needs their part (demo data now; the
timeline, purchase events and personal-data export/erasure as their issues land), it calls
the functions registered here; each app registers in its ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Hook(Generic[F]):
    """An ordered list of functions registered by apps, called by crm."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._functions: list[F] = []

    def register(self, function: F) -> F:
        if function not in self._functions:
            self._functions.append(function)
        return function

    def unregister(self, function: F) -> None:
        if function in self._functions:
            self._functions.remove(function)

    def __iter__(self) -> Iterator[F]:
        return iter(list(self._functions))

    def __len__(self) -> int:
        return len(self._functions)


# seed(*, stdout_write) -> None: adds an app's demo data after crm's; must be idempotent.
demo_seeders: Hook[Callable[..., None]] = Hook("demo_seeders")

# fn(*, purchase_id: int) -> None: called inside the recording transaction, after the purchase
# row exists (loyalty earns points here, atomically with the purchase).
purchase_recorded: Hook[Callable[..., None]] = Hook("purchase_recorded")
# fn(*, refund_id: int) -> None: likewise for a refund (loyalty reverses the refunded part's points).
purchase_refunded: Hook[Callable[..., None]] = Hook("purchase_refunded")
# fn(*, survivor_id: int, merged_id: int) -> None: move this app's rows from merged to survivor,
# inside the merge transaction, before the merged contact is deleted.
contact_merged: Hook[Callable[..., None]] = Hook("contact_merged")
# fn(*, contact_id: int, kinds: set[str] | None, before: datetime | None, limit: int)
#   -> list[crm.timeline.TimelineEntry]: this app's newest entries for the contact's timeline.
timeline_sources: Hook[Callable[..., list[Any]]] = Hook("timeline_sources")
# fn(*, contact_id: int, event: str, data: dict) -> None: something happened to a contact that
# outreach may answer with a message, e.g. "tier_upgraded", "points_expiring", "survey_invited".
# Called inside the caller's transaction; listeners defer their own work with on_commit.
contact_events: Hook[Callable[..., None]] = Hook("contact_events")
# fn(*, request, contact) -> dict | None: a panel on the staff contact page, e.g. loyalty's
# {"id": "loyalty", "title": "Loyalty", "html": "<rendered fragment>", "order": 10}; None hides it.
contact_page_panels: Hook[Callable[..., Any]] = Hook("contact_page_panels")

# Personal data held by each app, for data-subject export and erasure. Each app registers a
# PersonalDataSource (crm.privacy) naming the models it covers, a function that exports a
# contact's rows and one that erases or anonymises them inside the erasure transaction.
personal_data: Hook[Any] = Hook("personal_data")
# fn(*, now: datetime) -> dict[str, int]: the nightly retention purge (crm.services.privacy)
# asks each app to purge what it no longer needs, e.g. feedback's stale survey invitations;
# the answer counts what was purged, by name.
retention_purgers: Hook[Callable[..., dict[str, int]]] = Hook("retention_purgers")
