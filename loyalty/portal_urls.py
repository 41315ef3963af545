from django.contrib.auth import views as auth_views
from django.urls import include, path

from loyalty import views
from loyalty.views import privacy

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("history/", views.portal_history, name="history"),
    path("rewards/", views.portal_rewards, name="rewards"),
    path("rewards/<int:pk>/redeem/", views.portal_redeem, name="redeem"),
    path("vouchers/", views.portal_vouchers, name="vouchers"),
    path("vouchers/<uuid:public_id>/", views.portal_voucher, name="voucher"),
    path("referrals/", views.portal_referrals, name="referrals"),
    # Support tickets live in feedback; their pages share the portal namespace.
    path("tickets/", include("feedback.views.portal")),
    path("join/<str:code>/", views.portal_signup, name="join"),
    path("preferences/", views.portal_preferences, name="preferences"),
    # My data (loyalty/views/privacy.py): export, its progress and download, erasure.
    path("my-data/", privacy.portal_my_data, name="my_data"),
    path(
        "my-data/export/",
        privacy.portal_export_request,
        name="my_data_export_request",
    ),
    path(
        "my-data/exports/<uuid:public_id>/",
        privacy.portal_export_status,
        name="my_data_export",
    ),
    path(
        "my-data/exports/<uuid:public_id>/download/",
        privacy.portal_export_download,
        name="my_data_download",
    ),
    path("my-data/erase/", privacy.portal_erase_request, name="erase_request"),
    path(
        "my-data/erase/<str:token>/",
        privacy.portal_erase_confirm,
        name="erase_confirm",
    ),
    path("language/", views.portal_language, name="language"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("login/link/", views.portal_link_request, name="link_request"),
    path("enter/", views.PortalLinkLoginView.as_view(), name="enter"),
    path(
        "logout/",
        auth_views.LogoutView.as_view(next_page="portal:login"),
        name="logout",
    ),
]
