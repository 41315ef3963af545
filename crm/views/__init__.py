"""crm's pages, one module per concern. ``shell`` holds sign-in, home, health and the app shell."""

from crm.views.shell import (
    StaffLoginView,
    axes_username,
    coming_soon,
    health,
    contacts,
    home,
    language_switch,
    lockout,
    outreach,
)

__all__ = [
    "StaffLoginView",
    "axes_username",
    "coming_soon",
    "health",
    "contacts",
    "home",
    "language_switch",
    "lockout",
    "outreach",
]
