from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from crm.permissions import staff_required
from crm.views import coming_soon


@staff_required
def surveys(request: HttpRequest) -> HttpResponse:
    return coming_soon(
        request,
        title=_("Surveys"),
        lead=_("NPS, CSAT and CES surveys tied to the customer record."),
        features=[
            _("Personal, single-use survey links in each customer's language"),
            _("Detractors become follow-up tasks for their owner"),
            _("Results with the formula behind every score"),
        ],
    )


@staff_required
def tickets(request: HttpRequest) -> HttpResponse:
    return coming_soon(
        request,
        title=_("Tickets"),
        lead=_("Support tickets with SLA targets counted in business hours."),
        features=[
            _("A queue sorted by SLA urgency, and my tickets"),
            _("Replies, internal notes and customer replies from the portal"),
            _("A satisfaction survey after every resolved ticket"),
        ],
    )
