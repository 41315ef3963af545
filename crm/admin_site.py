"""The Django admin with the Rapport header, open to the Admin and Manager roles only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.roles import MANAGER_ROLES, role_of


class RapportAdminSite(admin.AdminSite):
    site_header = _("Rapport administration")
    site_title = _("Rapport admin")
    index_title = _("Programme settings, templates, users and records")

    def register(
        self, model_or_iterable: Any, admin_class: Any = None, **options: Any
    ) -> None:
        # Every ModelAdmin of every app records its changes in the audit log.
        from crm.admin_audit import audited

        super().register(
            model_or_iterable, audited(admin_class or admin.ModelAdmin), **options
        )

    def has_permission(self, request: HttpRequest) -> bool:
        # Agents work in the staff UI; customers never get here (they have no staff flag).
        return (
            super().has_permission(request) and role_of(request.user) in MANAGER_ROLES
        )
