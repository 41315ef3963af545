"""crm models, one module per concern; import them from ``crm.models``."""

from crm.models.activity import ContactMerge, Interaction, Task
from crm.models.base import TimeStampedModel
from crm.models.commerce import ExchangeRate, Purchase, Refund
from crm.models.contacts import Company, Consent, Contact, Tag
from crm.models.idempotency import IdempotencyRecord
from crm.models.imports import ImportJob, ImportRejection
from crm.models.outreach import Campaign, OutboundMessage
from crm.models.outreach_templates import MessageTemplate
from crm.models.privacy import AuditEntry, ConsentEvent, ContactKey, DataExport, Erasure
from crm.models.segments import Segment
from crm.models.users import FAMILY_NAME_FIRST, User, UserManager, person_name

__all__ = [
    "FAMILY_NAME_FIRST",
    "AuditEntry",
    "Campaign",
    "Company",
    "Consent",
    "ConsentEvent",
    "Contact",
    "ContactKey",
    "ContactMerge",
    "DataExport",
    "Erasure",
    "ExchangeRate",
    "IdempotencyRecord",
    "ImportJob",
    "ImportRejection",
    "Interaction",
    "MessageTemplate",
    "OutboundMessage",
    "Purchase",
    "Refund",
    "Segment",
    "Tag",
    "Task",
    "TimeStampedModel",
    "User",
    "UserManager",
    "person_name",
]
