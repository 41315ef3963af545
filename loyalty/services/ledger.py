"""The one way points move: ``post_entry`` under the account's row lock, with lots and their uses.

Every balance change in loyalty goes through ``post_entry``. It is idempotent per key, keeps
``balance == sum(entries)``, makes each credit a lot (with its expiry) and makes each debit
consume lots nearest-expiry-first. Only callers that pass ``allow_negative`` (a refund
reversal) may take the balance below zero; that unpaid part is paid off by the next lots.
"""

from __future__ import annotations

import calendar
import datetime as dt
import secrets
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from crm import hooks
from crm.models import User
from crm.querycache import cached_rows
from crm.writes import insert, insert_unless_taken, save_fields
from loyalty.models import LotUse, LoyaltyAccount, PointsEntry, Program

# Referral and voucher codes: no 0/O, 1/I/L, so they survive being read out or typed.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Far beyond any real movement, and well inside the 64-bit columns even when summed.
MAX_POINTS = 10**15
_LOCKED = "_loyalty_row_locked"
_BATCH = 200
# A deduction is nearly always covered by its first lot or two: read a few first, not a page.
_FIRST_BATCH = 4


class LoyaltyConflict(ValidationError):
    """The request is valid but the account's state refuses it (the API answers 409)."""


class InsufficientPoints(LoyaltyConflict):
    """A deduction larger than the balance (or any deduction from a negative balance)."""


class RewardUnavailable(LoyaltyConflict):
    """The reward is inactive, outside its dates, out of stock or above the member's tier."""


