"""feedback services; import them from ``feedback.services``."""

from feedback.services.reviews import review_moderate, review_submit
from feedback.services.surveys import (
    InvitationBatch,
    SubmitResult,
    SurveyLinkError,
    invitation_for_token,
    invitation_reminders_send,
    invitations_create,
    invitations_due_reminders,
    invitations_send_due,
    response_submit,
    survey_create,
    survey_update,
)
from feedback.services.tickets import (
    ticket_assign,
    ticket_customer_reply,
    ticket_delete,
    ticket_open,
    ticket_reply,
    ticket_set_priority,
    ticket_set_status,
    ticket_set_tags,
    tickets_merge,
)

__all__ = [
    "InvitationBatch",
    "SubmitResult",
    "SurveyLinkError",
    "invitation_for_token",
    "invitation_reminders_send",
    "invitations_create",
    "invitations_due_reminders",
    "invitations_send_due",
    "response_submit",
    "review_moderate",
    "review_submit",
    "survey_create",
    "survey_update",
    "ticket_assign",
    "ticket_customer_reply",
    "ticket_delete",
    "ticket_open",
    "ticket_reply",
    "ticket_set_priority",
    "ticket_set_status",
    "ticket_set_tags",
    "tickets_merge",
]
