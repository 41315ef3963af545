"""Membership, manager adjustments and bonuses (welcome, birthday)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import AuditEntry, Contact, User
from crm.roles import MANAGER_ROLES, role_of
from crm.services.audit import audit_record, contact_keys
from crm.transactions import atomic_service
from loyalty.models import LoyaltyAccount, PointsEntry, Program, Tier, TierChange
from loyalty.services.ledger import (
    InsufficientPoints,
    lock_account,
    lock_account_of_contact,
    points_refusal,
    post_entry,
    random_code,
)
from loyalty.services.tiers import change_tier, tier_for_value

REFERRAL_CODE_LENGTH = 8


class BonusKind(TextChoices):
    WELCOME = "welcome", gettext_lazy("Welcome bonus")
    BIRTHDAY = "birthday", gettext_lazy("Birthday bonus")
    OTHER = "other", gettext_lazy("Bonus")


def account_get_or_create(
    *, contact: Contact, now: dt.datetime | None = None
) -> tuple[LoyaltyAccount, bool]:
    """The contact's loyalty account, created on first need: (account, created).

    A new member starts in the entry tier with a unique referral code and gets the programme's
    welcome bonus once (key ``welcome:<account>``).
    """
    now = now or timezone.now()
    with transaction.atomic():
        if existing := LoyaltyAccount.objects.filter(contact_id=contact.pk).first():
            return existing, False
        account = None
        for _attempt in range(10):
            try:
                with transaction.atomic():
                    account = LoyaltyAccount.objects.create(
                        contact_id=contact.pk,
                        referral_code=random_code(REFERRAL_CODE_LENGTH),
                    )
                break
            except IntegrityError:
                # Either the contact became a member concurrently, or the code was taken.
                if existing := LoyaltyAccount.objects.filter(
                    contact_id=contact.pk
                ).first():
                    return existing, False
        if account is None:
            raise RuntimeError("No free referral code after 10 attempts.")
        account = lock_account(account.pk)
        program = Program.load()
        entry_tier = tier_for_value(Decimal(0), list(Tier.objects.ranked()))
        change_tier(
            account=account,
            to_tier=entry_tier,
            reason=TierChange.Reason.INITIAL,
            now=now,
        )
        if program.welcome_bonus:
            post_entry(
                account=account,
                kind=PointsEntry.Kind.BONUS,
                points=program.welcome_bonus,
                key=f"welcome:{account.pk}",
                now=now,
                program=program,
                source_type=f"loyalty.{BonusKind.WELCOME}",
            )
        return account, True


def _manager(actor: User | None) -> User:
    if actor is None or role_of(actor) not in MANAGER_ROLES:
        raise PermissionDenied
    return actor


@atomic_service  # every refusal comes before the first write
def points_adjust(
    *,
    account: LoyaltyAccount,
    points: int,
    reason: str,
    actor: User,
    key: str,
    now: dt.datetime | None = None,
) -> PointsEntry:
    """A manager adds or removes points with a stated reason, once per key.

    A negative adjustment never overdraws: it is refused when the balance does not cover it.
    """
    entry = _adjust(
        contact_id=account.contact_id,
        lock=lambda: lock_account(account.pk),
        points=points,
        reason=reason,
        actor=actor,
        key=key,
        now=now,
    )
    assert entry is not None  # lock_account finds the account or raises
    return entry


@atomic_service  # every refusal comes before the first write
def contact_points_adjust(
    *,
    contact_id: int,
    points: int,
    reason: str,
    actor: User,
    key: str,
    now: dt.datetime | None = None,
) -> PointsEntry:
    """``points_adjust`` for a contact named by id. A contact who is not a member yet becomes
    one for a credit; a deduction from them is refused, as they have no points."""
    entry = _adjust(  # a member: the account is found and locked in one statement
        contact_id=contact_id,
        lock=lambda: lock_account_of_contact(contact_id),
        points=points,
        reason=reason,
        actor=actor,
        key=key,
        now=now,
    )
    if entry is not None:
        return entry
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise ValidationError({"contact": _("There is no contact with this id.")})
    if points < 0:
        raise InsufficientPoints(
            _("This contact is not a loyalty member yet and has no points."),
            code="insufficient_points",
        )
    account, _created = account_get_or_create(contact=contact, now=now)
    return points_adjust(
        account=account, points=points, reason=reason, actor=actor, key=key, now=now
    )


def _adjust(
    *,
    contact_id: int,
    lock: Callable[[], LoyaltyAccount | None],
    points: int,
    reason: str,
    actor: User,
    key: str,
    now: dt.datetime | None,
) -> PointsEntry | None:
    """The adjustment on the account ``lock`` finds and locks; None (nothing written) when it
    finds none."""
    _manager(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the points are adjusted.")})
    if (refusal := points_refusal(points)) is not None:
        # Here, not in post_entry: a contact who is not a member yet becomes one first.
        raise refusal
    # Read what does not depend on the balance before the lock, held until commit: on a busy
    # member every statement under it is a statement the next adjustment waits for. The
    # sealing key is read, not made (an unknown contact has none to make; the audit makes a
    # missing one once the account is known). Only a credit needs the programme (its expiry).
    program = Program.load() if points > 0 else None
    keys = contact_keys({contact_id}, create=False)
    locked = lock()
    if locked is None:
        return None
    entry, created = post_entry(
        account=locked,
        kind=PointsEntry.Kind.ADJUST,
        points=points,
        key=key,
        now=now or timezone.now(),
        program=program,
        source_type="loyalty.adjustment",
        reason=reason,
        actor=actor,
    )
    if created:  # a retried key changes nothing, so it records nothing
        audit_record(
            action=AuditEntry.Action.LEDGER_ADJUSTMENT,
            actor=actor,
            object_type="loyalty.pointsentry",
            object_id=entry.pk,
            contact_id=locked.contact_id,
            changes={"account_id": locked.pk, "points": points},
            sealed={"reason": reason},
            keys=keys,
        )
    return entry


@transaction.atomic
def bonus_grant(
    *,
    account: LoyaltyAccount,
    kind: str,
    points: int,
    key: str,
    reason: str = "",
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> PointsEntry:
    """Credit a bonus (welcome, birthday or another occasion) once per key."""
    if kind not in BonusKind.values:
        raise ValidationError({"kind": _("Unknown bonus kind.")})
    if not isinstance(points, int) or points <= 0:
        raise ValidationError({"points": _("A bonus is a positive number of points.")})
    locked = lock_account(account.pk)
    entry, _created = post_entry(
        account=locked,
        kind=PointsEntry.Kind.BONUS,
        points=points,
        key=key,
        now=now or timezone.now(),
        program=Program.load(),
        source_type=f"loyalty.{kind}",
        reason=reason,
        actor=actor,
    )
    return entry


def birthday_key(account: LoyaltyAccount, year: int) -> str:
    return f"birthday:{account.pk}:{year}"


def birthday_bonus_grant(
    *, account: LoyaltyAccount, year: int, now: dt.datetime | None = None
) -> PointsEntry | None:
    """The programme's birthday bonus for ``year``: at most once per member per year."""
    program = Program.load()
    if not program.birthday_bonus:
        return None
    return bonus_grant(
        account=account,
        kind=BonusKind.BIRTHDAY,
        points=program.birthday_bonus,
        key=birthday_key(account, year),
        now=now,
    )


