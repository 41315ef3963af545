"""Editing the outreach message templates: their texts, timing and the onboarding steps.

The planners (crm/services/outreach.py) read these rows; every change here is validated by
``MessageTemplate.clean()`` (unknown placeholders name the field) before it is saved.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.models import Contact, MessageTemplate, OutboundMessage, User
from crm.outreach.defaults import DEFAULTS, ONBOARDING_DEFAULTS
from crm.outreach.render import render_message
from crm.services.outreach import (
    ONBOARDING,
    contact_links,
    message_template_get,
    public_url,
)

Occasion = MessageTemplate.Occasion
TRANSLATED = tuple(
    f"{field}_{language}"
    for field in ("subject", "body_text")
    for language, _name in settings.LANGUAGES
)
EDITABLE = frozenset(
    {
        "purpose",
        "active",
        "send_time",
        "delay_days",
        "anchor",
        "exit_after_purchases",
        *TRANSLATED,
    }
)
# A base (untranslated) column's error is about the default language's translated field.
BASE_TEXT_ALIASES = {
    "subject": f"subject_{settings.LANGUAGE_CODE}",
    "body_text": f"body_text_{settings.LANGUAGE_CODE}",
}


def errors_by_form_field(error: ValidationError) -> ValidationError:
    """``error`` with base text columns renamed to the translated fields forms edit."""
    if not hasattr(error, "error_dict"):
        return error
    errors: dict[str, list[str]] = {}
    for name, messages in error.message_dict.items():
        errors.setdefault(BASE_TEXT_ALIASES.get(name, name), []).extend(messages)
    return ValidationError(errors)


# Which timing fields each occasion uses (the editor shows only these).
TIMING_FIELDS: dict[str, tuple[str, ...]] = {
    Occasion.ONBOARDING: ("delay_days", "anchor", "exit_after_purchases"),
    Occasion.WIN_BACK: ("delay_days",),
}
# Occasions sent on a local day at ``send_time``; the others go out right after their event.
DATED_OCCASIONS = frozenset(
    {Occasion.BIRTHDAY, Occasion.ANNIVERSARY, Occasion.ONBOARDING, Occasion.WIN_BACK}
)
# What a preview puts in the placeholders that come from an event, not from the contact.
PREVIEW_POINTS = 1250
PREVIEW_TIER = "Gold"
PREVIEW_SURVEY_PATH = "/s/example/"
PREVIEW_EXPIRES_IN = dt.timedelta(days=30)


def _apply(template: MessageTemplate, fields: dict[str, Any]) -> None:
    if unknown := set(fields) - EDITABLE:
        raise ValidationError(
            {name: _("This field cannot be set.") for name in sorted(unknown)}
        )
    for name, value in fields.items():
        setattr(template, name, value.strip() if isinstance(value, str) else value)
    default = settings.LANGUAGE_CODE
    # The base columns mirror the default language. Assigning a translated model's base
    # field writes the *active* language's column, so assign it with the default one active.
    with translation.override(default):
        template.subject = getattr(template, f"subject_{default}", "") or ""
        template.body_text = getattr(template, f"body_text_{default}", "") or ""


def _save(template: MessageTemplate) -> None:
    # Saving reads the base columns through modeltranslation, i.e. in the active language.
    with translation.override(settings.LANGUAGE_CODE):
        template.save()


def _full_clean(template: MessageTemplate) -> None:
    """``full_clean`` whose errors name the form's fields: the base subject/text are the
    default language's."""
    try:
        template.full_clean()
    except ValidationError as error:
        raise errors_by_form_field(error) from None


@transaction.atomic
def message_template_update(
    *, template: MessageTemplate, actor: User, **fields: Any
) -> MessageTemplate:
    """Change an occasion's texts, consent purpose, activity and timing; all or nothing.

    Unknown placeholders or template tags are refused with an error naming the field.
    """
    template = MessageTemplate.objects.select_for_update().get(pk=template.pk)
    _apply(template, dict(fields))
    _full_clean(template)
    _save(template)
    return template


