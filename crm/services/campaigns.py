"""Campaigns: one message to a segment (or chosen contacts) at a local time in each one's zone.

A scheduled campaign is planned by the same engine as birthdays: zone by zone, once the
local send time has come there, into outbox rows keyed ``campaign:<id>`` (exactly once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.models import Campaign, Contact, OutboundMessage, User
from crm.models.outreach_templates import translated_text_errors
from crm.outreach.render import render_message
from crm.selectors import campaign_recipients
from crm.services.outreach import (
    CAMPAIGN,
    contact_links,
    plan_daily,
)

Status = Campaign.Status
EDITABLE = {
    "name",
    "segment",
    "contact_ids",
    "purpose",
    "send_on",
    "send_time",
    *(
        f"{field}_{language}"
        for field in ("subject", "body_text")
        for language, _name in settings.LANGUAGES
    ),
}
# The last local midnight after a day, anywhere on Earth (UTC-12): a campaign is over then.
LATEST_OFFSET = dt.timedelta(hours=12)


def _last_moment(send_on: dt.date) -> dt.datetime:
    """The instant the day ``send_on`` has ended in every time zone."""
    return dt.datetime.combine(send_on + dt.timedelta(days=1), dt.time(0), dt.UTC) + (
        LATEST_OFFSET
    )


def _apply(campaign: Campaign, fields: dict[str, Any]) -> list[int] | None:
    """Set ``fields`` on ``campaign``; the chosen contact ids to store afterwards, if given."""
    if unknown := set(fields) - EDITABLE:
        raise ValidationError(
            {name: _("This field cannot be set.") for name in sorted(unknown)}
        )
    contact_ids = fields.pop("contact_ids", None)
    for name, value in fields.items():
        setattr(campaign, name, value.strip() if isinstance(value, str) else value)
    default_language = settings.LANGUAGE_CODE
    # The base fields mirror the default language (as modeltranslation's admin does);
    # modeltranslation writes an assignment to the active language's column, so assign
    # with the default language active, or a Korean session would overwrite the Korean text.
    with translation.override(default_language):
        campaign.subject = getattr(campaign, f"subject_{default_language}", "") or ""
        campaign.body_text = (
            getattr(campaign, f"body_text_{default_language}", "") or ""
        )
    ids: list[int] | None = None
    if contact_ids is not None:
        ids = sorted({int(pk) for pk in contact_ids})
    return ids


def _save(campaign: Campaign) -> None:
    with translation.override(settings.LANGUAGE_CODE):  # see _apply
        campaign.save()


# Errors of the base text columns are about the default language's fields, which forms edit.
BASE_ALIASES = {
    "subject": f"subject_{settings.LANGUAGE_CODE}",
    "body_text": f"body_text_{settings.LANGUAGE_CODE}",
}


def _validate(campaign: Campaign, contact_ids: list[int] | None) -> None:
    errors: dict[str, list[str]] = {}
    try:
        campaign.full_clean(exclude=["contacts"])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(BASE_ALIASES.get(name, name), []).extend(messages)
    errors.update(
        {k: v for k, v in translated_text_errors(campaign).items() if k not in errors}
    )
    has_contacts = (
        bool(contact_ids)
        if contact_ids is not None
        else (campaign.pk is not None and campaign.contacts.exists())
    )
    if campaign.segment_id is None and not has_contacts:
        errors.setdefault("segment", []).append(
            _("Choose a segment, or the contacts to write to.")
        )
    if contact_ids:
        found = Contact.objects.filter(pk__in=contact_ids).count()
        if found != len(contact_ids):
            errors.setdefault("contact_ids", []).append(
                _("%(count)s of the chosen contacts do not exist.")
                % {"count": len(contact_ids) - found}
            )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_create(*, actor: User, **fields: Any) -> Campaign:
    """A draft campaign; schedule it with ``campaign_schedule``."""
    campaign = Campaign(created_by=actor)
    contact_ids = _apply(campaign, dict(fields))
    _validate(campaign, contact_ids)
    _save(campaign)
    if contact_ids:
        campaign.contacts.set(contact_ids)
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, actor: User, **fields: Any) -> Campaign:
    """Change a draft or scheduled campaign (a scheduled one goes back to draft)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (Status.DRAFT, Status.SCHEDULED):
        raise ValidationError(
            {"status": _("A sent or cancelled campaign cannot be changed.")}
        )
    contact_ids = _apply(campaign, dict(fields))
    _validate(campaign, contact_ids)
    if campaign.status == Status.SCHEDULED and _already_planned(campaign):
        raise ValidationError(
            {
                "status": _(
                    "Messages of this campaign are already going out; cancel it instead."
                )
            }
        )
    campaign.status = Status.DRAFT
    campaign.scheduled_at = None
    _save(campaign)
    if contact_ids is not None:
        campaign.contacts.set(contact_ids)
    return campaign


