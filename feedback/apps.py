from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    default = True
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        # feedback plugs into crm only through crm's registries; crm never imports feedback.
        from crm import hooks
        from crm.timeline import TIMELINE_KINDS
        from feedback import receivers_surveys

        hooks.purchase_recorded.register(receivers_surveys.on_purchase_recorded)
        hooks.contact_merged.register(receivers_surveys.on_contact_merged)
        hooks.contact_events.register(receivers_surveys.on_contact_event)
        from feedback.demo import seed_feedback

        hooks.demo_seeders.register(seed_feedback)
        hooks.timeline_sources.register(receivers_surveys.survey_timeline_entries)
        TIMELINE_KINDS.update(receivers_surveys.SURVEY_TIMELINE_KINDS)

        from feedback.selectors import tickets as ticket_selectors
        from feedback.services import tickets as ticket_services
        from feedback.views import tickets as ticket_views

        hooks.contact_merged.register(ticket_services.tickets_merge)
        hooks.timeline_sources.register(ticket_selectors.ticket_timeline_entries)
        hooks.demo_seeders.register(ticket_services.tickets_demo_seed)
        hooks.contact_page_panels.register(ticket_views.contact_panel)
        TIMELINE_KINDS.update(ticket_selectors.TICKET_TIMELINE_KINDS)

        from feedback import privacy

        privacy.register_sources()  # personal-data export and erasure (crm.privacy)
        hooks.retention_purgers.register(privacy.retention_purge)
