"""API token authentication that reads the user's role with the token, in one query.

DRF's ``TokenAuthentication`` reads the token and its user; every API view then asks for the
user's role, one more query for the groups. Here the user, the token and the deciding role
group (see ``crm.roles``) come in one statement, built once and prepared on each connection
(``crm.querycache``): building it through the ORM on every request cost more than the query
it saved, and planning it each time cost PostgreSQL more than running it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from crm.models import User
from crm.querycache import cached_rows
from crm.roles import STAFF_ROLES, remember_role, staff_group_rank


def _user_with_token(key: str) -> QuerySet[User]:
    """The token's user, with the token's creation and the name of their highest role group."""
    role_group = (
        Group.objects.filter(
            user=OuterRef("pk"), name__in=[r.value for r in STAFF_ROLES]
        )
        .order_by(staff_group_rank())
        .values("name")[:1]
    )
    return User.objects.filter(auth_token__key=key).annotate(
        token_created=F("auth_token__created"), role_group=Subquery(role_group)
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the role read alongside."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        found = cached_rows("crm.token_user", _user_with_token, key=key)
        if not found:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = found[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        role_group = getattr(user, "role_group", None)  # the annotations above
        remember_role(user, {role_group} if role_group else set())
        token = Token(key=key, user=user, created=getattr(user, "token_created", None))
        token._state.adding = False  # the stored token, read with its user
        return (user, token)
