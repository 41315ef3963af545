"""Expiry: lots lapse one by one when their date passes; members hear about it beforehand once."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from loyalty.models import ExpiryWarning, PointsEntry, Program
from loyalty.services.ledger import emit_contact_event, lock_account, post_entry


def expire_key(lot_id: int) -> str:
    return f"expire:{lot_id}"


def points_expire_due(*, now: dt.datetime) -> int:
    """Expire what is left of every lot with ``expires_at`` ≤ ``now``: one expire entry per lot
    (key ``expire:<lot>``), each account in its own locked transaction. Safe to run twice;
    returns how many lots expired."""
    program = Program.load()
    due = PointsEntry.objects.filter(remaining__gt=0, expires_at__lte=now)
    account_ids = due.order_by("account_id").values_list("account_id", flat=True)
    expired = 0
    for account_id in account_ids.distinct().iterator(chunk_size=1000):
        expired += _expire_account(account_id=account_id, now=now, program=program)
    return expired


@transaction.atomic
def _expire_account(*, account_id: int, now: dt.datetime, program: Program) -> int:
    account = lock_account(account_id)
    lots = PointsEntry.objects.filter(
        account_id=account_id, remaining__gt=0, expires_at__lte=now
    ).order_by("expires_at", "id")
    expired = 0
    for lot in lots:
        _entry, created = post_entry(
            account=account,
            kind=PointsEntry.Kind.EXPIRE,
            points=-lot.remaining,
            key=expire_key(lot.pk),
            now=now,
            program=program,
            source_type="loyalty.lot",
            source_id=str(lot.pk),
            lot=lot,
        )
        expired += created
    return expired


def points_warn_expiring(*, now: dt.datetime) -> int:
    """Tell outreach, once per lot, that points expire within ``expiry_warning_days``: the
    ``points_expiring`` contact event. Safe to run twice; returns how many lots were announced."""
    program = Program.load()
    if not program.expiry_months:
        return 0
    horizon = now + dt.timedelta(days=program.expiry_warning_days)
    lots = (
        PointsEntry.objects.filter(
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=horizon,
            expiry_warning__isnull=True,
        )
        .select_related("account")
        .order_by("expires_at", "id")
    )
    warned = 0
    for lot in lots.iterator(chunk_size=500):
        warned += _warn(lot=lot, now=now)
    return warned


@transaction.atomic
def _warn(*, lot: PointsEntry, now: dt.datetime) -> int:
    # The one-row-per-lot key makes a second beat (or a retried task) a no-op.
    _warning, created = ExpiryWarning.objects.get_or_create(
        lot=lot, defaults={"created_at": now}
    )
    if not created:
        return 0
    assert lot.expires_at is not None
    emit_contact_event(
        contact_id=lot.account.contact_id,
        event="points_expiring",
        data={
            "account_id": lot.account_id,
            "lot_id": lot.pk,
            "points": lot.remaining,
            "expires_at": lot.expires_at.isoformat(),
            "balance": lot.account.balance,
        },
    )
    return 1
