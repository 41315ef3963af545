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