def _next_onboarding_step() -> int:
    """One past every step that exists or ever sent: a deleted step's number is never reused,
    because the outbox key ``onboarding:step-N`` would stop the new step reaching anyone who
    got the old one."""
    highest = (
        MessageTemplate.objects.filter(occasion=ONBOARDING).aggregate(Max("step"))[
            "step__max"
        ]
        or 0
    )
    sent = OutboundMessage.objects.filter(
        occasion=ONBOARDING, occurrence__startswith="step-"
    ).values_list("occurrence", flat=True)
    for occurrence in sent.order_by().distinct():
        number = occurrence.removeprefix("step-")
        if number.isdigit():
            highest = max(highest, int(number))
    return highest + 1


@transaction.atomic
def onboarding_step_create(*, actor: User, **fields: Any) -> MessageTemplate:
    """Add a step at the end of the onboarding series, inactive until a manager switches it
    on; unset fields copy the last step (its texts, purpose and timing, a week later)."""
    # Serialise concurrent additions: both would otherwise pick the same number.
    list(
        MessageTemplate.objects.select_for_update()
        .filter(occasion=ONBOARDING)
        .values_list("pk", flat=True)
    )
    last = MessageTemplate.objects.filter(occasion=ONBOARDING).order_by("-step").first()
    template = MessageTemplate(occasion=ONBOARDING, step=_next_onboarding_step())
    initial: dict[str, Any] = {"active": False}
    if last is not None:
        initial.update(
            {name: getattr(last, name) for name in EDITABLE - {"active", "delay_days"}}
        )
        initial["delay_days"] = (last.delay_days or 0) + 7
    else:
        texts = ONBOARDING_DEFAULTS[min(ONBOARDING_DEFAULTS)]
        initial.update({name: texts[name] for name in texts if name in EDITABLE})
    initial.update(fields)
    _apply(template, initial)
    _full_clean(template)
    _save(template)
    return template


@transaction.atomic
def onboarding_step_delete(*, template: MessageTemplate, actor: User) -> None:
    """Remove one onboarding step; the last remaining step is switched off, not deleted
    (with no steps at all the planner would recreate the shipped series)."""
    template = MessageTemplate.objects.select_for_update().get(pk=template.pk)
    if template.occasion != ONBOARDING:
        raise ValidationError(
            {
                "occasion": _(
                    "Only onboarding steps can be removed; switch this message off instead."
                )
            }
        )
    others = MessageTemplate.objects.filter(occasion=ONBOARDING).exclude(pk=template.pk)
    if not others.exists():
        raise ValidationError(
            {
                "step": _(
                    "The onboarding series needs at least one step; switch it off instead."
                )
            }
        )
    template.delete()


def message_template_list() -> list[MessageTemplate]:
    """Every occasion's template in the editor's order; a missing one is recreated from the
    shipped defaults (as the planners do), so every occasion can be edited."""
    templates = list(MessageTemplate.objects.order_by("occasion", "step"))
    present = {(t.occasion, t.step) for t in templates}
    missing = [
        (occasion, 0)
        for occasion in DEFAULTS
        if occasion != ONBOARDING and (occasion, 0) not in present
    ]
    if not any(occasion == ONBOARDING for occasion, _step in present):
        missing += [(ONBOARDING, step) for step in ONBOARDING_DEFAULTS]
    if not missing:
        return templates
    for occasion, step in missing:
        message_template_get(occasion=occasion, step=step)
    return list(MessageTemplate.objects.order_by("occasion", "step"))


def message_template_preview(
    *, template: MessageTemplate, contact: Contact
) -> tuple[str, str, str]:
    """(subject, text, language) ``contact`` would get from ``template`` (saved or not).

    The contact's own salutation, name, company and links; the event's points, tier, survey
    link and expiry date are examples.
    """
    return render_message(
        template=template,
        contact=contact,
        context={
            "points": PREVIEW_POINTS,
            "tier": PREVIEW_TIER,
            "survey_link": public_url(PREVIEW_SURVEY_PATH),
            "expires_on": timezone.localdate() + PREVIEW_EXPIRES_IN,
            **contact_links(contact_id=contact.pk, purpose=template.purpose),
        },
    )


__all__ = [
    "BASE_TEXT_ALIASES",
    "DATED_OCCASIONS",
    "TIMING_FIELDS",
    "errors_by_form_field",
    "message_template_list",
    "message_template_preview",
    "message_template_update",
    "onboarding_step_create",
    "onboarding_step_delete",
]
