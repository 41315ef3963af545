"""Staff roles and what each may do: the single source of the permission matrix in README.md.

Roles are Django groups (Admin, Manager, Agent). A user with no staff flag is a portal
customer and has no role-based access at all. Model permissions (used by admin and the API)
are granted to the groups by ``sync_role_permissions``, which runs after every migrate so
that models added by later migrations get their grants too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from crm.models import User


class Role(models.TextChoices):
    ADMIN = "Admin", _("Admin")
    MANAGER = "Manager", _("Manager")
    AGENT = "Agent", _("Agent")
    CUSTOMER = "Customer", _("Customer")


STAFF_ROLES = (Role.ADMIN, Role.MANAGER, Role.AGENT)
MANAGER_ROLES = (Role.ADMIN, Role.MANAGER)
# Who may read the audit log (admin and API); nobody may change it.
AUDIT_LOG_ROLES = (Role.ADMIN,)

# Apps whose records the roles work with (admin and API model permissions).
DOMAIN_APPS = ("crm", "loyalty", "feedback", "analytics")
# Models only an Admin may change: accounts and roles.
ADMIN_ONLY_MODELS = {
    "user",
    "group",
    "permission",
    "token",
    "tokenproxy",
    "auditentry",
    "contactkey",
}
# Models an Agent may add and change (never delete). Later issues add theirs here.
AGENT_WRITABLE_MODELS = {
    "contact",
    "company",
    "tag",
    "interaction",
    "task",
    "ticket",
    "ticketmessage",
}


def role_of(user: User | AnonymousUser) -> Role | None:
    """The role that decides what ``user`` may do; None for anonymous visitors."""
    if not user.is_authenticated or not user.is_active:
        return None
    if (cached := getattr(user, "_rapport_role", None)) is not None:
        return cached  # one groups query per request, however often the role is asked
    names: set[str] = set()
    if getattr(user, "is_staff", False) and not getattr(user, "is_superuser", False):
        names = set(user.groups.values_list("name", flat=True))
    return remember_role(user, names)


def staff_group_rank() -> models.Case:
    """An expression ranking the role groups as ``STAFF_ROLES`` does (0 is the highest), for
    reading a user's deciding group in the query that reads the user."""
    return models.Case(
        *(
            models.When(name=role.value, then=rank)
            for rank, role in enumerate(STAFF_ROLES)
        ),
        output_field=models.IntegerField(),
    )


def remember_role(user: User | AnonymousUser, group_names: set[str]) -> Role:
    """Decide ``user``'s role from the names of their groups (only the role groups matter) and
    keep it on the user for the rest of the request."""
    role = Role.AGENT  # a staff flag without a group gets the lowest staff role
    if not getattr(user, "is_staff", False):
        role = Role.CUSTOMER
    elif getattr(user, "is_superuser", False):
        role = Role.ADMIN
    else:
        role = next((r for r in STAFF_ROLES if r.value in group_names), Role.AGENT)
    setattr(user, "_rapport_role", role)  # noqa: B010 (a per-request cache, not a field)
    return role


def role_grants(role: Role, *, app_label: str, codename: str) -> bool:
    """Whether ``role``'s group holds the model permission ``app_label.codename``."""
    action, _sep, model = codename.partition("_")
    if role == Role.ADMIN:
        return True
    if model in ADMIN_ONLY_MODELS or app_label not in DOMAIN_APPS:
        return role == Role.MANAGER and codename == "view_user"
    if role == Role.MANAGER:
        return True
    if role == Role.AGENT:
        return action == "view" or (
            action in {"add", "change"} and model in AGENT_WRITABLE_MODELS
        )
    return False


def sync_role_permissions() -> None:
    """Create the three staff groups and give each exactly the permissions ``role_grants`` allows."""
    from django.contrib.auth.models import Group, Permission

    permissions = list(Permission.objects.select_related("content_type"))
    for role in STAFF_ROLES:
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set(
            [
                p
                for p in permissions
                if role_grants(
                    role, app_label=p.content_type.app_label, codename=p.codename
                )
            ]
        )
