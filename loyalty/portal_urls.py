from django.contrib.auth import views as auth_views
from django.urls import path

from loyalty import views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("login/link/", views.portal_link_request, name="link_request"),
    path("enter/", views.PortalLinkLoginView.as_view(), name="enter"),
    path(
        "logout/",
        auth_views.LogoutView.as_view(next_page="portal:login"),
        name="logout",
    ),
]