def _already_planned(campaign: Campaign) -> bool:
    return OutboundMessage.objects.filter(
        occasion=CAMPAIGN, occurrence=str(campaign.pk)
    ).exists()


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, actor: User, now: dt.datetime) -> Campaign:
    """Draft → scheduled; it goes out on its day at its local time in each recipient's zone."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Status.DRAFT:
        raise ValidationError({"status": _("Only a draft campaign can be scheduled.")})
    if now >= _last_moment(campaign.send_on):
        raise ValidationError(
            {
                "send_on": _(
                    "This day has already passed everywhere; choose a later one."
                )
            }
        )
    _validate(campaign, None)
    campaign.status = Status.SCHEDULED
    campaign.scheduled_at = now
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor: User, now: dt.datetime) -> int:
    """Stop a draft or scheduled campaign; its messages not yet sent are skipped as
    "cancelled". Returns how many were stopped; what was already sent stays sent."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (Status.DRAFT, Status.SCHEDULED):
        raise ValidationError(
            {"status": _("Only a draft or scheduled campaign can be cancelled.")}
        )
    campaign.status = Status.CANCELLED
    campaign.cancelled_at = now
    campaign.cancelled_by = actor
    campaign.save(
        update_fields=["status", "cancelled_at", "cancelled_by", "updated_at"]
    )
    return OutboundMessage.objects.filter(
        occasion=CAMPAIGN,
        occurrence=str(campaign.pk),
        status=OutboundMessage.Status.PLANNED,
    ).update(
        status=OutboundMessage.Status.SKIPPED,
        skip_reason=OutboundMessage.SkipReason.CANCELLED,
    )


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Delete a draft that never went out."""
    if campaign.status != Status.DRAFT or _already_planned(campaign):
        raise ValidationError(
            {
                "status": _(
                    "Only a draft campaign can be deleted; cancel a scheduled one."
                )
            }
        )
    campaign.delete()


def campaign_preview(*, campaign: Campaign, contact: Contact) -> tuple[str, str, str]:
    """(subject, text, language) ``contact`` would get, rendered in their language."""
    return render_message(
        template=campaign,
        contact=contact,
        context=contact_links(contact_id=contact.pk, purpose=campaign.purpose),
    )


def campaign_test_send(
    *, campaign: Campaign, actor: User, contact: Contact | None = None
) -> tuple[str, str, str]:
    """Email the campaign, as ``contact`` (default: its first recipient) would get it, to the
    actor's own address, marked as a test. Nothing is written to the outbox."""
    if not actor.email:
        raise ValidationError({"email": _("Your account has no email address.")})
    if contact is None:
        contact = campaign_recipients(campaign=campaign).order_by("pk").first()
    if contact is None:
        raise ValidationError(
            {"contact": _("This campaign has no recipients to preview it for.")}
        )
    subject, body, language = campaign_preview(campaign=campaign, contact=contact)
    EmailMessage(
        subject=_("[Test] %(subject)s") % {"subject": subject},
        body=body,
        to=[actor.email],
    ).send()
    return subject, body, language


def _on_day(day: dt.date) -> Callable[[dt.date, dt.tzinfo], Q | None]:
    """The planner's ``due``: everyone, on the campaign's local day only."""

    def due(today: dt.date, tz: dt.tzinfo) -> Q | None:
        return Q() if today == day else None

    return due


def campaigns_plan(*, now: dt.datetime) -> int:
    """Plan every scheduled campaign whose day has come somewhere; rows inserted.

    A campaign is marked sent once its day has ended in every time zone.
    """
    inserted = 0
    window = Q(send_on__lte=(now + LATEST_OFFSET + dt.timedelta(hours=2)).date())
    for campaign in Campaign.objects.filter(window, status=Status.SCHEDULED):
        send_on = campaign.send_on
        inserted += plan_daily(
            now=now,
            template=campaign,
            occasion=CAMPAIGN,
            contacts=campaign_recipients(campaign=campaign),
            due=_on_day(send_on),
            occurrence=str(campaign.pk),
            send_time=campaign.send_time,
        )
        if now >= _last_moment(send_on):
            Campaign.objects.filter(pk=campaign.pk, status=Status.SCHEDULED).update(
                status=Status.SENT, updated_at=timezone.now()
            )
    return inserted


def campaign_ids(values: Iterable[Any]) -> list[int]:
    """Contact ids from form or API input; a clear error for anything that is not one."""
    ids: list[int] = []
    for value in values:
        text = str(value).strip()
        if not text.isdigit():
            raise ValidationError(
                {"contact_ids": _("“%(value)s” is not a contact id.") % {"value": text}}
            )
        ids.append(int(text))
    return ids


__all__ = [
    "campaign_cancel",
    "campaign_create",
    "campaign_delete",
    "campaign_ids",
    "campaign_preview",
    "campaign_schedule",
    "campaign_test_send",
    "campaign_update",
    "campaigns_plan",
]
