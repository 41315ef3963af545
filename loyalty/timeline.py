"""Loyalty's part of the contact timeline (crm's ``timeline_sources`` hook): points, redemptions
and tier changes, at most one indexed query per kind (each built once: ``timeline_window``)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.timeline import TimelineEntry, timeline_window
from loyalty.models import PointsEntry, Redemption, TierChange

LOYALTY_TIMELINE_KINDS = {
    "points": gettext_lazy("Points"),
    "redemption": gettext_lazy("Redemption"),
    "tier": gettext_lazy("Tier change"),
}


def loyalty_timeline_entries(
    *, contact_id: int, kinds: set[str] | None, before: dt.datetime | None, limit: int
) -> list[TimelineEntry]:
    """The contact's newest ``limit`` loyalty entries older than ``before``."""
    entries: list[TimelineEntry] = []
    if kinds is None or "points" in kinds:
        for entry in timeline_window(
            "points",
            lambda cid: PointsEntry.objects.filter(
                account__contact_id=cid
            ).select_related("actor"),
            time_field="created_at",
            contact_id=contact_id,
            before=before,
            limit=limit,
        ):
            entries.append(
                TimelineEntry(
                    kind="points",
                    occurred_at=entry.created_at,
                    title=_("%(points)+d points: %(what)s")
                    % {"points": entry.points, "what": entry.description},
                    source="loyalty",
                    object_id=entry.pk,
                    actor=entry.actor.display_name if entry.actor else "",
                    data={
                        "entry_kind": entry.kind,
                        "points": entry.points,
                        "balance_after": entry.balance_after,
                        "expires_at": entry.expires_at.isoformat()
                        if entry.expires_at
                        else None,
                    },
                )
            )
    if kinds is None or "redemption" in kinds:
        for redemption in timeline_window(
            "redemption",
            lambda cid: Redemption.objects.filter(
                account__contact_id=cid
            ).select_related("reward", "created_by"),
            time_field="created_at",
            contact_id=contact_id,
            before=before,
            limit=limit,
        ):
            entries.append(
                TimelineEntry(
                    kind="redemption",
                    occurred_at=redemption.created_at,
                    title=_("Redeemed %(reward)s") % {"reward": redemption.reward.name},
                    body=redemption.voucher_code,
                    source="loyalty",
                    object_id=redemption.pk,
                    actor=redemption.created_by.display_name
                    if redemption.created_by
                    else "",
                    data={
                        "public_id": str(redemption.public_id),
                        "points": redemption.points,
                        "status": redemption.status,
                        "status_label": str(redemption.get_status_display()),
                    },
                )
            )
    if kinds is None or "tier" in kinds:
        for change in timeline_window(
            "tier",
            lambda cid: TierChange.objects.filter(
                account__contact_id=cid
            ).select_related("from_tier", "to_tier", "actor"),
            time_field="created_at",
            contact_id=contact_id,
            before=before,
            limit=limit,
        ):
            entries.append(
                TimelineEntry(
                    kind="tier",
                    occurred_at=change.created_at,
                    title=_("%(reason)s: %(tier)s")
                    % {
                        "reason": change.get_reason_display(),
                        "tier": change.to_tier.name if change.to_tier else "—",
                    },
                    body=change.note,
                    source="loyalty",
                    object_id=change.pk,
                    actor=change.actor.display_name if change.actor else "",
                    data={
                        "reason": change.reason,
                        "from_tier": change.from_tier.name
                        if change.from_tier
                        else None,
                        "to_tier": change.to_tier.name if change.to_tier else None,
                    },
                )
            )
    return entries
