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
        from crm import receivers

        # Sign-ins, failed sign-ins and sign-outs are recorded in the audit log.
        receivers.connect()
        from django.contrib.auth.signals import user_logged_in

        from crm.two_factor import on_signed_in

        # A staff sign-in with an authenticator waits for the code (crm/two_factor.py).
        user_logged_in.connect(on_signed_in, dispatch_uid="crm.two_factor")

        # Data-subject rights: crm's own personal-data sections and the contact-page box.
        from crm.services.privacy_sources import register_sources
        from crm.views.privacy import contact_panel as privacy_panel

        register_sources()
        hooks.contact_page_panels.register(privacy_panel)


class RapportAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "crm.admin_site.RapportAdminSite"
