"""Hypothesis drives the real ledger through random earn / redeem / refund / expire / adjust /
cancel sequences on a fake clock and checks it against a small model after every step
(DESIGN §4.1, §8)."""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from crm.roles import Role
from crm.services import purchase_record, purchase_refund
from loyalty.models import LoyaltyAccount, PointsEntry, Redemption, Tier
from loyalty.services import (
    InsufficientPoints,
    account_get_or_create,
    add_months,
    loyalty_verify,
    points_adjust,
    points_earn_for_purchase,
    points_expire_due,
    redemption_cancel,
    reward_redeem,
)
from tests.crm.factories import ContactFactory, UserFactory
from tests.loyalty.conftest import NOW
from tests.loyalty.factories import RewardFactory

pytestmark = pytest.mark.django_db

WELCOME = 50
COSTS = (5, 30, 120)


@dataclass
class Lot:
    seq: int
    remaining: int
    expires_at: dt.datetime


@dataclass
class ModelPurchase:
    purchase_id: int
    amount_cents: int
    earned: int
    refunded_cents: int = 0
    reversed: int = 0


class LedgerModel:
    """What the ledger should hold: lots consumed nearest-expiry-first, debt paid by new lots."""

    def __init__(self) -> None:
        self.lots: list[Lot] = []
        self.debt = 0
        self.balance = 0

    def credit(self, points: int, at: dt.datetime) -> None:
        paid = min(self.debt, points)
        self.debt -= paid
        self.lots.append(Lot(len(self.lots), points - paid, add_months(at, 12)))
        self.balance += points

    def debit(self, points: int) -> None:
        left = points
        for lot in sorted(self.lots, key=lambda lot: (lot.expires_at, lot.seq)):
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
        self.debt += left
        self.balance -= points

    def expire(self, now: dt.datetime) -> None:
        for lot in self.lots:
            if lot.expires_at <= now and lot.remaining:
                self.balance -= lot.remaining
                lot.remaining = 0


class LedgerMachine(RuleBasedStateMachine):
    clock = None  # the test's Clock, patched into timezone.now
    manager = None

    @initialize()
    def open_account(self) -> None:
        # Each run in a savepoint rolled back at teardown: runs cannot see each other, and a
        # failing run replays (and shrinks) against the same empty ledger.
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.clock.now = NOW
        self.model = LedgerModel()
        self.account, _created = account_get_or_create(contact=ContactFactory())
        self.model.credit(WELCOME, NOW)
        self.purchases: list[ModelPurchase] = []
        self.issued: list[tuple[Redemption, int]] = []
        self.rewards = {cost: RewardFactory(cost=cost) for cost in COSTS}

    # --- rules ------------------------------------------------------------------------------

    @rule(dollars=st.integers(1, 300), cents=st.sampled_from([0, 1, 49, 50, 99]))
    def earn(self, dollars: int, cents: int) -> None:
        amount = Decimal(dollars * 100 + cents) / 100
        purchase, _created = purchase_record(
            contact=self.account.contact,
            amount=amount,
            currency="USD",
            occurred_at=self.clock.now,
        )
        self.purchases.append(
            ModelPurchase(purchase.pk, dollars * 100 + cents, dollars)
        )
        self.model.credit(dollars, self.clock.now)

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def retry_the_earn_hook(self, data: st.DataObject) -> None:
        purchase = data.draw(st.sampled_from(self.purchases))
        points_earn_for_purchase(purchase_id=purchase.purchase_id)

    @precondition(
        lambda self: any(p.refunded_cents < p.amount_cents for p in self.purchases)
    )
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        purchase = data.draw(
            st.sampled_from(
                [p for p in self.purchases if p.refunded_cents < p.amount_cents]
            )
        )
        cents = data.draw(
            st.integers(1, purchase.amount_cents - purchase.refunded_cents)
        )
        purchase_refund(
            purchase=self._purchase(purchase.purchase_id),
            amount=Decimal(cents) / 100,
        )
        purchase.refunded_cents += cents
        target = int(
            (
                Decimal(purchase.earned * purchase.refunded_cents)
                / purchase.amount_cents
            ).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
        if target > purchase.reversed:
            self.model.debit(target - purchase.reversed)
            purchase.reversed = target

    @rule(cost=st.sampled_from(COSTS))
    def redeem(self, cost: int) -> None:
        entries = PointsEntry.objects.count()
        if self.model.balance < cost:
            with pytest.raises(InsufficientPoints):
                reward_redeem(
                    account=self.account, reward=self.rewards[cost], key=self._key()
                )
            assert PointsEntry.objects.count() == entries  # refused: nothing written
            return
        redemption = reward_redeem(
            account=self.account, reward=self.rewards[cost], key=self._key()
        )
        self.model.debit(cost)
        self.issued.append((redemption, cost))

    @precondition(lambda self: self.issued)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        redemption, cost = self.issued.pop(
            data.draw(st.integers(0, len(self.issued) - 1))
        )
        redemption_cancel(redemption=redemption, actor=self.manager)
        self.model.credit(cost, self.clock.now)

    @rule(points=st.integers(-150, 150).filter(bool))
    def adjust(self, points: int) -> None:
        if points < 0 and self.model.balance + points < 0:
            with pytest.raises(InsufficientPoints):
                self._adjust(points)
            return
        self._adjust(points)
        if points > 0:
            self.model.credit(points, self.clock.now)
        else:
            self.model.debit(-points)

    @precondition(lambda self: self.model.balance > 0)
    @rule()
    def spend_everything(self) -> None:
        """Makes a later refund take the balance below zero, the case lots must survive."""
        self._adjust(-self.model.balance)
        self.model.debit(self.model.balance)

    @rule(days=st.integers(1, 200))
    def expire(self, days: int) -> None:
        self.clock.advance(days=days)
        points_expire_due(now=self.clock.now)
        self.model.expire(self.clock.now)

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def balance_is_the_sum_of_the_entries_and_the_models(self) -> None:
        account = LoyaltyAccount.objects.get(pk=self.account.pk)
        entries = list(account.entries.values_list("points", "remaining"))
        assert account.balance == sum(p for p, _r in entries) == self.model.balance
        unspent = sum(r for _p, r in entries)
        assert unspent == max(account.balance, 0)

    def teardown(self) -> None:
        savepoint = getattr(self, "savepoint", None)
        if savepoint is None:
            return
        try:
            if not transaction.get_connection().needs_rollback:
                # The whole-ledger check (lot uses, deductions, redemptions) once per run.
                assert loyalty_verify() == []
        finally:
            transaction.set_rollback(True)
            savepoint.__exit__(None, None, None)

    # --- helpers ----------------------------------------------------------------------------

    def _adjust(self, points: int) -> None:
        points_adjust(
            account=self.account,
            points=points,
            reason="stateful test",
            actor=self.manager,
            key=self._key(),
        )

    def _key(self) -> str:
        return f"stateful:{uuid.uuid4()}"

    def _purchase(self, purchase_id: int):
        from crm.models import Purchase

        return Purchase.objects.get(pk=purchase_id)


def test_the_ledger_matches_its_model_under_any_sequence_of_operations(program, clock):
    program.welcome_bonus = WELCOME
    program.save()
    Tier.objects.update(
        multiplier=1
    )  # tiers are tested on their own; keep earn = amount
    LedgerMachine.clock = clock
    LedgerMachine.manager = UserFactory(role=Role.MANAGER)
    run_state_machine_as_test(
        LedgerMachine,
        settings=hypothesis_settings(
            max_examples=30, stateful_step_count=25, deadline=None, database=None
        ),
    )
