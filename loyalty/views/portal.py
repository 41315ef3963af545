"""The customer portal: a member's own points, tier, rewards, vouchers, referrals and settings.

Every page runs behind ``customer_portal``: anonymous visitors go to the portal sign-in, staff
get 403, and everything is looked up through the signed-in customer's own contact, so another
member's voucher (or anything else) is a 404. Pages render in the contact's language and
time zone, whatever the browser says.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.models import Consent, Contact
from crm.pagination import keyset_paginate
from crm.permissions import AuthenticatedRequest
from crm.roles import Role, role_of
from crm.selectors_audit import consent_history
from crm.services import contact_update, user_set_language
from loyalty.forms import (
    CONSENT_ALIASES,
    JoinForm,
    LanguageForm,
    PreferencesForm,
    RedeemForm,
)
from loyalty.models import LoyaltyAccount, Program, Redemption, Reward
from loyalty.selectors import account_history, account_summary, redemption_list
from loyalty.services import LoyaltyConflict, account_get_or_create, reward_redeem
from loyalty.services.portal import (
    idempotency_key,
    portal_join,
    referrer_for_code,
    reward_catalog,
    tier_progress,
)

HISTORY_PAGE = 25
VOUCHER_PAGE = 20

PortalView = Callable[..., HttpResponse]


def activate_contact_preferences(request: HttpRequest, contact: Contact) -> None:
    """Show the page in the contact's language (English when it has no translation) and
    their time zone. The crm middleware puts the time zone back after the response."""
    translation.activate(contact.language or settings.LANGUAGE_CODE)
    request.LANGUAGE_CODE = translation.get_language()
    timezone.activate(contact.effective_timezone)


def customer_portal(view: PortalView) -> PortalView:
    """Only signed-in customers, each with their own contact passed to the view."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        if role_of(request.user) != Role.CUSTOMER:
            raise PermissionDenied
        contact = Contact.objects.filter(user_id=request.user.pk).first()
        if contact is None:
            # A customer account nobody has linked to a contact yet: nothing to show.
            return render(request, "loyalty/portal/no_membership.html")
        activate_contact_preferences(request, contact)
        return view(request, contact, *args, **kwargs)

    return wrapped


def _account(contact: Contact) -> LoyaltyAccount:
    """The member's account, opened on their first visit (with the welcome bonus, if any)."""
    account, _created = account_get_or_create(contact=contact)
    return account


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- Overview and history --------------------------------------------------------------------


