"""Referrals: a member's code brings in a new person; both get points on that person's first purchase."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Contact, Purchase, User
from crm.roles import MANAGER_ROLES, role_of
from loyalty.models import LoyaltyAccount, PointsEntry, Program, Referral
from loyalty.services.accounts import account_get_or_create
from loyalty.services.ledger import lock_account, post_entry


def normalize_code(code: str) -> str:
    """Codes are read out and typed: ignore case, spaces and dashes."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _mailbox(email: str) -> str:
    """The mailbox an address delivers to: case and a ``+tag`` do not make another person."""
    local, _at, domain = email.strip().lower().partition("@")
    return f"{local.partition('+')[0]}@{domain}" if domain else ""


def _same_person(referrer: Contact, referred: Contact) -> bool:
    if referrer.pk == referred.pk:
        return True
    mailbox = _mailbox(referrer.email)
    if mailbox and mailbox == _mailbox(referred.email):
        return True
    return bool(referrer.phone and referred.phone and referrer.phone == referred.phone)


@transaction.atomic
def referral_register(
    *, referrer_code: str, referred_contact: Contact, now: dt.datetime | None = None
) -> Referral:
    """Record that ``referred_contact`` came through a member's code; pending until they buy.

    Refused with a reason: an unknown code; referring oneself (the same contact, mailbox
    (``+tags`` ignored) or phone number); a person already referred; a person who has already bought (referrals
    bring new customers).
    """
    code = normalize_code(referrer_code)
    referrer = (
        LoyaltyAccount.objects.select_related("contact")
        .filter(referral_code=code)
        .first()
        if code
        else None
    )
    if referrer is None:
        raise ValidationError(
            {"referrer_code": _("No member has this referral code.")},
            code="unknown_code",
        )
    if _same_person(referrer.contact, referred_contact):
        raise ValidationError(
            {"referrer_code": _("Members cannot refer themselves.")},
            code="self_referral",
        )
    if Referral.objects.filter(referred_contact_id=referred_contact.pk).exists():
        raise ValidationError(
            {"referred_contact": _("This person has already been referred.")},
            code="already_referred",
        )
    if Purchase.objects.filter(contact_id=referred_contact.pk).exists():
        raise ValidationError(
            {
                "referred_contact": _(
                    "This person is already a customer: only new customers can be referred."
                )
            },
            code="already_customer",
        )
    try:
        with transaction.atomic():
            return Referral.objects.create(
                referrer=referrer,
                referred_contact_id=referred_contact.pk,
                code=code,
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        # Referred concurrently: the one-referral-per-person constraint saw it.
        raise ValidationError(
            {"referred_contact": _("This person has already been referred.")},
            code="already_referred",
        ) from None


@transaction.atomic
def referral_complete_for_purchase(
    *, purchase_id: int, now: dt.datetime | None = None
) -> Referral | None:
    """On a referred person's first purchase, give the referrer and them their points (keys
    ``referral:<id>:referrer`` and ``referral:<id>:referred``) and complete the referral."""
    contact_id = Purchase.objects.values_list("contact_id", flat=True).get(
        pk=purchase_id
    )
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("referred_contact")
        .filter(referred_contact_id=contact_id, status=Referral.Status.PENDING)
        .first()
    )
    if referral is None:
        return None
    now = now or timezone.now()
    program = Program.load()
    referred, _created = account_get_or_create(
        contact=referral.referred_contact, now=now
    )
    # Lock both accounts in id order, so two referrals between the same pair cannot deadlock.
    locked = {
        pk: lock_account(pk) for pk in sorted({referral.referrer_id, referred.pk})
    }
    for role, account_id, points in (
        ("referrer", referral.referrer_id, program.referrer_points),
        ("referred", referred.pk, program.referred_points),
    ):
        if points:
            post_entry(
                account=locked[account_id],
                kind=PointsEntry.Kind.REFERRAL,
                points=points,
                key=f"referral:{referral.pk}:{role}",
                now=now,
                program=program,
                source_type="loyalty.referral",
                source_id=str(referral.pk),
            )
    referral.status = Referral.Status.COMPLETED
    referral.completed_at = now
    referral.save(update_fields=["status", "completed_at"])
    return referral


@transaction.atomic
def referral_refuse(*, referral: Referral, actor: User, note: str = "") -> Referral:
    """A manager refuses a pending referral (e.g. a household referring itself): no points."""
    if role_of(actor) not in MANAGER_ROLES:
        raise PermissionDenied
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != Referral.Status.PENDING:
        raise ValidationError(_("Only a pending referral can be refused."))
    referral.status = Referral.Status.REFUSED
    referral.note = (note or "").strip()[:300]
    referral.save(update_fields=["status", "note"])
    return referral
