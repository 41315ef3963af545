"""Users and roles: staff accounts, portal customers and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from crm.models import User
from crm.roles import STAFF_ROLES, Role


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    role: Role,
    given_name: str = "",
    family_name: str = "",
    language: str = "",
) -> User:
    """Create a staff user in ``role``'s group, or a portal customer (``Role.CUSTOMER``)."""
    user = User(
        email=email,
        given_name=given_name,
        family_name=family_name,
        language=language,
        is_staff=role in STAFF_ROLES,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()  # also checks the case-insensitive unique email constraint
    user.save()
    user_set_role(user=user, role=role)
    return user


@transaction.atomic
def user_set_role(*, user: User, role: Role) -> User:
    """Put a user in exactly one role: one staff group, or none for a customer."""
    user.groups.remove(*Group.objects.filter(name__in=[r.value for r in STAFF_ROLES]))
    if role in STAFF_ROLES:
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    user.is_staff = role in STAFF_ROLES
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    user.__dict__.pop("_rapport_role", None)
    return user


def user_set_language(*, user: User, language: str) -> User:
    """Remember the language a signed-in user picked in the switcher."""
    user.language = language
    user.full_clean(validate_unique=False, validate_constraints=False)
    user.save(update_fields=["language"])
    return user


def api_token_get_or_create(*, user: User) -> Token:
    """The API token of a staff user (integrations act as that user); customers get none."""
    if user.role not in STAFF_ROLES:
        raise ValidationError(
            {"email": _("API tokens are for active staff users only.")}
        )
    token, _created = Token.objects.get_or_create(user=user)
    return token
