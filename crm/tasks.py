from typing import Any

from celery import shared_task
from django.db import connection
from django.utils import timezone


@shared_task
def health_heartbeat() -> dict[str, Any]:
    """Prove the worker can reach the database: a beat job, and the round trip the tests check."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return {
        "database": "ok" if one == 1 else "error",
        "vendor": connection.vendor,
        "name": str(connection.settings_dict["NAME"]),
        "at": timezone.now().isoformat(),
    }


@shared_task
def contacts_mark_churned_daily() -> int:
    """Daily: churn customers whose last purchase is older than the churn window (DESIGN §5)."""
    from crm.services import contacts_mark_churned

    return contacts_mark_churned(now=timezone.now())


@shared_task
def idempotency_records_purge_daily() -> int:
    """Daily: forget stored Idempotency-Key answers older than their 24-hour retention."""
    from crm.services import idempotency_records_purge
    from crm.services.idempotency import IDEMPOTENCY_RETENTION

    return idempotency_records_purge(older_than=timezone.now() - IDEMPOTENCY_RETENTION)


@shared_task
def outreach_plan() -> dict[str, int]:
    """Every minute: plan every dated occasion whose local send time has come (once each)."""
    from crm.services import outreach_plan as plan

    return plan(now=timezone.now())


@shared_task
def outreach_plan_birthdays() -> int:
    """Plan birthdays whose local send time has passed today (once each)."""
    from crm.services import birthdays_plan

    return birthdays_plan(now=timezone.now())


# Messages sent over one SMTP connection by one task.
SEND_BATCH = 50


@shared_task
def outreach_dispatch_due(limit: int = 500) -> int:
    """Every minute: mark stale sends unknown, skip the missed, claim due messages (and queue
    again the ones whose task was lost), one send task per batch."""
    from crm.services import (
        outbox_claim_due,
        outbox_lost_queued,
        outbox_mark_stale_unknown,
        outbox_skip_missed,
    )

    now = timezone.now()
    outbox_mark_stale_unknown(now=now)
    outbox_skip_missed(now=now)
    ids = outbox_lost_queued(now=now, limit=limit) + outbox_claim_due(
        now=now, limit=limit
    )
    for start in range(0, len(ids), SEND_BATCH):
        outreach_send.delay(ids[start : start + SEND_BATCH])
    return len(ids)


@shared_task
def outreach_send(message_ids: int | list[int]) -> int:
    """Send claimed messages over one connection; a duplicate delivery is a no-op (each row
    is claimed by a conditional UPDATE). Returns how many were sent."""
    from crm.services import outbox_send_batch

    ids = [message_ids] if isinstance(message_ids, int) else list(message_ids)
    return outbox_send_batch(message_ids=ids)


@shared_task
def contact_import_run(job_id: int) -> str | None:
    """Run a contact import; a second delivery of the same job is a no-op (the service claims it)."""
    from crm.services import import_job_run

    job = import_job_run(job_id=job_id)
    return job.status if job is not None else None


@shared_task
def customer_sign_in_link_send(user_id: int, portal_url: str) -> None:
    """Email a customer their single-use, expiring portal sign-in link, in their language."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string
    from django.utils import translation
    from sesame.utils import get_query_string

    from crm.models import User

    user = (
        User.objects.filter(pk=user_id, is_active=True, is_staff=False)
        .select_related("contact")
        .first()
    )
    if user is None:
        return
    contact = getattr(user, "contact", None)
    language = (
        (contact.language if contact else "") or user.language or settings.LANGUAGE_CODE
    )
    link = f"{portal_url.rstrip('/')}/enter/{get_query_string(user)}"
    with translation.override(language):
        context = {
            "name": contact.display_name if contact else user.display_name,
            "link": link,
            "minutes": settings.SESAME_MAX_AGE // 60,
        }
        subject = render_to_string("emails/portal_sign_in_subject.txt", context).strip()
        text = render_to_string("emails/portal_sign_in.txt", context)
        html = render_to_string("emails/portal_sign_in.html", context)
    message = EmailMultiAlternatives(subject, text, to=[user.email])
    message.attach_alternative(html, "text/html")
    message.send()


@shared_task
def data_export_run_task(export_id: int) -> str:
    """Build one personal-data archive (progress in the row); a second run is a no-op."""
    from crm.services.privacy import data_export_run

    export = data_export_run(export_id=export_id)
    return export.status if export is not None else "skipped"


@shared_task
def privacy_erasure_confirmation_send(contact_id: int, confirm_url: str) -> None:
    """Email a customer the link that confirms their own erasure, in their language."""
    from django.conf import settings
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.utils import translation

    from crm.models import Contact

    contact = Contact.objects.filter(pk=contact_id, erased_at__isnull=True).first()
    if contact is None or not contact.email:
        return
    with translation.override(contact.language or settings.LANGUAGE_CODE):
        context = {"name": contact.display_name, "link": confirm_url, "hours": 24}
        subject = render_to_string(
            "emails/privacy_erase_confirm_subject.txt", context
        ).strip()
        text = render_to_string("emails/privacy_erase_confirm.txt", context)
    EmailMessage(subject, text, to=[contact.email]).send()


@shared_task
def privacy_retention_purge_nightly() -> dict[str, int]:
    """Nightly: purge what the retention settings say is no longer needed."""
    from crm.services.privacy import privacy_retention_purge

    return privacy_retention_purge(now=timezone.now())
