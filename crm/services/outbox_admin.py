"""Staff actions on the outreach outbox (the engine itself lives in crm.services.outreach)."""

from __future__ import annotations

from crm.models import OutboundMessage

Status = OutboundMessage.Status


def outbox_retry(*, message: OutboundMessage) -> bool:
    """Put a failed message back in the outbox (failed → planned); True if it was failed.

    The status is re-checked in the one conditional UPDATE, so a message that is sent,
    sending or ``unknown`` (maybe delivered) is never planned again, whatever the caller saw.
    """
    changed = OutboundMessage.objects.filter(
        pk=message.pk, status=Status.FAILED
    ).update(status=Status.PLANNED)
    if changed:
        message.status = Status.PLANNED
    return bool(changed)
