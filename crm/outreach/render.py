"""Render a message template for one contact, in their language (DESIGN §7)."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from crm.models import Campaign, Contact, MessageTemplate
from crm.models.outreach_templates import ENGINE, PLACEHOLDERS
from crm.outreach.greetings import salutation

FALLBACK_LANGUAGE = "en"


@functools.lru_cache(maxsize=512)
def compiled(source: str) -> Template:
    """The compiled form of a template text: a day's greetings render the same few texts for
    thousands of contacts, and compiling costs more than rendering. A compiled template
    keeps no state between renders, and an edited text is a new key."""
    return ENGINE.from_string(source)


def message_language(*, template: MessageTemplate | Campaign, language: str) -> str:
    """``language`` when the template has both its subject and text, else English."""
    known = {code for code, _name in settings.LANGUAGES}
    if language in known and all(
        (getattr(template, f"{field}_{language}", "") or "").strip()
        for field in ("subject", "body_text")
    ):
        return language
    return FALLBACK_LANGUAGE


def render_message(
    *, template: MessageTemplate | Campaign, contact: Contact, context: dict[str, Any]
) -> tuple[str, str, str]:
    """(subject, text, language) of ``template`` for ``contact``.

    The contact's language, falling back to English when its translation is empty; the
    salutation, first name and company come from the contact, the rest from ``context``.
    Only the fixed placeholders reach the template; a missing one renders empty.
    """
    language = message_language(
        template=template, language=contact.language or settings.LANGUAGE_CODE
    )
    with translation.override(language):
        values: dict[str, Any] = {
            "salutation": salutation(contact, language=language),
            "first_name": contact.given_name or contact.display_name,
            "company": contact.company.name if contact.company else "",
            **context,
        }
        values = {name: values[name] for name in PLACEHOLDERS if name in values}
        subject_source = getattr(template, f"subject_{language}") or ""
        body_source = getattr(template, f"body_text_{language}") or ""
        subject = compiled(subject_source).render(Context(values))
        body = compiled(body_source).render(Context(values))
    return " ".join(subject.split()), body, language
