"""``loyalty_verify``: prove from the ledger what the database cannot enforce by itself."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    BigIntegerField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from loyalty.models import LotUse, LoyaltyAccount, PointsEntry


@dataclass(frozen=True)
class LedgerProblem:
    """One broken ledger rule: which account, which rule, and the numbers that disagree."""

    account_id: int | None
    check: str
    detail: str

    def __str__(self) -> str:
        return f"account {self.account_id}: {self.check}: {self.detail}"


def _sum(qs: QuerySet, *, by: str, field: str = "points") -> Coalesce:
    """The sum of ``field`` over ``qs`` (correlated on ``by``), 0 when there are no rows."""
    grouped = qs.order_by().values(by).annotate(s=Sum(field)).values("s")
    return Coalesce(Subquery(grouped), 0, output_field=BigIntegerField())


def loyalty_verify() -> list[LedgerProblem]:
    """Every account's balance equals the sum of its entries; every lot's ``remaining`` equals
    its points less what deductions took from it; unspent lots add up to the balance (to zero
    while it is negative); no deduction took more than itself; no redemption overdrew.

    Grouped queries over the whole ledger; returns the problems found (none when healthy).
    """
    problems: list[LedgerProblem] = []
    entries_sum = _sum(PointsEntry.objects.filter(account=OuterRef("pk")), by="account")
    remaining_sum = _sum(
        PointsEntry.objects.filter(account=OuterRef("pk"), remaining__gt=0),
        by="account",
        field="remaining",
    )
    accounts = LoyaltyAccount.objects.annotate(
        ledger=entries_sum, unspent=remaining_sum
    ).values_list("pk", "balance", "ledger", "unspent")
    for account_id, balance, ledger, unspent in accounts.iterator(chunk_size=2000):
        if balance != ledger:
            problems.append(
                LedgerProblem(
                    account_id,
                    "balance",
                    f"cached balance {balance} != sum of entries {ledger}",
                )
            )
        if unspent != max(ledger, 0):
            problems.append(
                LedgerProblem(
                    account_id,
                    "lots",
                    f"unspent lots {unspent} != balance {ledger}"
                    + (
                        " (a negative balance leaves no unspent lot)"
                        if ledger < 0
                        else ""
                    ),
                )
            )
    used = _sum(LotUse.objects.filter(lot=OuterRef("pk")), by="lot")
    for lot_id, account_id, points, remaining, taken in (
        PointsEntry.objects.filter(points__gt=0)
        .annotate(taken=used)
        .exclude(remaining=F("points") - F("taken"))
        .values_list("pk", "account_id", "points", "remaining", "taken")
        .iterator(chunk_size=2000)
    ):
        problems.append(
            LedgerProblem(
                account_id,
                "lot",
                f"lot {lot_id}: remaining {remaining} != points {points} - used {taken}",
            )
        )
    paid = _sum(LotUse.objects.filter(entry=OuterRef("pk")), by="entry")
    for entry_id, account_id, points, taken in (
        PointsEntry.objects.filter(points__lt=0)
        .annotate(paid=paid)
        .filter(paid__gt=-F("points"))
        .values_list("pk", "account_id", "points", "paid")
        .iterator(chunk_size=2000)
    ):
        problems.append(
            LedgerProblem(
                account_id,
                "deduction",
                f"entry {entry_id} of {points} took {taken} from lots",
            )
        )
    for use_id, account_id in LotUse.objects.filter(
        ~Q(entry__account_id=F("lot__account_id"))
        | Q(lot__points__lte=0)
        | Q(entry__points__gte=0)
    ).values_list("pk", "entry__account_id"):
        problems.append(
            LedgerProblem(
                account_id,
                "lot use",
                f"lot use {use_id} links a deduction to a lot of another account or to no lot",
            )
        )
    for entry_id, account_id, after in PointsEntry.objects.filter(
        kind=PointsEntry.Kind.REDEEM, balance_after__lt=0
    ).values_list("pk", "account_id", "balance_after"):
        problems.append(
            LedgerProblem(
                account_id,
                "redemption",
                f"redemption entry {entry_id} left the balance at {after}",
            )
        )
    return problems
