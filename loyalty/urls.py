from django.urls import path

from loyalty import views

app_name = "loyalty"

urlpatterns = [
    path("", views.overview, name="overview"),
    path(
        "redemptions/<uuid:public_id>/cancel/",
        views.redemption_cancel_view,
        name="redemption_cancel",
    ),
    path(
        "contacts/<int:contact_id>/adjust/",
        views.contact_adjust,
        name="contact_adjust",
    ),
    path(
        "contacts/<int:contact_id>/redeem/",
        views.contact_redeem,
        name="contact_redeem",
    ),
    path(
        "contacts/<int:contact_id>/referral/",
        views.contact_referral,
        name="contact_referral",
    ),
]