@customer_portal
def portal_home(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    """Balance, tier and the way to the next one, points expiring soon, the latest entries."""
    now = timezone.now()
    account = _account(contact)
    summary = account_summary(contact=contact, now=now)
    return render(
        request,
        "loyalty/portal/home.html",
        {
            "contact": contact,
            "summary": summary,
            "progress": tier_progress(summary=summary, now=now),
            "entries": list(account_history(account=account)[:5]),
            "open_vouchers": redemption_list(contact_id=contact.pk)
            .filter(status=Redemption.Status.ISSUED)
            .count(),
            "nav": "home",
        },
    )


@customer_portal
def portal_history(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    """Every ledger entry, newest first, a keyset page at a time."""
    account = _account(contact)
    page = keyset_paginate(
        account_history(account=account),
        ordering=("-created_at", "-id"),
        cursor=request.GET.get("cursor"),
        size=HISTORY_PAGE,
    )
    return render(
        request,
        "loyalty/portal/history.html",
        {"account": account, "page": page, "nav": "history"},
    )


# --- Rewards and vouchers --------------------------------------------------------------------


@customer_portal
def portal_rewards(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    account = _account(contact)
    return render(
        request,
        "loyalty/portal/rewards.html",
        {
            "account": account,
            "catalog": reward_catalog(account=account, now=timezone.now()),
            "nav": "rewards",
        },
    )


@customer_portal
def portal_redeem(
    request: AuthenticatedRequest, contact: Contact, pk: int
) -> HttpResponse:
    """GET: what the reward costs and what is left after; POST (with the page's one-time
    token): redeem once, however often the form is sent, and show the voucher."""
    account = _account(contact)
    now = timezone.now()
    item = next(
        (i for i in reward_catalog(account=account, now=now) if i.reward.pk == pk),
        None,
    )
    if request.method != "POST":
        if item is None:
            return render(
                request,
                "loyalty/portal/reward_gone.html",
                {"nav": "rewards"},
                status=404,
            )
        return _confirm(request, account, item, RedeemForm())
    form = RedeemForm(request.POST)
    reward = get_object_or_404(Reward, pk=pk)
    if not form.is_valid():
        return _confirm(
            request,
            account,
            item,
            RedeemForm(),
            error=_("This form has expired. Please confirm again."),
            status=400,
        )
    key = idempotency_key(
        scope="portal", user=request.user, token=form.cleaned_data["token"]
    )
    try:
        redemption = reward_redeem(
            account=account, reward=reward, key=key, actor=request.user
        )
    except LoyaltyConflict as error:
        # Nothing was taken; a fresh token lets them try again once the reason is gone.
        return _confirm(
            request,
            account,
            item,
            RedeemForm(),
            error=" ".join(error.messages),
            status=409,
        )
    except ValidationError as error:
        return _confirm(
            request,
            account,
            item,
            RedeemForm(),
            error=" ".join(error.messages),
            status=400,
        )
    messages.success(request, _("Done! Here is your voucher."))
    return redirect("portal:voucher", public_id=redemption.public_id)


def _confirm(
    request: AuthenticatedRequest,
    account: LoyaltyAccount,
    item: Any,
    form: RedeemForm,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    if item is None:
        return render(
            request,
            "loyalty/portal/reward_gone.html",
            {"nav": "rewards", "error": error},
            status=status if error else 404,
        )
    account.refresh_from_db(fields=["balance"])
    return render(
        request,
        "loyalty/portal/redeem.html",
        {
            "account": account,
            "item": item,
            "form": form,
            "error": error,
            "balance_after": account.balance - item.reward.cost,
            "nav": "rewards",
        },
        status=status,
    )


@customer_portal
def portal_vouchers(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    page = keyset_paginate(
        redemption_list(contact_id=contact.pk),
        ordering=("-created_at", "-id"),
        cursor=request.GET.get("cursor"),
        size=VOUCHER_PAGE,
    )
    return render(
        request, "loyalty/portal/vouchers.html", {"page": page, "nav": "vouchers"}
    )


@customer_portal
def portal_voucher(
    request: AuthenticatedRequest, contact: Contact, public_id: uuid.UUID
) -> HttpResponse:
    """One voucher; only ever the member's own (anyone else's id is a 404)."""
    redemption = get_object_or_404(
        redemption_list(contact_id=contact.pk), public_id=public_id
    )
    return render(
        request,
        "loyalty/portal/voucher.html",
        {"redemption": redemption, "nav": "vouchers"},
    )


# --- Referrals and sign-up -------------------------------------------------------------------


@customer_portal
def portal_referrals(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    """The member's referral link and the people who joined through it."""
    account = _account(contact)
    link = request.build_absolute_uri(
        reverse("portal:join", args=[account.referral_code])
    )
    referrals = account.referrals_made.select_related("referred_contact").order_by(
        "-created_at", "-id"
    )[:200]
    return render(
        request,
        "loyalty/portal/referrals.html",
        {
            "account": account,
            "link": link,
            "referrals": referrals,
            "program": Program.load(),
            "nav": "referrals",
        },
    )


def portal_signup(request: HttpRequest, code: str) -> HttpResponse:
    """Sign up through a friend's referral link; an unknown code is a friendly 404."""
    referrer = referrer_for_code(code=code)
    if referrer is None:
        return render(request, "loyalty/portal/join_unknown.html", status=404)
    program = Program.load()
    if request.method != "POST":
        language = translation.get_language() or settings.LANGUAGE_CODE
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        form = JoinForm(initial={"language": language})
        return render(
            request, "loyalty/portal/join.html", {"form": form, "program": program}
        )
    form = JoinForm(request.POST)
    email_exists = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact = _join(request, code=code, data=data, consents=form.consents())
        except ValidationError as error:
            email_exists = _has_code(error, "exists")
            _add_service_errors(form, error, CONSENT_ALIASES)
        else:
            translation.activate(contact.language)
            request.LANGUAGE_CODE = contact.language
            return render(
                request, "loyalty/portal/join_sent.html", {"email": contact.email}
            )
    return render(
        request,
        "loyalty/portal/join.html",
        {"form": form, "program": program, "email_exists": email_exists},
        status=400,
    )


def _join(
    request: HttpRequest, *, code: str, data: dict[str, Any], consents: dict[str, bool]
) -> Contact:
    return portal_join(
        code=code,
        given_name=data["given_name"],
        family_name=data["family_name"],
        email=data["email"],
        language=data["language"],
        timezone=data["timezone"],
        consents=consents,
        portal_url=request.build_absolute_uri(reverse("portal:home")),
        ip_address=request.META.get("REMOTE_ADDR"),
    )


def _has_code(error: ValidationError, code: str) -> bool:
    if hasattr(error, "error_dict"):
        return any(
            _has_code(ValidationError(items), code)
            for items in error.error_dict.values()
        )
    return any(getattr(item, "code", None) == code for item in error.error_list)


def _add_service_errors(
    form: Any, error: ValidationError, aliases: dict[str, str] | None = None
) -> None:
    """A service's errors on the fields they name; the rest (a referral's reason) on the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    aliases = aliases or {}
    for name, items in error.message_dict.items():
        field = aliases.get(name, name)
        form.add_error(field if field in form.fields else None, items)


# --- Preferences -----------------------------------------------------------------------------


def _client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@customer_portal
def portal_preferences(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    """Language, time zone and channel consent; a change shows at once in the new language."""
    if request.method != "POST":
        form = PreferencesForm(contact=contact)
        return render(
            request,
            "loyalty/portal/preferences.html",
            {
                "form": form,
                "nav": "preferences",
                "consent_history": consent_history(contact_id=contact.pk)[:50],
            },
        )
    form = PreferencesForm(request.POST, contact=contact)
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact = contact_update(
                contact=contact,
                actor=request.user,
                language=data["language"],
                timezone=data["timezone"],
                consents=form.consents(),
                consent_source=Consent.Source.PORTAL,
                ip_address=_client_address(request),
            )
        except ValidationError as error:
            _add_service_errors(form, error, CONSENT_ALIASES)
        else:
            user_set_language(user=request.user, language=contact.language)
            activate_contact_preferences(request, contact)
            messages.success(request, _("Your preferences are saved."))
            return redirect("portal:preferences")
    return render(
        request,
        "loyalty/portal/preferences.html",
        {
            "form": form,
            "nav": "preferences",
            "consent_history": consent_history(contact_id=contact.pk)[:50],
        },
        status=400,
    )


@require_POST
@customer_portal
def portal_language(request: AuthenticatedRequest, contact: Contact) -> HttpResponse:
    """The header's language picker: the contact's language (and the account's) change."""
    form = LanguageForm(request.POST)
    if form.is_valid() and form.cleaned_data["language"] != contact.language:
        contact = contact_update(
            contact=contact, language=form.cleaned_data["language"]
        )
        user_set_language(user=request.user, language=contact.language)
    return redirect(_safe_next(request, reverse("portal:home")))
