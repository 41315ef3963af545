"""Writes on the stored answers of ``Idempotency-Key`` requests (see ``crm.idempotency``)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from crm.models import IdempotencyRecord

# Stripe keeps keys for 24 hours: a retry is expected within minutes, not days.
IDEMPOTENCY_RETENTION = dt.timedelta(hours=24)


@transaction.atomic
def idempotency_records_purge(*, older_than: dt.datetime) -> int:
    """Forget the answers stored before ``older_than``; a later request with such a key runs anew."""
    deleted, _per_model = IdempotencyRecord.objects.filter(
        created_at__lt=older_than
    ).delete()
    return deleted
