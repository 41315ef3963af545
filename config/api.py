"""The one REST router (`/api/v1/`): every app's viewsets are registered here."""

from django.urls import path
from rest_framework import routers

from crm.api import privacy as privacy_api
from crm.api.audit import AuditEntryViewSet
from crm.api.campaigns import CampaignViewSet
from crm.api.contacts import (
    CompanyViewSet,
    ContactViewSet,
    InteractionViewSet,
    SegmentViewSet,
    TaskViewSet,
)
from crm.api.imports import ContactExportViewSet, ImportJobViewSet
from crm.api.message_templates import MessageTemplateViewSet
from crm.api.outreach import OutboundMessageViewSet
from crm.api.purchases import ExchangeRateViewSet, PurchaseViewSet
from crm.api.users import MeView
from feedback.api.surveys import (
    InvitationViewSet,
    ResponseViewSet,
    ReviewViewSet,
    SurveyViewSet,
)
from feedback.api.tickets import TicketViewSet
from loyalty.api import (
    AdjustmentViewSet,
    LoyaltyAccountViewSet,
    RedemptionViewSet,
    RewardViewSet,
)
from loyalty.api.referrals import ReferralViewSet

router = routers.DefaultRouter()
router.register("contacts", ContactViewSet, basename="contact")
router.register("companies", CompanyViewSet, basename="company")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("tasks", TaskViewSet, basename="task")
router.register("segments", SegmentViewSet, basename="segment")
router.register("purchases", PurchaseViewSet, basename="purchase")
router.register("exchange-rates", ExchangeRateViewSet, basename="exchange-rate")
router.register("imports", ImportJobViewSet, basename="import")
router.register("contacts-export", ContactExportViewSet, basename="contact-export")
router.register(
    "outreach/messages", OutboundMessageViewSet, basename="outbound-message"
)
router.register("outreach/campaigns", CampaignViewSet, basename="campaign")
router.register(
    "outreach/templates", MessageTemplateViewSet, basename="message-template"
)
router.register("loyalty/accounts", LoyaltyAccountViewSet, basename="loyalty-account")
router.register("loyalty/rewards", RewardViewSet, basename="loyalty-reward")
router.register("loyalty/redemptions", RedemptionViewSet, basename="loyalty-redemption")
router.register("loyalty/adjustments", AdjustmentViewSet, basename="loyalty-adjustment")
router.register("loyalty/referrals", ReferralViewSet, basename="loyalty-referral")
router.register("tickets", TicketViewSet, basename="ticket")
router.register("surveys", SurveyViewSet, basename="survey")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("responses", ResponseViewSet, basename="survey-response")
router.register("reviews", ReviewViewSet, basename="review")
router.register("audit", AuditEntryViewSet, basename="audit-entry")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    # Data-subject rights (crm.api.privacy): before the router, beside the contact routes.
    path(
        "contacts/<int:pk>/export/",
        privacy_api.ContactExportView.as_view(),
        name="contact-personal-data-export",
    ),
    path(
        "contacts/<int:pk>/erase/",
        privacy_api.ContactEraseView.as_view(),
        name="contact-erase",
    ),
    path(
        "exports/<uuid:public_id>/",
        privacy_api.ExportStatusView.as_view(),
        name="privacy-export",
    ),
    path(
        "exports/<uuid:public_id>/download/",
        privacy_api.ExportDownloadView.as_view(),
        name="privacy-export-download",
    ),
    *router.urls,
]

# analytics: the dashboard's metrics and cohorts (plain views, not viewsets).
from analytics.api import urlpatterns as analytics_urlpatterns  # noqa: E402

urlpatterns += analytics_urlpatterns
