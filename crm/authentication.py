"""API token authentication that reads the user's role with the token, in one query.

DRF's ``TokenAuthentication`` reads the token and its user; every API view then asks for the
user's role, one more query for the groups. Here the user, the token and the deciding role
group (see ``crm.roles``) come in one statement, written out once: building it through the ORM
on every request cost more than the query it saved.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth.models import Group
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from crm.models import User
from crm.roles import STAFF_ROLES, remember_role


@cache
def _statement() -> str:
    quote = connection.ops.quote_name
    user, token, group = (quote(model._meta.db_table) for model in (User, Token, Group))
    membership = quote(User.groups.through._meta.db_table)
    names = ", ".join(f"'{role.value}'" for role in STAFF_ROLES)
    rank = " ".join(
        f"WHEN '{role.value}' THEN {index}" for index, role in enumerate(STAFF_ROLES)
    )
    return (
        f"SELECT u.*, t.{quote('created')} AS token_created, "
        f"(SELECT g.{quote('name')} FROM {group} g JOIN {membership} m "
        f"ON m.{quote('group_id')} = g.{quote('id')} "
        f"WHERE m.{quote('user_id')} = u.{quote('id')} AND g.{quote('name')} IN ({names}) "
        f"ORDER BY CASE g.{quote('name')} {rank} END LIMIT 1) AS role_group "
        f"FROM {user} u JOIN {token} t ON t.{quote('user_id')} = u.{quote('id')} "
        f"WHERE t.{quote('key')} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the role read alongside."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user = next(iter(User.objects.raw(_statement(), [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        role_group = getattr(user, "role_group", None)  # columns the statement adds
        remember_role(user, {role_group} if role_group else set())
        token = Token(key=key, user=user, created=getattr(user, "token_created", None))
        token._state.adding = False  # the stored token, read with its user
        return (user, token)
