"""Admin: the programme as one settings page, translated tiers and rewards, a read-only ledger.

Points never change here: entries are read-only and every balance change goes through the
services (the API, the staff UI, or the actions below).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin

from crm.models import User
from loyalty.models import (
    LotUse,
    LoyaltyAccount,
    PointsEntry,
    Program,
    Redemption,
    Referral,
    Reward,
    Tier,
    TierChange,
)
from loyalty.services import redemption_cancel, referral_refuse


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Any | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Any | None = None
    ) -> bool:
        return False


@admin.register(Program)
class ProgramAdmin(TranslationAdmin):
    """One page: the list goes straight to the programme's settings."""

    fieldsets = (
        (None, {"fields": ("name",)}),
        (_("Earning"), {"fields": ("points_per_unit", "rounding")}),
        (_("Expiry"), {"fields": ("expiry_months", "expiry_warning_days")}),
        (
            _("Tiers"),
            {
                "fields": (
                    "qualification_basis",
                    "qualification_window",
                    "window_months",
                    "downgrade_grace_days",
                )
            },
        ),
        (
            _("Bonuses and referrals"),
            {
                "fields": (
                    "welcome_bonus",
                    "birthday_bonus",
                    "referrer_points",
                    "referred_points",
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Program | None = None
    ) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        program = Program.load()
        return HttpResponseRedirect(
            reverse("admin:loyalty_program_change", args=[program.pk])
        )


@admin.register(Tier)
class TierAdmin(TranslationAdmin):
    list_display = ["name", "threshold", "multiplier"]
    ordering = ["threshold"]


@admin.register(Reward)
class RewardAdmin(TranslationAdmin):
    list_display = [
        "name",
        "cost",
        "stock",
        "min_tier",
        "active",
        "active_from",
        "active_until",
    ]
    list_filter = ["active", "min_tier"]
    search_fields = ["name", "description"]


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    list_display = ["contact", "balance", "tier", "tier_grace_until", "referral_code"]
    list_filter = ["tier"]
    search_fields = ["contact__email", "contact__search_text", "referral_code"]
    list_select_related = ["contact", "tier"]


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "kind",
        "points",
        "balance_after",
        "remaining",
        "expires_at",
        "key",
    ]
    list_filter = ["kind"]
    search_fields = ["key", "account__contact__email", "source_id"]
    list_select_related = ["account__contact"]
    date_hierarchy = "created_at"


@admin.register(LotUse)
class LotUseAdmin(ReadOnlyAdmin):
    list_display = ["entry", "lot", "points"]
    list_select_related = ["entry", "lot"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "from_tier", "to_tier", "reason", "note"]
    list_filter = ["reason", "to_tier"]
    list_select_related = ["account__contact", "from_tier", "to_tier"]


def _report(request: HttpRequest, done: str | None, errors: list[str]) -> None:
    if done:
        messages.success(request, done)
    for error in errors:
        messages.error(request, error)


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = [
        "voucher_code",
        "account",
        "reward",
        "points",
        "status",
        "created_at",
        "cancelled_at",
    ]
    list_filter = ["status", "reward"]
    search_fields = ["voucher_code", "account__contact__email"]
    list_select_related = ["account__contact", "reward"]
    actions = ["cancel"]

    @admin.action(description=_("Cancel and give the points back"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Redemption]) -> None:
        done, errors = 0, []
        for redemption in queryset:
            try:
                redemption_cancel(redemption=redemption, actor=_user(request))
                done += 1
            except ValidationError as error:
                errors.append(f"{redemption.voucher_code}: {' '.join(error.messages)}")
        message = ngettext(
            "%(count)d redemption cancelled.", "%(count)d redemptions cancelled.", done
        )
        _report(request, message % {"count": done} if done else None, errors)


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = [
        "referred_contact",
        "referrer",
        "code",
        "status",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status"]
    search_fields = ["code", "referred_contact__email"]
    list_select_related = ["referred_contact", "referrer__contact"]
    actions = ["refuse"]

    @admin.action(description=_("Refuse (no points will be given)"))
    def refuse(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        done, errors = 0, []
        for referral in queryset:
            try:
                referral_refuse(referral=referral, actor=_user(request))
                done += 1
            except ValidationError as error:
                errors.append(f"{referral.code}: {' '.join(error.messages)}")
        message = ngettext(
            "%(count)d referral refused.", "%(count)d referrals refused.", done
        )
        _report(request, message % {"count": done} if done else None, errors)


def _user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user
