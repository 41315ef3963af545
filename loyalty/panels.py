"""The loyalty panel on the staff contact page (crm's ``contact_page_panels`` hook).

Balance, tier and the way to the next one, points expiring soon, the last entries and vouchers,
and two HTMX forms that post to loyalty's URLs and get the re-rendered panel back: "Adjust
points" (managers) and "Redeem on behalf" (all staff).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Contact
from crm.roles import MANAGER_ROLES, STAFF_ROLES, role_of
from loyalty.forms import AdjustForm, StaffRedeemForm, StaffReferralForm
from loyalty.models import Referral, Reward
from loyalty.selectors import account_history, account_summary, redemption_list
from loyalty.services.portal import tier_progress

PANEL_ENTRIES = 10
PANEL_VOUCHERS = 5


def redeemable_rewards() -> QuerySet[Reward]:
    """Rewards on offer now; the service says why one is refused (tier, balance)."""
    return (
        Reward.objects.available(timezone.now())
        .select_related("min_tier")
        .order_by("cost", "id")
    )


def panel_html(
    request: HttpRequest,
    contact: Contact,
    *,
    notice: str = "",
    adjust_form: AdjustForm | None = None,
    redeem_form: StaffRedeemForm | None = None,
    referral_form: StaffReferralForm | None = None,
) -> str:
    """The panel's fragment (``#loyalty-panel``), with bound forms when they had errors."""
    now = timezone.now()
    summary = account_summary(contact=contact, now=now)
    account = summary.account
    is_manager = role_of(request.user) in MANAGER_ROLES
    context: dict[str, Any] = {
        "contact": contact,
        "summary": summary,
        "progress": tier_progress(summary=summary, now=now),
        "entries": list(account_history(account=account)[:PANEL_ENTRIES])
        if account
        else [],
        "redemptions": list(redemption_list(contact_id=contact.pk)[:PANEL_VOUCHERS])
        if account
        else [],
        "is_manager": is_manager,
        "adjust_form": adjust_form or (AdjustForm() if is_manager else None),
        "redeem_form": redeem_form or StaffRedeemForm(rewards=redeemable_rewards()),
        "referral": Referral.objects.filter(referred_contact=contact)
        .select_related("referrer__contact")
        .first(),
        "referral_form": referral_form or StaffReferralForm(),
        "open_form": "adjust"
        if adjust_form is not None
        else "redeem"
        if redeem_form is not None
        else "referral"
        if referral_form is not None
        else "",
        "notice": notice,
    }
    return render_to_string("loyalty/staff/_panel.html", context, request=request)


def contact_panel(*, request: HttpRequest, contact: Contact) -> dict[str, Any] | None:
    """The panel for crm's contact page; None (hidden) for anyone who is not staff."""
    if role_of(request.user) not in STAFF_ROLES:
        return None
    return {
        "id": "loyalty",
        "title": _("Loyalty"),
        "html": panel_html(request, contact),
        "order": 10,
    }
