from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    default = True
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        # loyalty plugs into crm only through crm's registries; crm never imports loyalty.
        from crm import hooks
        from crm.timeline import TIMELINE_KINDS
        from loyalty import panels, receivers, timeline

        hooks.purchase_recorded.register(receivers.on_purchase_recorded)
        hooks.purchase_refunded.register(receivers.on_purchase_refunded)
        hooks.contact_merged.register(receivers.on_contact_merged)
        hooks.timeline_sources.register(timeline.loyalty_timeline_entries)
        hooks.demo_seeders.register(receivers.on_demo_seed)
        hooks.contact_page_panels.register(panels.contact_panel)
        TIMELINE_KINDS.update(timeline.LOYALTY_TIMELINE_KINDS)

        from loyalty.privacy import register_sources

        register_sources()  # personal-data export and erasure (crm.privacy)
