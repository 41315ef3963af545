"""feedback's periodic jobs: each takes no model instances and is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task
def survey_invitations_send_due() -> int:
    """Hourly: emit triggered ("N days after a purchase") invitations whose date has come."""
    from feedback.services import invitations_send_due

    return invitations_send_due(now=timezone.now())


@shared_task
def survey_reminders_send_daily() -> int:
    """Daily: remind unanswered, unexpired invitations (at most N, at least D days apart)."""
    from feedback.services import invitation_reminders_send

    return invitation_reminders_send(now=timezone.now())
