from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from crm.models import Company, Contact, Tag, User


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
