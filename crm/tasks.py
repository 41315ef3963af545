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
def outreach_plan_birthdays() -> int:
    """Every minute: put birthdays whose local 09:00 has passed today in the outbox (once each)."""
    from crm.services import birthdays_plan

    return birthdays_plan(now=timezone.now())


@shared_task
def outreach_dispatch_due(limit: int = 200) -> int:
    """Every minute: mark stale sends unknown, claim due messages, queue one send per message."""
    from datetime import timedelta

    from crm.services import outbox_claim_due, outbox_mark_stale_unknown

    now = timezone.now()
    outbox_mark_stale_unknown(now=now, older_than=timedelta(minutes=15))
    ids = outbox_claim_due(now=now, limit=limit)
    for message_id in ids:
        outreach_send.delay(message_id)
    return len(ids)


@shared_task
def outreach_send(message_id: int) -> bool:
    """Send one claimed message; a duplicate delivery is a no-op (the service claims it)."""
    from crm.services import outbox_send

    return outbox_send(message_id=message_id)


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
