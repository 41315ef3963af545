from django.contrib.auth import views as auth_views
from django.urls import include, path

from loyalty import views

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
