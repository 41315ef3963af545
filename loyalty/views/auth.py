"""Portal sign-in: password, emailed single-use links, and opening such a link."""

from typing import Any

from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from sesame.views import LoginView as SesameLoginView

from crm.forms import CustomerAuthenticationForm, SignInLinkForm
from crm.services import sign_in_link_request


class PortalLoginView(auth_views.LoginView):
    template_name = "loyalty/portal/login.html"
    authentication_form = CustomerAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return "/portal/"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {"link_form": SignInLinkForm(), **super().get_context_data(**kwargs)}


@require_POST
def portal_link_request(request: HttpRequest) -> HttpResponse:
    """Email a sign-in link; the answer is the same whether or not the address is a customer's."""
    form = SignInLinkForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "loyalty/portal/login.html",
            {"link_form": form, "form": CustomerAuthenticationForm(request)},
            status=400,
        )
    sign_in_link_request(
        email=form.cleaned_data["email"],
        portal_url=request.build_absolute_uri(reverse("portal:home")),
    )
    return render(
        request, "loyalty/portal/link_sent.html", {"email": form.cleaned_data["email"]}
    )


class PortalLinkLoginView(SesameLoginView):
    """Opens an emailed sign-in link: signs the customer in once, then the link is spent."""

    next_page = "portal:home"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = request.GET.get("sesame", "")
        user = authenticate(request, sesame=token) if token else None
        if user is None or user.is_staff:
            return self.login_failed()
        login(request, user, backend="sesame.backends.ModelBackend")
        return self.login_success()

    def login_failed(self) -> HttpResponse:
        return render(
            self.request,
            "loyalty/portal/link_invalid.html",
            {"link_form": SignInLinkForm()},
            status=410,
        )
