"""feedback models, one module per concern; import them from ``feedback.models``."""

from feedback.models.reviews import Review
from feedback.models.surveys import Answer, Invitation, Question, Response, Survey
from feedback.models.tickets import (
    BusinessCalendar,
    Holiday,
    SlaTarget,
    Ticket,
    TicketMessage,
)

__all__ = [
    "Answer",
    "BusinessCalendar",
    "Holiday",
    "Invitation",
    "Question",
    "Response",
    "Review",
    "SlaTarget",
    "Survey",
    "Ticket",
    "TicketMessage",
]
