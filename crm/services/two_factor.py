"""Two-factor sign-in for staff: a TOTP authenticator app (django-otp), optional per person and
required for admins when ``STAFF_2FA_REQUIRED_FOR_ADMINS`` is on.

Enrolment makes an unconfirmed device; it counts only after the person proves it with a code.
Turning it off needs a code too. Both are audited. API tokens are not affected: a token is a
separate credential an admin creates for an integration.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.roles import STAFF_ROLES, Role, role_of
from crm.services.audit import audit_record

if TYPE_CHECKING:
    from django.http import HttpRequest

    from crm.models import User

DEVICE_NAME = "Authenticator app"


def two_factor_device(*, user: User) -> TOTPDevice | None:
    """The person's confirmed authenticator, or None when two-factor sign-in is off."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def two_factor_pending(*, user: User) -> TOTPDevice | None:
    """An authenticator being set up: shown as a QR code until confirmed with a code."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def two_factor_required(*, user: User) -> bool:
    """Whether ``user`` must have an authenticator before using any staff page."""
    return bool(settings.STAFF_2FA_REQUIRED_FOR_ADMINS) and role_of(user) == Role.ADMIN


def _check(device: TOTPDevice, token: str) -> None:
    """Accept a current 6-digit code; wrong codes slow further tries down (django-otp's
    throttling doubles the wait after every failure)."""
    token = (token or "").strip().replace(" ", "")
    allowed, data = device.verify_is_allowed()
    if not allowed:
        until = (data or {}).get("locked_until")
        seconds = (
            max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1
        )
        raise ValidationError(
            {
                "token": ngettext(
                    "Too many wrong codes in a row. Try again in %(seconds)d second.",
                    "Too many wrong codes in a row. Try again in %(seconds)d seconds.",
                    seconds,
                )
                % {"seconds": seconds}
            },
            code="throttled",
        )
    if not (token.isdigit() and len(token) == 6) or not device.verify_token(token):
        raise ValidationError(
            {"token": _("This code is not right. Enter the current 6-digit code.")},
            code="invalid",
        )


@transaction.atomic
def two_factor_enrol_start(*, user: User) -> TOTPDevice:
    """Start (or restart) setting up an authenticator: a new secret, not yet confirmed."""
    if role_of(user) not in STAFF_ROLES:
        raise ValidationError(_("Two-factor sign-in is for staff accounts."))
    if two_factor_device(user=user) is not None:
        raise ValidationError(_("Two-factor sign-in is already on."))
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def two_factor_enrol_confirm(
    *, user: User, token: str, request: HttpRequest | None = None
) -> TOTPDevice:
    """Turn two-factor sign-in on once the person enters a code from the new authenticator."""
    device = two_factor_pending(user=user)
    if device is None:
        raise ValidationError(
            {"token": _("Start the set-up again: there is no code to confirm.")}
        )
    _check(device, token)  # outside the transaction: a wrong code's count is kept
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        audit_record(
            action="two_factor",
            actor=user,
            request=request,
            object_type="user",
            object_id=user.pk,
            changes={"enabled": True},
        )
    return device


def two_factor_verify(*, user: User, token: str) -> TOTPDevice:
    """Check the code asked for after the password; ``ValidationError`` naming ``token``."""
    device = two_factor_device(user=user)
    if device is None:
        raise ValidationError({"token": _("Two-factor sign-in is not on.")})
    _check(device, token)
    return device


def two_factor_disable(
    *, user: User, token: str, request: HttpRequest | None = None
) -> None:
    """Turn two-factor sign-in off, proven with a current code."""
    # Checked outside the transaction, so a wrong code's throttling count is kept.
    device = two_factor_verify(user=user, token=token)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(
            action="two_factor",
            actor=user,
            request=request,
            object_type="user",
            object_id=user.pk,
            changes={"enabled": False, "device": device.name},
        )
