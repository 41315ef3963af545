"""Staff pages of the loyalty programme: the overview, cancelling a redemption, and the contact
page panel's forms (adjust points, redeem on a member's behalf)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import selectors as crm_selectors
from crm.models import Contact
from crm.permissions import AuthenticatedRequest, manager_required, staff_required
from crm.roles import MANAGER_ROLES, role_of
from loyalty.forms import AdjustForm, StaffRedeemForm, StaffReferralForm
from loyalty.models import Redemption
from loyalty.panels import panel_html, redeemable_rewards
from loyalty.selectors import program_overview, redemption_list, reward_list
from loyalty.services import (
    LoyaltyConflict,
    account_get_or_create,
    contact_points_adjust,
    redemption_cancel,
    referral_register,
    reward_redeem,
)
from loyalty.services.portal import idempotency_key

RECENT_REDEMPTIONS = 20


def _is_manager(request: AuthenticatedRequest) -> bool:
    return role_of(request.user) in MANAGER_ROLES


def _is_htmx(request: AuthenticatedRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def _next(request: AuthenticatedRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@staff_required
def overview(request: AuthenticatedRequest) -> HttpResponse:
    """Members per tier, the points economy and its liability, the catalog, recent vouchers."""
    return render(
        request,
        "loyalty/staff/overview.html",
        {
            "overview": program_overview(),
            "rewards": reward_list(),
            "redemptions": redemption_list().select_related("account__contact")[
                :RECENT_REDEMPTIONS
            ],
            "is_manager": _is_manager(request),
        },
    )


@manager_required
def redemption_cancel_view(
    request: AuthenticatedRequest, public_id: uuid.UUID
) -> HttpResponse:
    """GET: confirm; POST: cancel the voucher, returning the points and the stock."""
    redemption = get_object_or_404(
        redemption_list().select_related("account__contact"), public_id=public_id
    )
    back = _next(request, reverse("loyalty:overview"))
    if request.method != "POST":
        return render(
            request,
            "loyalty/staff/redemption_cancel.html",
            {"redemption": redemption, "next": back},
        )
    try:
        redemption_cancel(redemption=redemption, actor=request.user)
    except LoyaltyConflict as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Voucher %(code)s cancelled: %(points)s points returned.")
            % {"code": redemption.voucher_code, "points": redemption.points},
        )
    return redirect(back)


# --- The contact page panel's forms ----------------------------------------------------------


def _contact(request: AuthenticatedRequest, contact_id: int) -> Contact:
    try:
        return crm_selectors.contact_detail(user=request.user, contact_id=contact_id)
    except Contact.DoesNotExist:
        raise Http404(_("No such contact.")) from None


def _field_errors(
    form: AdjustForm | StaffRedeemForm | StaffReferralForm,
    error: ValidationError,
    field: str,
) -> None:
    """A service's errors on the fields they name; a refusal without one (not enough points,
    out of stock) on ``field``, the one the staff member would change."""
    if not hasattr(error, "error_dict"):
        form.add_error(field, error.messages)
        return
    for name, items in error.message_dict.items():
        form.add_error(name if name in form.fields else field, items)


def _panel_response(
    request: AuthenticatedRequest,
    contact: Contact,
    *,
    notice: str = "",
    adjust_form: AdjustForm | None = None,
    redeem_form: StaffRedeemForm | None = None,
    referral_form: StaffReferralForm | None = None,
) -> HttpResponse:
    """HTMX: the re-rendered panel. Without JavaScript: back to the contact page, with the
    outcome as a message."""
    if _is_htmx(request):
        return HttpResponse(
            panel_html(
                request,
                contact,
                notice=notice,
                adjust_form=adjust_form,
                redeem_form=redeem_form,
                referral_form=referral_form,
            )
        )
    if notice:
        messages.success(request, notice)
    for form in (adjust_form, redeem_form, referral_form):
        if form is not None and form.errors:
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                for message in errors:
                    messages.error(
                        request, f"{label}: {message}" if label else str(message)
                    )
    return redirect(contact.get_absolute_url())


@require_POST
@staff_required
def contact_adjust(request: AuthenticatedRequest, contact_id: int) -> HttpResponse:
    """Managers add or remove points with a reason (agents: 403)."""
    if not _is_manager(request):
        raise PermissionDenied
    contact = _contact(request, contact_id)
    form = AdjustForm(request.POST)
    if not form.is_valid():
        return _panel_response(request, contact, adjust_form=form)
    try:
        entry = contact_points_adjust(
            contact_id=contact.pk,
            points=form.cleaned_data["points"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
            key=idempotency_key(
                scope="staff-adjust",
                user=request.user,
                token=form.cleaned_data["token"],
            ),
        )
    except ValidationError as error:
        _field_errors(form, error, "points")
        return _panel_response(request, contact, adjust_form=form)
    return _panel_response(
        request,
        contact,
        notice=_("Points adjusted by %(points)+d. New balance: %(balance)d.")
        % {"points": entry.points, "balance": entry.balance_after},
    )


@require_POST
@staff_required
def contact_redeem(request: AuthenticatedRequest, contact_id: int) -> HttpResponse:
    """Any staff member redeems a reward for the member; the voucher shows in the panel."""
    contact = _contact(request, contact_id)
    form = StaffRedeemForm(request.POST, rewards=redeemable_rewards())
    if not form.is_valid():
        return _panel_response(request, contact, redeem_form=form)
    account, _created = account_get_or_create(contact=contact)
    try:
        redemption: Redemption = reward_redeem(
            account=account,
            reward=form.cleaned_data["reward"],
            actor=request.user,
            key=idempotency_key(
                scope="staff-redeem",
                user=request.user,
                token=form.cleaned_data["token"],
            ),
        )
    except ValidationError as error:
        _field_errors(form, error, "reward")
        return _panel_response(request, contact, redeem_form=form)
    return _panel_response(
        request,
        contact,
        notice=_("Redeemed %(reward)s: voucher %(code)s.")
        % {"reward": redemption.reward.name, "code": redemption.voucher_code},
    )


@require_POST
@staff_required
def contact_referral(request: AuthenticatedRequest, contact_id: int) -> HttpResponse:
    """Any staff member records the referral code a person says they came with."""
    contact = _contact(request, contact_id)
    form = StaffReferralForm(request.POST)
    if not form.is_valid():
        return _panel_response(request, contact, referral_form=form)
    try:
        referral = referral_register(
            referrer_code=form.cleaned_data["code"], referred_contact=contact
        )
    except ValidationError as error:
        _field_errors(form, error, "code")
        return _panel_response(request, contact, referral_form=form)
    return _panel_response(
        request,
        contact,
        notice=_(
            "Referral by %(name)s recorded: both get their points after the first purchase."
        )
        % {"name": referral.referrer.contact.display_name},
    )
