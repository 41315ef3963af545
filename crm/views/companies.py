"""Staff pages for companies: the list with contact counts, and a company with its contacts and
combined revenue in the base currency."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from crm import selectors
from crm.models import Company
from crm.pagination import keyset_paginate
from crm.permissions import AuthenticatedRequest, staff_required
from crm.views.contacts import is_htmx, vary_on_htmx

COMPANY_ORDERING = ("name", "id")
CONTACT_ORDERING = ("family_name", "given_name", "id")


@staff_required
def companies(request: AuthenticatedRequest) -> HttpResponse:
    """Companies by name with how many contacts each has; searchable, paged by keyset."""
    query = request.GET.get("q", "").strip()
    page = keyset_paginate(
        selectors.company_list(user=request.user, search=query),
        ordering=COMPANY_ORDERING,
        cursor=request.GET.get("cursor"),
    )
    template = (
        "crm/companies/_results.html" if is_htmx(request) else "crm/companies/list.html"
    )
    return vary_on_htmx(render(request, template, {"page": page, "query": query}))


@staff_required
def company_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A company, its contacts (paged) and their combined revenue net of refunds."""
    company: Company | None = (
        selectors.company_list(user=request.user).filter(pk=pk).first()
    )
    if company is None:
        raise Http404(_("No such company."))
    contacts = keyset_paginate(
        selectors.contact_list(user=request.user, params={"company": [str(pk)]}),
        ordering=CONTACT_ORDERING,
        cursor=request.GET.get("cursor"),
    )
    return render(
        request,
        "crm/companies/detail.html",
        {
            "company": company,
            "page": contacts,
            "revenue": selectors.company_revenue(company=company),
            "base_currency": settings.BASE_CURRENCY,
        },
    )
