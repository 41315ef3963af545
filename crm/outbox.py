"""Reading the outreach outbox for staff: filters and per-status counts (pages and API share them)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from crm.models import OutboundMessage

Status = OutboundMessage.Status
ORDERING = ("-created_at", "-id")


def outbox_messages(
    *,
    status: str = "",
    occasion: str = "",
    skip_reason: str = "",
    q: str = "",
    contact_id: int | None = None,
    occurrence: str = "",
) -> QuerySet[OutboundMessage]:
    """Every outbox row matching the filters (blank means any), with its contact loaded."""
    qs = OutboundMessage.objects.select_related("contact")
    if status:
        qs = qs.filter(status__in=status.split(","))
    if occasion:
        qs = qs.filter(occasion=occasion)
    if occurrence:  # e.g. one campaign's messages: occasion=campaign&occurrence=<id>
        qs = qs.filter(occurrence=occurrence)
    if skip_reason:
        qs = qs.filter(skip_reason=skip_reason)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    for word in q.split():
        qs = qs.filter(
            Q(contact__given_name__icontains=word)
            | Q(contact__family_name__icontains=word)
            | Q(contact__email__icontains=word)
        )
    return qs


def outbox_status_counts(queryset: QuerySet[OutboundMessage]) -> dict[str, int]:
    """How many rows of ``queryset`` are in each status, in one aggregate query."""
    return queryset.order_by().aggregate(
        **{value: Count("id", filter=Q(status=value)) for value in Status.values}
    )


def outbox_occasions() -> list[str]:
    """The occasions the outbox has rows for, for the filter's choices."""
    return list(
        OutboundMessage.objects.order_by("occasion")
        .values_list("occasion", flat=True)
        .distinct()
    )


def outbox_counts_by_occurrence(
    *, occasion: str, occurrences: list[str]
) -> dict[str, dict[str, int]]:
    """Per occurrence (e.g. each campaign's id), its rows by status, in one grouped query."""
    counts: dict[str, dict[str, int]] = {key: {} for key in occurrences}
    if not occurrences:
        return counts
    rows = (
        OutboundMessage.objects.filter(occasion=occasion, occurrence__in=occurrences)
        .order_by()
        .values("occurrence", "status")
        .annotate(count=Count("id"))
    )
    for row in rows:
        counts[row["occurrence"]][row["status"]] = row["count"]
    return counts
