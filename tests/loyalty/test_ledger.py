"""The ledger core: idempotent entries, lots consumed nearest-expiry-first, debt, verification."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from loyalty.models import LotUse, LoyaltyAccount, PointsEntry, Program
from loyalty.services import (
    InsufficientPoints,
    add_months,
    bonus_grant,
    contact_points_adjust,
    loyalty_verify,
    points_adjust,
    points_expire_due,
)
from loyalty.services.ledger import lock_account, post_entry
from tests.crm.factories import ContactFactory
from tests.loyalty.conftest import NOW
from tests.loyalty.factories import key, member

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def lot(account, points, *, at, key_=None):
    return bonus_grant(
        account=account, kind="other", points=points, key=key_ or key(), now=at
    )


def test_the_same_key_twice_writes_one_entry_and_returns_it(manager):
    account = member(100)
    first = points_adjust(
        account=account, points=-30, reason="goodwill", actor=manager, key="adj-1"
    )
    again = points_adjust(
        account=account, points=-30, reason="goodwill", actor=manager, key="adj-1"
    )
    account.refresh_from_db()
    assert again.pk == first.pk
    assert account.balance == 70
    assert account.entries.filter(key="adj-1").count() == 1


def test_a_refused_adjustment_leaves_the_callers_transaction_usable(manager):
    # Inside a caller's transaction the adjustment takes no savepoint: its refusals come
    # before it writes, so the caller can catch one and go on (crm.transactions).
    account = member(10)
    with pytest.raises(InsufficientPoints):
        contact_points_adjust(
            contact_id=account.contact_id,
            points=-11,
            reason="r",
            actor=manager,
            key="a",
        )
    non_member = ContactFactory()
    with pytest.raises(ValidationError) as refused:
        # Refused before the contact becomes a member, not after the account is made.
        contact_points_adjust(
            contact_id=non_member.pk, points=10**16, reason="r", actor=manager, key="b"
        )
    assert "points" in refused.value.message_dict
    assert not LoyaltyAccount.objects.filter(contact_id=non_member.pk).exists()
    entry = contact_points_adjust(  # the transaction goes on
        contact_id=account.contact_id, points=-10, reason="r", actor=manager, key="c"
    )
    account.refresh_from_db()
    assert (entry.balance_after, account.balance) == (0, 0)
    assert not PointsEntry.objects.filter(key__in=["a", "b"]).exists()


def test_a_retried_deduction_returns_its_entry_after_the_balance_fell(manager):
    account = member(100)
    first = points_adjust(
        account=account, points=-60, reason="voucher", actor=manager, key="adj-r"
    )
    points_adjust(account=account, points=-40, reason="rest", actor=manager, key=key())
    account.refresh_from_db()
    assert account.balance == 0
    again = points_adjust(
        account=account, points=-60, reason="voucher", actor=manager, key="adj-r"
    )
    account.refresh_from_db()
    assert again.pk == first.pk
    assert account.balance == 0
    assert account.entries.count() == 3


def test_an_entry_the_database_refuses_raises_and_writes_nothing(program):
    account = member(10)
    # A redemption may never overdraw: the check constraint refuses it even when the
    # caller allowed a negative balance.
    with pytest.raises(IntegrityError), transaction.atomic():
        post_entry(
            account=lock_account(account.pk),
            kind="redeem",
            points=-20,
            key="overdraw",
            now=NOW,
            program=program,
            allow_negative=True,
        )
    account.refresh_from_db()
    assert account.balance == 10
    assert not PointsEntry.objects.filter(key="overdraw").exists()


def test_the_unique_key_is_the_backstop_in_the_database():
    account = member(10)
    entry = account.entries.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(
            account=account,
            kind="bonus",
            points=1,
            balance_after=11,
            key=entry.key,
        )


def test_the_database_refuses_a_redemption_entry_that_overdraws():
    account = member(10)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(
            account=account, kind="redeem", points=-20, balance_after=-10, key="x"
        )


def test_post_entry_refuses_an_unlocked_account(program):
    account = member()
    with pytest.raises(RuntimeError), transaction.atomic():
        post_entry(
            account=LoyaltyAccount.objects.get(pk=account.pk),
            kind="bonus",
            points=5,
            key="k",
            now=NOW,
            program=program,
        )


def test_a_credit_posted_without_the_programme_reads_its_expiry(program):
    program.expiry_months = 6
    program.save()
    account = member()
    with transaction.atomic():
        entry, created = post_entry(
            account=lock_account(account.pk), kind="bonus", points=5, key="k", now=NOW
        )
    assert created
    assert (entry.remaining, entry.expires_at) == (5, add_months(NOW, 6))


def test_lots_are_burned_nearest_expiry_first_and_never_expiring_lots_last(
    program, manager
):
    account = member()
    program.expiry_months = None
    program.save()
    forever = lot(account, 50, at=NOW)
    program.expiry_months = 12
    program.save()
    late = lot(account, 50, at=NOW)  # expires 2027-06-15
    early = lot(account, 50, at=NOW - dt.timedelta(days=100))  # expires 2027-03-07
    spend = points_adjust(
        account=account, points=-70, reason="test", actor=manager, key=key(), now=NOW
    )
    uses = {use.lot_id: use.points for use in LotUse.objects.filter(entry=spend)}
    assert uses == {early.pk: 50, late.pk: 20}
    remaining = dict(
        PointsEntry.objects.filter(points__gt=0).values_list("pk", "remaining")
    )
    assert remaining == {forever.pk: 50, late.pk: 30, early.pk: 0}
    assert forever.expires_at is None
    assert early.expires_at == add_months(NOW - dt.timedelta(days=100), 12)


def test_lots_with_the_same_expiry_are_burned_oldest_first(manager):
    account = member()
    first = lot(account, 10, at=NOW)
    second = lot(account, 10, at=NOW)
    points_adjust(account=account, points=-15, reason="t", actor=manager, key=key())
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.remaining, second.remaining) == (0, 5)


def test_a_deduction_beyond_the_first_lots_read_goes_on_to_the_next_ones(manager):
    # The first read takes a few lots; a deduction they do not cover reads the next ones,
    # still nearest expiry first, and uses each lot once.
    account = member()
    lots = [lot(account, 10, at=NOW - dt.timedelta(days=30 - day)) for day in range(7)]
    spend = points_adjust(
        account=account, points=-65, reason="t", actor=manager, key=key(), now=NOW
    )
    uses = list(
        LotUse.objects.filter(entry=spend)
        .order_by("lot__created_at")
        .values_list("lot_id", "points")
    )
    assert uses == [(each.pk, 10) for each in lots[:6]] + [(lots[6].pk, 5)]
    assert [PointsEntry.objects.get(pk=each.pk).remaining for each in lots] == [
        0
    ] * 6 + [5]
    account.refresh_from_db()
    assert account.balance == 5


def test_a_deduction_beyond_the_balance_is_refused_and_writes_nothing(manager):
    account = member(40)
    with pytest.raises(InsufficientPoints):
        points_adjust(account=account, points=-41, reason="t", actor=manager, key=key())
    account.refresh_from_db()
    assert account.balance == 40
    assert account.entries.count() == 1


def test_a_debt_is_paid_by_the_next_lots_so_lots_and_balance_agree_again(program):
    account = member(30)
    with transaction.atomic():
        locked = lock_account(account.pk)
        debit, _created = post_entry(
            account=locked,
            kind="reverse",
            points=-100,
            key="refund:test",
            now=NOW,
            program=program,
            allow_negative=True,
        )
    account.refresh_from_db()
    assert account.balance == -70
    assert sum(e.remaining for e in account.entries.all()) == 0
    first = lot(account, 50, at=NOW)
    first.refresh_from_db()
    assert first.remaining == 0  # all of it paid the debt
    second = lot(account, 50, at=NOW)
    second.refresh_from_db()
    account.refresh_from_db()
    assert (account.balance, second.remaining) == (30, 30)
    assert sum(u.points for u in LotUse.objects.filter(entry=debit)) == 100
    assert loyalty_verify() == []


def test_expiry_takes_each_lot_once_with_its_own_entry(program):
    account = member()
    old = lot(account, 40, at=NOW - dt.timedelta(days=400))
    lot(account, 60, at=NOW)
    assert points_expire_due(now=NOW) == 1
    assert points_expire_due(now=NOW) == 0
    account.refresh_from_db()
    assert account.balance == 60
    expire = account.entries.get(kind="expire")
    assert (expire.points, expire.key) == (-40, f"expire:{old.pk}")
    assert LotUse.objects.get(entry=expire).lot_id == old.pk


def test_expiry_takes_only_what_is_left_of_a_partly_spent_lot(manager):
    account = member()
    lot(account, 40, at=NOW - dt.timedelta(days=400))
    points_adjust(account=account, points=-25, reason="t", actor=manager, key=key())
    points_expire_due(now=NOW)
    account.refresh_from_db()
    assert account.balance == 0
    assert account.entries.get(kind="expire").points == -15


def test_months_are_calendar_months_and_month_ends_clamp():
    at = dt.datetime(2026, 1, 31, 10, tzinfo=dt.UTC)
    assert add_months(at, 1) == dt.datetime(2026, 2, 28, 10, tzinfo=dt.UTC)
    assert add_months(at, 13) == dt.datetime(2027, 2, 28, 10, tzinfo=dt.UTC)
    assert add_months(at, -2) == dt.datetime(2025, 11, 30, 10, tzinfo=dt.UTC)
    assert add_months(dt.datetime(2024, 2, 29, tzinfo=dt.UTC), 12).day == 28


def test_verify_finds_a_balance_changed_outside_the_ledger():
    account = member(50)
    assert loyalty_verify() == []
    LoyaltyAccount.objects.filter(pk=account.pk).update(balance=60)
    problems = loyalty_verify()
    assert [(p.account_id, p.check) for p in problems] == [(account.pk, "balance")]


def test_verify_finds_a_lot_whose_remaining_was_tampered_with():
    account = member(50)
    PointsEntry.objects.filter(account=account).update(remaining=20)
    checks = {p.check for p in loyalty_verify()}
    assert checks == {"lots", "lot"}


def test_the_verify_command_exits_non_zero_on_problems():
    account = member(5)
    out = io.StringIO()
    call_command("loyalty_verify", stdout=out)
    assert "consistent" in out.getvalue()
    LoyaltyAccount.objects.filter(pk=account.pk).update(balance=0)
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 ledger problem"):
        call_command("loyalty_verify", stderr=err)
    assert f"account {account.pk}: balance" in err.getvalue()


def test_the_programme_is_one_row():
    assert Program.load().pk == Program.load().pk == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Program.objects.create(id=2)
