"""How a message addresses its reader, by the reader's language's custom (DESIGN §7)."""

from __future__ import annotations

from django.conf import settings

from crm.models import Contact

# {given_name}, {family_name}, {full_name} (in the name's own order). Override or extend with
# settings.OUTREACH_SALUTATIONS; a language not listed uses "en".
SALUTATIONS: dict[str, str] = {
    "en": "Hi {given_name}",
    "ko": "{full_name} 고객님",
}


def salutation(contact: Contact, *, language: str | None = None) -> str:
    """The opening address: "Hi Anna" in English, "홍길동 고객님" in Korean.

    ``language`` is the message's language when it differs from the contact's (a fallback).
    """
    patterns = {**SALUTATIONS, **getattr(settings, "OUTREACH_SALUTATIONS", {})}
    pattern = patterns.get(language or contact.language) or patterns["en"]
    full_name = contact.display_name
    given_name = contact.given_name or full_name
    return pattern.format(
        given_name=given_name, family_name=contact.family_name, full_name=full_name
    ).strip()
