"""The contact timeline: one newest-first stream merged from every app's sources.

Each source (crm's own below; loyalty, feedback and outreach through ``hooks.timeline_sources``)
returns at most ``limit`` entries older than ``before``; the merge keeps the newest ``limit``.
A page is therefore at most one indexed query per source, at any depth.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from crm import hooks
from crm.currencies import quantize
from crm.models import (
    ContactMerge,
    Interaction,
    OutboundMessage,
    Purchase,
    Refund,
    Task,
)
from crm.querycache import cached_rows

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class TimelineEntry:
    """One item on a contact's timeline, in a shape every app can produce."""

    kind: str  # e.g. "call", "purchase", "refund", "task", "merge", "points", "ticket"
    occurred_at: dt.datetime
    title: str
    body: str = ""
    source: str = "crm"
    object_id: int | None = None
    actor: str = ""
    data: dict[str, Any] = field(default_factory=dict)


# Kinds staff can filter the timeline by; other apps' kinds are added by their sources.
TIMELINE_KINDS = {
    **{kind.value: kind.label for kind in Interaction.Kind},
    "purchase": _("Purchase"),
    "refund": _("Refund"),
    "task": _("Task"),
    "merge": _("Merge"),
    "outreach": _("Outreach"),
}


def timeline_window(
    key: Hashable,
    build: Callable[[int], QuerySet[M]],
    *,
    time_field: str,
    contact_id: int,
    before: dt.datetime | None,
    limit: int,
) -> list[M]:
    """The newest ``limit`` rows of ``build(contact_id)`` older than ``before``, by
    ``time_field`` then id. Each source's statement is built once per shape (``key`` names
    what else shapes it, e.g. a list of kinds) and then only run: see ``crm.querycache``."""

    def window(contact_id: int, before: dt.datetime | None = None) -> QuerySet[M]:
        qs = build(contact_id)
        if before is not None:
            qs = qs.filter(**{f"{time_field}__lt": before})
        return qs.order_by(f"-{time_field}", "-id")[:limit]

    values: dict[str, Any] = {"contact_id": contact_id}
    if before is not None:
        values["before"] = before
    return cached_rows(("timeline", key, time_field, limit), window, **values)