def random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(length))


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` moved by whole calendar months; the 31st becomes the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def points_for(value: Decimal, rounding: str) -> int:
    """Whole points for a decimal amount: rounded down or to the nearest (halves up)."""
    mode = ROUND_DOWN if rounding == Program.Rounding.DOWN else ROUND_HALF_UP
    with localcontext() as context:
        context.prec = 60
        return int(value.quantize(Decimal(1), rounding=mode))


def _locked_account(
    key: str, *, with_tier: bool = True, **filters: int
) -> LoyaltyAccount | None:
    """The account matching ``filters`` (one exact value), found and locked until the
    transaction ends in one statement, so its balance cannot change under us; None if none.
    ``with_tier`` reads its tier with it (earning multiplies by it, tier changes compare it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Lock a loyalty account inside transaction.atomic().")

    def build(**values: int) -> QuerySet[LoyaltyAccount]:
        accounts = LoyaltyAccount.objects.select_for_update(of=("self",))
        return (accounts.select_related("tier") if with_tier else accounts).filter(
            **values
        )

    locked = cached_rows((key, with_tier), build, **filters)
    if not locked:
        return None
    account = locked[0]
    setattr(account, _LOCKED, True)
    return account


def lock_account(account_id: int) -> LoyaltyAccount:
    """The account row, locked until the transaction ends, so its balance cannot change under us."""
    account = _locked_account("loyalty.lock_account", pk=account_id)
    if account is None:
        raise LoyaltyAccount.DoesNotExist(f"No loyalty account {account_id}.")
    return account


def lock_account_of_contact(contact_id: int) -> LoyaltyAccount | None:
    """``lock_account`` for the contact's account, without its tier (an adjustment does not
    need it; reading it costs a join and a model); None when the contact is not a member."""
    return _locked_account(
        "loyalty.lock_account_of_contact", with_tier=False, contact_id=contact_id
    )


def entry_with_key(key: str) -> PointsEntry | None:
    """The entry already written under ``key``, if any (one indexed read, built once)."""
    found = cached_rows(
        "loyalty.entry_with_key",
        lambda key: PointsEntry.objects.filter(key=key),
        key=key,
    )
    return found[0] if found else None


def emit_contact_event(*, contact_id: int, event: str, data: dict[str, Any]) -> None:
    """Tell crm (and through it outreach) that something happened to a member."""
    for function in hooks.contact_events:
        function(contact_id=contact_id, event=event, data=data)


def post_entry(
    *,
    account: LoyaltyAccount,
    kind: str,
    points: int,
    key: str,
    now: dt.datetime,
    program: Program | None = None,
    source_type: str = "",
    source_id: str = "",
    reason: str = "",
    actor: User | None = None,
    allow_negative: bool = False,
    lot: PointsEntry | None = None,
) -> tuple[PointsEntry, bool]:
    """Write one entry once per ``key``: (entry, created). ``account`` must come from ``lock_account``.

    The same key returns the entry already written and changes nothing. A credit becomes a
    lot expiring the programme's ``expiry_months`` after ``now`` (``program`` is read here when
    the caller did not read it before the lock); a debit consumes lots (only ``lot`` when
    given) and needs no programme. A debit beyond the balance raises ``InsufficientPoints``
    unless ``allow_negative``.
    """
    if not getattr(account, _LOCKED, False):
        raise RuntimeError("post_entry needs an account from lock_account().")
    balance = account.balance + points if isinstance(points, int) else 0
    refusal = _refusal(account, points, balance, allow_negative=allow_negative)
    if refusal is not None:
        # A key seen before returns its entry whatever the balance is now. A new key (the
        # usual case) is found new by the insert below: one statement under the lock.
        if existing := entry_with_key(key):
            return existing, False
        raise refusal
    entry = PointsEntry(
        account=account,
        kind=kind,
        points=points,
        balance_after=balance,
        key=key,
        source_type=source_type,
        source_id=source_id,
        reason=reason[:300],
        actor=actor,
        created_at=now,
    )
    if points > 0:
        entry.remaining = points
        program = program or Program.load()
        if program.expiry_months:
            entry.expires_at = add_months(now, program.expiry_months)
    if not insert_unless_taken(entry):
        # The key was used before, or by a concurrent writer that committed first.
        if existing := entry_with_key(key):
            return existing, False
        raise IntegrityError(f"The points entry {key!r} could not be written.")
    if points < 0:
        _consume(account=account, entry=entry, amount=-points, only=lot)
    elif account.balance < 0:
        settle_debt(account=account)
    account.balance = balance
    save_fields(account, "balance", "updated_at")
    return entry, True


def points_refusal(points: Any) -> ValidationError | None:
    """Why ``points`` is no number of points to move, whatever the balance; None if it is."""
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        return ValidationError({"points": _("Enter a whole number of points, not 0.")})
    if abs(points) > MAX_POINTS:
        return ValidationError({"points": _("This number of points is too large.")})
    return None


def _refusal(
    account: LoyaltyAccount, points: Any, balance: int, *, allow_negative: bool
) -> ValidationError | None:
    """Why an entry of ``points`` (taking the balance to ``balance``) may not be written."""
    if (refusal := points_refusal(points)) is not None:
        return refusal
    if points < 0 and balance < 0 and not allow_negative:
        return InsufficientPoints(
            _(
                "Not enough points: %(needed)d are needed and the balance is %(balance)d."
            ),
            code="insufficient_points",
            params={"needed": -points, "balance": account.balance},
        )
    return None


def _open_lots(account_id: int, size: int, only_id: int | None) -> list[PointsEntry]:
    """Up to ``size`` of the account's open lots (only lot ``only_id`` when given): nearest
    expiry first, lots that never expire last, then the oldest. A statement built once."""

    def build(account_id: int, lot_id: int | None = None) -> QuerySet[PointsEntry]:
        lots = PointsEntry.objects.filter(account_id=account_id, remaining__gt=0)
        if lot_id is not None:
            lots = lots.filter(pk=lot_id)
        return lots.order_by(
            F("expires_at").asc(nulls_last=True), "created_at", "id"
        ).only("id", "remaining")[:size]

    only = {} if only_id is None else {"lot_id": only_id}
    return cached_rows(
        ("loyalty.open_lots", size), build, account_id=account_id, **only
    )


def _consume(
    *,
    account: LoyaltyAccount,
    entry: PointsEntry,
    amount: int,
    only: PointsEntry | None = None,
) -> int:
    """Take ``amount`` from the open lots for ``entry``; returns what no lot could cover."""
    left = amount
    size = _FIRST_BATCH
    while left > 0:
        # Every lot of a batch but the last is used up, so the next read starts after them.
        batch = _open_lots(account.pk, size, only.pk if only is not None else None)
        size = _BATCH
        if not batch:
            break
        uses = []
        for lot in batch:
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
            uses.append(LotUse(entry=entry, lot=lot, points=take))
            if left == 0:
                break
        if len(uses) == 1:  # the usual case: one lot, statements built once
            save_fields(uses[0].lot, "remaining")
            insert(uses[0])
        else:
            PointsEntry.objects.bulk_update([use.lot for use in uses], ["remaining"])
            LotUse.objects.bulk_create(uses)
    return left


def settle_debt(*, account: LoyaltyAccount) -> None:
    """Pay deductions that went unpaid (a refund reversal beyond the balance) from open lots."""
    unpaid = (
        PointsEntry.objects.filter(account_id=account.pk, points__lt=0)
        .annotate(paid=Coalesce(Sum("lot_uses__points"), 0))
        .filter(paid__lt=-F("points"))
        .order_by("created_at", "id")
    )
    for debit in unpaid:
        if _consume(account=account, entry=debit, amount=-debit.points - debit.paid):
            return  # the lots ran out; the rest stays owed
