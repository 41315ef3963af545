from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        # Seeders run in registration order, which is INSTALLED_APPS order: analytics is
        # listed after crm, loyalty and feedback, so its rollups see all their demo data.
        from analytics.demo import seed_analytics
        from analytics.services.rollups import rollups_merge_contacts
        from crm import hooks

        hooks.demo_seeders.register(seed_analytics)
        hooks.contact_merged.register(rollups_merge_contacts)
