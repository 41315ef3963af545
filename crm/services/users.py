"""Users and roles: staff accounts, portal customers and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from crm.models import Contact, User
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


@transaction.atomic
def customer_account_get_or_create(*, contact: Contact) -> User:
    """The portal account of a contact, created (as a customer, without a password) on first use."""
    if contact.user_id:
        return contact.user  # type: ignore[return-value]
    if not contact.email:
        raise ValidationError(
            {"email": _("This contact has no email address to sign in with.")}
        )
    if User.objects.filter(email__iexact=contact.email).exists():
        raise ValidationError(
            {"email": _("This email address already belongs to another account.")}
        )
    user = user_create(
        email=contact.email,
        password=None,
        role=Role.CUSTOMER,
        given_name=contact.given_name,
        family_name=contact.family_name,
        language=contact.language,
    )
    Contact.objects.filter(pk=contact.pk).update(user=user)
    contact.user = user
    return user


# How many sign-in links one address may ask for per hour (the rest are silently dropped).
SIGN_IN_LINKS_PER_HOUR = 5


def sign_in_link_request(*, email: str, portal_url: str) -> bool:
    """Email a single-use sign-in link to the customer with this address, if there is one.

    Returns whether a link was queued; callers answer the same either way, so nobody can learn
    which addresses are customers. Links for one address are limited per hour.
    """
    from crm.tasks import customer_sign_in_link_send

    email = (email or "").strip().lower()
    contact = Contact.objects.filter(email=email).select_related("user").first()
    if contact is None or (
        contact.user is not None
        and (contact.user.is_staff or not contact.user.is_active)
    ):
        return False
    if contact.user is None and User.objects.filter(email__iexact=email).exists():
        return False  # the address belongs to a staff (or another) account: never a portal link
    counter = f"sign-in-links:{email}"
    cache.add(counter, 0, timeout=3600)
    if cache.incr(counter) > SIGN_IN_LINKS_PER_HOUR:
        return False
    user = customer_account_get_or_create(contact=contact)
    transaction.on_commit(lambda: customer_sign_in_link_send.delay(user.pk, portal_url))
    return True