def _crm_entries(
    *, contact_id: int, kinds: set[str] | None, before: dt.datetime | None, limit: int
) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    interaction_kinds = {k.value for k in Interaction.Kind}
    wanted = interaction_kinds if kinds is None else kinds & interaction_kinds
    if wanted:
        kinds_wanted = sorted(wanted)
        for item in timeline_window(
            ("interaction", *kinds_wanted),
            lambda cid: Interaction.objects.filter(
                contact_id=cid, kind__in=kinds_wanted
            ).select_related("author"),
            time_field="occurred_at",
            contact_id=contact_id,
            before=before,
            limit=limit,
        ):
            entries.append(
                TimelineEntry(
                    kind=item.kind,
                    occurred_at=item.occurred_at,
                    title=item.subject or str(item.get_kind_display()),
                    body=item.body,
                    object_id=item.pk,
                    actor=item.author.display_name if item.author else "",
                    data={
                        "direction": item.direction,
                        "direction_label": str(item.get_direction_display()),
                        "duration_seconds": item.duration_seconds,
                    },
                )
            )
    if kinds is None or "purchase" in kinds:
        for purchase in timeline_window(
            "purchase",
            lambda cid: Purchase.objects.filter(contact_id=cid),
            time_field="occurred_at",
            contact_id=contact_id,
            before=before,
            limit=limit,
        ):
            entries.append(
                TimelineEntry(
                    kind="purchase",
                    occurred_at=purchase.occurred_at,
                    title=str(_("Purchase")),
                    object_id=purchase.pk,
                    data={
                        "amount": str(quantize(purchase.amount, purchase.currency)),
                        "currency": purchase.currency,
                        "amount_base": str(
                            quantize(purchase.amount_base, purchase.base_currency)
                        ),
                        "base_currency": purchase.base_currency,
                        "refunded_amount": str(
                            quantize(purchase.refunded_amount, purchase.currency)
                        ),
                        "external_id": purchase.external_id,
                    },
                )
            )
    if kinds is None or "refund" in kinds:
        for refund in timeline_window(
            "refund",
            lambda cid: Refund.objects.filter(purchase__contact_id=cid).select_related(
                "purchase"
            ),
            time_field="occurred_at",
            contact_id=contact_id,
            before=before,
            limit=limit,
        ):
            entries.append(
                TimelineEntry(
                    kind="refund",
                    occurred_at=refund.occurred_at,
                    title=str(_("Refund")),
                    body=refund.reason,
                    object_id=refund.pk,
                    data={
                        "amount": str(
                            quantize(refund.amount, refund.purchase.currency)
                        ),
                        "currency": refund.purchase.currency,
                        "purchase_id": refund.purchase_id,
                    },
                )
            )
    if kinds is None or "task" in kinds:
        for task in timeline_window(
            "task",
            lambda cid: Task.objects.filter(contact_id=cid).select_related("assignee"),
            time_field="created_at",
            contact_id=contact_id,
            before=before,
            limit=limit,
        ):
            entries.append(
                TimelineEntry(
                    kind="task",
                    occurred_at=task.created_at,
                    title=task.title,
                    body=task.notes,
                    object_id=task.pk,
                    actor=task.assignee.display_name,
                    data={
                        "due_at": task.due_at.isoformat(),
                        "completed": task.completed_at is not None,
                    },
                )
            )
    if kinds is None or "merge" in kinds:
        for merge in timeline_window(
            "merge",
            lambda cid: ContactMerge.objects.filter(survivor_id=cid).select_related(
                "merged_by"
            ),
            time_field="merged_at",
            contact_id=contact_id,
            before=before,
            limit=limit,
        ):
            entries.append(
                TimelineEntry(
                    kind="merge",
                    occurred_at=merge.merged_at,
                    title=str(_("Merged with %(name)s") % {"name": merge.merged_name}),
                    object_id=merge.pk,
                    actor=merge.merged_by.display_name if merge.merged_by else "",
                    data={
                        "merged_contact_id": merge.merged_contact_id,
                        "merged_email": merge.merged_email,
                    },
                )
            )
    if kinds is None or "outreach" in kinds:
        entries += _outreach_entries(contact_id=contact_id, before=before, limit=limit)
    return entries


def _outreach_entries(
    *, contact_id: int, before: dt.datetime | None, limit: int
) -> list[TimelineEntry]:
    """Outbox messages that went (``sent``) or may have gone (``unknown``) to the contact."""
    messages = timeline_window(
        "outreach",
        lambda cid: OutboundMessage.objects.filter(
            contact_id=cid,
            status__in=[OutboundMessage.Status.SENT, OutboundMessage.Status.UNKNOWN],
        ).annotate(occurred_at=Coalesce("sent_at", "sending_at", "scheduled_for")),
        time_field="occurred_at",
        contact_id=contact_id,
        before=before,
        limit=limit,
    )
    return [
        TimelineEntry(
            kind="outreach",
            occurred_at=message.occurred_at,  # type: ignore[attr-defined]  # annotated
            title=message.subject or str(_("Outreach")),
            body=message.body_text,
            object_id=message.pk,
            data={
                "direction": Interaction.Direction.OUTBOUND.value,
                "direction_label": str(Interaction.Direction.OUTBOUND.label),
                "channel": message.channel,
                "occasion": message.occasion,
                "occurrence": message.occurrence,
                "status": message.status,
                "status_label": str(message.get_status_display()),
            },
        )
        for message in messages
    ]


def contact_timeline(
    *,
    contact_id: int,
    kinds: set[str] | None = None,
    before: dt.datetime | None = None,
    limit: int = 50,
) -> list[TimelineEntry]:
    """The newest ``limit`` entries older than ``before`` across every source, newest first."""
    streams = [
        _crm_entries(contact_id=contact_id, kinds=kinds, before=before, limit=limit)
    ]
    streams += [
        source(contact_id=contact_id, kinds=kinds, before=before, limit=limit)
        for source in hooks.timeline_sources
    ]
    entries = [entry for stream in streams for entry in stream]
    return heapq.nlargest(
        limit, entries, key=lambda e: (e.occurred_at, e.object_id or 0)
    )
