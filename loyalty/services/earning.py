"""Points from purchases (crm's ``purchase_recorded`` hook) and their reversal on refunds."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from crm.currencies import quantize
from crm.models import Purchase, Refund
from loyalty.models import PointsEntry, Program
from loyalty.services.accounts import account_get_or_create
from loyalty.services.ledger import lock_account, points_for, post_entry
from loyalty.services.tiers import upgrade_if_qualified


def earn_key(purchase_id: int) -> str:
    return f"purchase:{purchase_id}:earn"


def refund_key(refund_id: int) -> str:
    return f"refund:{refund_id}:reverse"


@transaction.atomic
def points_earn_for_purchase(
    *, purchase_id: int, now: dt.datetime | None = None
) -> PointsEntry | None:
    """Credit a purchase once: base amount * points per unit * tier multiplier, rounded per the
    programme (key ``purchase:<id>:earn``); then upgrade the tier at once if it now qualifies.

    Runs inside crm's recording transaction. None when the purchase earns no points.
    """
    now = now or timezone.now()
    key = earn_key(purchase_id)
    if existing := PointsEntry.objects.filter(key=key).first():
        return existing
    purchase = Purchase.objects.select_related("contact").get(pk=purchase_id)
    account, _created = account_get_or_create(contact=purchase.contact, now=now)
    account = lock_account(account.pk)
    program = Program.load()
    multiplier = account.tier.multiplier if account.tier else Decimal(1)
    with localcontext() as context:
        context.prec = 60
        value = purchase.amount_base * program.points_per_unit * multiplier
    points = points_for(value, program.rounding)
    entry = None
    if points > 0:
        entry, _created = post_entry(
            account=account,
            kind=PointsEntry.Kind.EARN,
            points=points,
            key=key,
            now=now,
            program=program,
            source_type="crm.purchase",
            source_id=str(purchase.pk),
        )
    upgrade_if_qualified(account=account, program=program, now=now)
    return entry


@transaction.atomic
def points_reverse_for_refund(
    *, refund_id: int, now: dt.datetime | None = None
) -> PointsEntry | None:
    """Take back exactly the points the refunded part earned (key ``refund:<id>:reverse``).

    Cumulative, so partial refunds never drift: after refunds r1..rn of a purchase the total
    reversed is round(earned * (r1+...+rn) / amount), and each refund reverses what that
    total still lacks. The only write allowed to take a balance
    below zero (the points may already be spent). Tiers are not lowered here; the nightly
    re-evaluation does that, after the grace period.
    """
    key = refund_key(refund_id)
    if existing := PointsEntry.objects.filter(key=key).first():
        return existing
    refund = Refund.objects.select_related("purchase").get(pk=refund_id)
    purchase = refund.purchase
    earned = PointsEntry.objects.filter(key=earn_key(purchase.pk)).first()
    if earned is None:
        return None  # the purchase earned nothing
    account = lock_account(earned.account_id)
    # All the purchase's refunds against all their reversals: whatever order the hooks run
    # in (or are retried in), the total reversed never passes the refunded share.
    refunds = Refund.objects.filter(purchase=purchase)
    # (SQLite sums decimals as floats: bring the total back to the currency's places.)
    refunded = quantize(
        refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0), purchase.currency
    )
    already = -(
        PointsEntry.objects.filter(
            key__in=[refund_key(pk) for pk in refunds.values_list("pk", flat=True)]
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )
    with localcontext() as context:
        context.prec = 60
        target = int(
            (earned.points * refunded / purchase.amount).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            )
        )
    points = min(target, earned.points) - already
    if points <= 0:
        return None
    entry, _created = post_entry(
        account=account,
        kind=PointsEntry.Kind.REVERSE,
        points=-points,
        key=key,
        now=now or timezone.now(),
        program=Program.load(),
        source_type="crm.refund",
        source_id=str(refund.pk),
        allow_negative=True,
    )
    return entry
