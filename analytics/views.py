from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from crm.permissions import manager_required
from crm.views import coming_soon


@manager_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return coming_soon(
        request,
        title=_("Dashboard"),
        lead=_(
            "Retention, churn, NPS, CSAT and lifetime value, each with its formula and the contacts behind it."
        ),
        features=[
            _("Metric cards compared with the previous period"),
            _("A cohort retention matrix"),
            _("Drill down from any number to the contacts behind it"),
        ],
    )
