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
def contact_import_run(job_id: int) -> str | None:
    """Run a contact import; a second delivery of the same job is a no-op (the service claims it)."""
    from crm.services import import_job_run

    job = import_job_run(job_id=job_id)
    return job.status if job is not None else None
