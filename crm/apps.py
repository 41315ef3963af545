from typing import Any

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    # Setup, not business logic: like Django's own create_permissions, keep the role groups'
    # grants in step with the models that exist after every migrate.
    from crm.roles import sync_role_permissions

    if kwargs.get("using", "default") == "default":
        sync_role_permissions()


class CrmConfig(AppConfig):
    default = True
    name = "crm"
    verbose_name = _("CRM")

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="crm.sync_role_permissions")
        from crm import hooks
        from crm.services.outreach import contact_event_received

        # Outreach answers other apps' contact events (survey invitations, tier upgrades, ...).
        hooks.contact_events.register(contact_event_received)


class RapportAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "crm.admin_site.RapportAdminSite"
