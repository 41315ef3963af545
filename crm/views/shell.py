from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import check_for_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from crm import selectors
from crm.forms import StaffAuthenticationForm
from crm.permissions import AuthenticatedRequest, staff_required
from crm.services import user_set_language


class StaffLoginView(auth_views.LoginView):
    template_name = "crm/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True


@staff_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    return render(
        request, "crm/home.html", {"summary": selectors.home_summary(user=request.user)}
    )


def coming_soon(
    request: HttpRequest,
    *,
    title: str | Promise,
    lead: str | Promise,
    features: list[Any],
) -> HttpResponse:
    """A section of the shell whose issue has not landed yet; each app calls this for its pages."""
    return render(
        request,
        "coming_soon.html",
        {"title": title, "lead": lead, "features": features},
    )


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a signed-in user keeps the choice on their profile."""
    language = request.POST.get("language", "")
    if (
        request.user.is_authenticated
        and check_for_language(language)
        and language in dict(settings.LANGUAGES)
    ):
        user_set_language(user=request.user, language=language)
    return set_language(request)


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Database and broker status for load balancers and compose health checks."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not healthy", reported, never raised
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks},
        status=200 if healthy else 503,
    )


def lockout(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: Any = None,
) -> HttpResponse:
    """Shown instead of the sign-in form after too many wrong passwords (django-axes)."""
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    return render(request, "crm/locked_out.html", {"minutes": minutes}, status=429)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """Count failed sign-ins per email address regardless of case or spaces."""
    source = credentials or request.POST
    return str(source.get("username") or "").strip().lower()
