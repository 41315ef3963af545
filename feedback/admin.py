"""feedback in the admin: SLA settings (calendar, holidays, targets) and tickets with their
threads. Surveys and reviews register below theirs."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline

from feedback.models import (
    BusinessCalendar,
    Holiday,
    Invitation,
    Question,
    Response,
    Review,
    SlaTarget,
    Survey,
    Ticket,
    TicketMessage,
)


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["__str__", "timezone"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One calendar: the data migration creates it; admins edit it.
        return not BusinessCalendar.objects.exists() and super().has_add_permission(
            request
        )


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name"]
    date_hierarchy = "date"


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    list_display = ["priority", "first_response_minutes", "resolution_minutes"]


class TicketMessageInline(admin.TabularInline):
    model = TicketMessage
    fields = ["created_at", "kind", "author", "body"]
    readonly_fields = ["created_at", "kind", "author", "body"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # replies go through the ticket page, which runs the SLA rules


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subject",
        "contact",
        "status",
        "priority",
        "channel",
        "assignee",
        "created_at",
        "sla_due_at",
    ]
    list_filter = ["status", "priority", "channel"]
    search_fields = ["subject", "contact__email"]
    raw_id_fields = ["contact", "assignee", "created_by"]
    inlines = [TicketMessageInline]
    # Status, deadlines and clocks change only through the services (ticket page and API).
    readonly_fields = [
        "public_id",
        "status",
        "priority",
        "created_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "first_response_due_at",
        "resolution_due_at",
        "sla_due_at",
        "paused_at",
        "sla_paused_minutes",
        "first_response_minutes",
        "resolution_minutes",
        "first_response_target_minutes",
        "resolution_target_minutes",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # opened from the staff UI, the portal or the API


# --- Surveys and reviews ----------------------------------------------------------------------


class QuestionInline(TranslationTabularInline):
    model = Question
    extra = 0


@admin.register(Survey)
class SurveyAdmin(TranslationAdmin):
    list_display = ["title", "kind", "active", "created_at"]
    list_filter = ["kind", "active"]
    inlines = [QuestionInline]


@admin.register(Question)
class QuestionAdmin(TranslationAdmin):
    list_display = ["survey", "order", "type", "text"]
    list_filter = ["type"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "survey",
        "contact",
        "sent_at",
        "expires_at",
        "responded_at",
        "source",
    ]
    list_filter = ["source"]
    raw_id_fields = ["contact"]
    readonly_fields = ["token"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["survey", "contact", "score", "language", "submitted_at"]
    list_filter = ["survey", "language"]
    raw_id_fields = ["contact", "invitation", "follow_up_task"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["contact", "rating", "status", "consent_to_publish", "featured"]
    list_filter = ["status", "consent_to_publish", "featured"]
    raw_id_fields = ["contact", "moderated_by"]