def celebrated_on(month: int, day: int, year: int) -> dt.date:
    """The day a birthday is celebrated in ``year``: 29 February falls on the 28th in common years."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return dt.date(year, month, day - 1)


def birthday_bonuses_grant_due(*, now: dt.datetime) -> int:
    """Hourly: give each member whose birthday it is *in their own time zone* the birthday bonus.

    Keyed per member and year, so running it every hour (or twice) grants it once. Returns how
    many bonuses were granted now.
    """
    program = Program.load()
    if not program.birthday_bonus:
        return 0
    # Local dates on Earth span UTC's yesterday to tomorrow.
    days = [(now + dt.timedelta(days=offset)).date() for offset in (-1, 0, 1)]
    pairs = {(day.month, day.day) for day in days}
    if (2, 28) in pairs:
        pairs.add((2, 29))
    candidates = Q()
    for month, day in pairs:
        candidates |= Q(contact__birth_month=month, contact__birth_day=day)
    granted = 0
    accounts = LoyaltyAccount.objects.filter(candidates).select_related("contact")
    for account in accounts.iterator(chunk_size=500):
        contact = account.contact
        assert contact.birth_month is not None
        assert contact.birth_day is not None
        local = now.astimezone(contact.effective_timezone).date()
        if local != celebrated_on(contact.birth_month, contact.birth_day, local.year):
            continue
        key = birthday_key(account, local.year)
        if PointsEntry.objects.filter(key=key).exists():
            continue
        birthday_bonus_grant(account=account, year=local.year, now=now)
        granted += 1
    return granted


def new_key(prefix: str, *, scope: str | None = None) -> str:
    """An idempotency key: stable for one client retry scope (``user:header``), else fresh."""
    value = uuid.uuid5(uuid.NAMESPACE_URL, scope) if scope else uuid.uuid4()
    return f"{prefix}:{value}"
