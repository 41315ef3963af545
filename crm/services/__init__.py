"""Every write of the crm app. Keyword-only, one transaction each, ``ValidationError`` on bad input."""

from crm.services.contacts import (
    company_create,
    company_get_or_create_by_name,
    company_update,
    consents_set,
    contact_create,
    contact_delete,
    contact_update,
    contacts_bulk_assign,
    contacts_bulk_tag,
    parse_birthday,
    parse_phone,
    tags_get_or_create,
)
from crm.services.users import (
    api_token_get_or_create,
    user_create,
    user_set_language,
    user_set_role,
)

__all__ = [
    "api_token_get_or_create",
    "company_create",
    "company_get_or_create_by_name",
    "company_update",
    "consents_set",
    "contact_create",
    "contact_delete",
    "contact_update",
    "contacts_bulk_assign",
    "contacts_bulk_tag",
    "parse_birthday",
    "parse_phone",
    "tags_get_or_create",
    "user_create",
    "user_set_language",
    "user_set_role",
]
