"""Template context shared by every staff page: the navigation of the app shell."""

from typing import Any, NamedTuple

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm.roles import MANAGER_ROLES, STAFF_ROLES, Role, role_of


class NavItem(NamedTuple):
    label: str | Promise
    url_name: str
    icon: str
    roles: tuple[Role, ...]


# URL names, not imports: crm stays independent of the apps that serve these pages.
NAVIGATION = (
    NavItem(_("Home"), "home", "home", STAFF_ROLES),
    NavItem(_("Contacts"), "crm:contacts", "users", STAFF_ROLES),
    NavItem(_("Tasks"), "crm:tasks", "check", STAFF_ROLES),
    NavItem(_("Loyalty"), "loyalty:overview", "award", STAFF_ROLES),
    NavItem(_("Surveys"), "feedback:surveys", "message", STAFF_ROLES),
    NavItem(_("Tickets"), "feedback:tickets", "lifebuoy", STAFF_ROLES),
    NavItem(_("Outreach"), "crm:outreach", "send", STAFF_ROLES),
    NavItem(_("Dashboard"), "analytics:dashboard", "chart", STAFF_ROLES),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    role = role_of(request.user) if hasattr(request, "user") else None
    if role not in STAFF_ROLES:
        return {"user_role": role}
    path = request.path
    items = []
    for item in NAVIGATION:
        if role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # an app that is not installed
            continue
        active = path == url if url == "/" else path.startswith(url)
        items.append(
            {"label": item.label, "url": url, "icon": item.icon, "active": active}
        )
    return {"navigation": items, "user_role": role, "can_admin": role in MANAGER_ROLES}
