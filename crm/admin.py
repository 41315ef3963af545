from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from crm.admin_audit import ConsentEventInline
from crm.models import (
    Campaign,
    Company,
    Contact,
    ExchangeRate,
    ImportJob,
    ImportRejection,
    MessageTemplate,
    Purchase,
    Refund,
    Tag,
    User,
)
from crm.services import exchange_rate_set, parse_currency


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "given_name",
        "family_name",
        "is_staff",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "given_name", "family_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            _("Person"),
            {"fields": ("given_name", "family_name", "language", "timezone")},
        ),
        (
            _("Access"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                )
            },
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "given_name",
                    "family_name",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ["last_login", "date_joined"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "country", "owner"]
    search_fields = ["name", "domain"]
    list_filter = ["country"]
    autocomplete_fields = ["owner"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "email",
        "phone",
        "company",
        "country",
        "language",
        "lifecycle_stage",
        "owner",
    ]
    list_filter = ["lifecycle_stage", "language", "country", "source"]
    search_fields = ["given_name", "family_name", "email", "phone", "company__name"]
    list_select_related = ["company", "owner"]
    autocomplete_fields = ["company", "owner", "tags", "user"]
    inlines = [ConsentEventInline]
    readonly_fields = [
        "customer_since",
        "last_purchase_at",
        "churned_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "given_name",
                    "family_name",
                    "email",
                    "phone",
                    "company",
                    "owner",
                    "tags",
                )
            },
        ),
        (_("Locale"), {"fields": ("country", "language", "timezone")}),
        (_("Birthday"), {"fields": ("birth_year", "birth_month", "birth_day")}),
        (
            _("Relationship"),
            {"fields": ("lifecycle_stage", "source", "attributes", "user")},
        ),
        (
            _("Derived"),
            {
                "fields": (
                    "customer_since",
                    "last_purchase_at",
                    "churned_at",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    @admin.display(description=_("name"), ordering="family_name")
    def display_name(self, obj: Contact) -> str:
        return obj.display_name


class ExchangeRateAdminForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "date", "rate"]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if cleaned.get("currency"):
            try:
                cleaned["currency"] = parse_currency(
                    cleaned["currency"], allow_base=False
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Daily rates; saved through ``exchange_rate_set`` so admin and API follow one rule."""

    form = ExchangeRateAdminForm
    list_display = ["currency", "date", "rate", "updated_at"]
    list_filter = ["currency"]
    date_hierarchy = "date"
    search_fields = ["currency"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ExchangeRate | None = None
    ) -> list[str]:
        # A rate belongs to its currency and day: fix a wrong one by adding the right one.
        return ["currency", "date"] if obj is not None else []

    def save_model(
        self,
        request: HttpRequest,
        obj: ExchangeRate,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        saved = exchange_rate_set(currency=obj.currency, date=obj.date, rate=obj.rate)
        obj.pk, obj.created_at, obj.updated_at = (
            saved.pk,
            saved.created_at,
            saved.updated_at,
        )


class ReadOnlyAdminMixin:
    """Money rows change only through the services (API, imports), never by hand."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    extra = 0
    readonly_fields = (
        "amount",
        "amount_base",
        "occurred_at",
        "reason",
        "recorded_by",
        "created_at",
    )
    fields = readonly_fields


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "contact",
        "amount",
        "currency",
        "amount_base",
        "base_currency",
        "refunded_amount",
        "occurred_at",
        "external_id",
    ]
    list_filter = ["currency"]
    date_hierarchy = "occurred_at"
    search_fields = ["external_id", "contact__email"]
    list_select_related = ["contact"]
    readonly_fields = (
        "contact",
        "amount",
        "currency",
        "exchange_rate",
        "amount_base",
        "base_currency",
        "refunded_amount",
        "occurred_at",
        "external_id",
        "recorded_by",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = [RefundInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "purchase", "amount", "amount_base", "occurred_at", "reason"]
    date_hierarchy = "occurred_at"
    search_fields = ["purchase__external_id", "purchase__contact__email", "reason"]
    list_select_related = ["purchase"]
    readonly_fields = (
        "purchase",
        "amount",
        "amount_base",
        "occurred_at",
        "reason",
        "recorded_by",
        "created_at",
    )
    fields = readonly_fields


class ImportRejectionInline(admin.TabularInline):
    model = ImportRejection
    fields = readonly_fields = ("line", "reason", "data")
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Imports are made and run by the import wizard; admin shows them and may delete them."""

    list_display = [
        "original_name",
        "status",
        "format",
        "encoding",
        "total_rows",
        "created_count",
        "updated_count",
        "rejected_count",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "format"]
    search_fields = ["original_name"]
    fields = readonly_fields = (
        "public_id",
        "file",
        "original_name",
        "format",
        "encoding",
        "mapping",
        "status",
        "total_rows",
        "processed_rows",
        "created_count",
        "updated_count",
        "rejected_count",
        "error",
        "created_by",
        "created_at",
        "finished_at",
    )
    inlines = [ImportRejectionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(TranslationAdmin):
    list_display = (
        "occasion",
        "step",
        "purpose",
        "active",
        "send_time",
        "delay_days",
        "updated_at",
    )
    list_filter = ("occasion", "purpose", "active")
    readonly_fields = ("updated_at",)


@admin.register(Campaign)
class CampaignAdmin(TranslationAdmin):
    """Campaigns are written, scheduled and cancelled on the outreach pages (through the
    services); admin may correct a draft's fields, never its status."""

    list_display = ("name", "status", "send_on", "send_time", "segment", "purpose")
    list_filter = ("status", "purpose")
    search_fields = ("name",)
    date_hierarchy = "send_on"
    raw_id_fields = ("contacts",)
    list_select_related = ("segment",)
    readonly_fields = (
        "status",
        "created_by",
        "scheduled_at",
        "cancelled_at",
        "cancelled_by",
        "created_at",
        "updated_at",
    )
