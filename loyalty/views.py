from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from crm.forms import CustomerAuthenticationForm
from crm.permissions import staff_required
from crm.roles import Role
from crm.views import coming_soon


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    return coming_soon(
        request,
        title=_("Loyalty"),
        lead=_(
            "Points, tiers, rewards and referrals on a ledger that never loses or double-spends a point."
        ),
        features=[
            _(
                "Programme overview: members per tier, points issued, redeemed and outstanding"
            ),
            _("Rewards catalog with stock and tier limits"),
            _("Referral codes and links for every member"),
        ],
    )


class PortalLoginView(auth_views.LoginView):
    template_name = "loyalty/portal/login.html"
    authentication_form = CustomerAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return "/portal/"


def portal_home(request: HttpRequest) -> HttpResponse:
    """The customer's portal; anonymous visitors get the sign-in page at the same address."""
    if not request.user.is_authenticated:
        return redirect("portal:login")
    if request.user.role != Role.CUSTOMER:
        raise PermissionDenied
    return render(request, "loyalty/portal/home.html")
