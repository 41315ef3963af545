from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import api
from crm import views as crm_views
from crm.views import security as security_views

urlpatterns = [
    # The API first: a request tries each pattern in turn, and the API answers the most.
    path("api/v1/", include((api.urlpatterns, "api"))),
    path("", crm_views.home, name="home"),
    path("", include("crm.urls")),
    path("accounts/login/", crm_views.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/login/verify/", security_views.login_verify, name="login_verify"),
    path("account/security/", security_views.account_security, name="account_security"),
    path("i18n/language/", crm_views.language_switch, name="set_language"),
    path("health/", crm_views.health, name="health"),
    path("loyalty/", include("loyalty.urls")),
    path("portal/", include("loyalty.portal_urls")),
    path("", include("feedback.urls")),
    path("dashboard/", include("analytics.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        # Swagger UI sets inline styles on its elements; scripts stay 'self'-only.
        csp_update({"style-src": ["'self'", "'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
]
