"""Forms of the outreach pages: message templates and campaigns (crm/views/message_templates.py,
crm/views/campaigns.py). They parse and display; the writes are crm services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm import services
from crm.forms import add_service_errors
from crm.models import Campaign, Contact, MessageTemplate, Segment, User
from crm.models.outreach_templates import translated_text_errors
from crm.services.campaigns import campaign_ids
from crm.services.message_templates import (
    BASE_TEXT_ALIASES,
    DATED_OCCASIONS,
    TIMING_FIELDS,
    TRANSLATED,
)

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]

# What each placeholder is, for the editor's list.
PLACEHOLDER_HELP: list[tuple[str, Any]] = [
    (
        "salutation",
        _("The greeting in the reader's language: “Hi Anna”, “홍길동 고객님”."),
    ),
    ("first_name", _("The contact's given name.")),
    ("company", _("The contact's company, or nothing.")),
    ("points", _("Points of the event (e.g. points about to expire).")),
    ("tier", _("The new tier after an upgrade.")),
    ("survey_link", _("The personal link to the survey.")),
    ("expires_on", _("The day the points expire.")),
    ("unsubscribe_link", _("One-click unsubscribe from this kind of email.")),
    (
        "preferences_link",
        _("The page where the contact chooses which emails they get."),
    ),
]


def _language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES)[code])


def _text_fields(required_language: str) -> dict[str, forms.Field]:
    """Subject and text per language; only the default language's are required."""
    fields: dict[str, forms.Field] = {}
    for code in LANGUAGE_CODES:
        name = _language_name(code)
        fields[f"subject_{code}"] = forms.CharField(
            label=_("Subject (%(language)s)") % {"language": name},
            max_length=255,
            required=code == required_language,
            widget=forms.TextInput(attrs={"lang": code, "autocomplete": "off"}),
        )
        fields[f"body_text_{code}"] = forms.CharField(
            label=_("Text (%(language)s)") % {"language": name},
            required=code == required_language,
            strip=False,
            widget=forms.Textarea(attrs={"lang": code, "rows": 12}),
        )
    return fields


class _TranslatedTextsForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_text_fields(settings.LANGUAGE_CODE))

    def language_columns(self) -> list[tuple[str, str, Any, Any]]:
        """(code, language name, subject field, text field) per language, side by side."""
        return [
            (
                code,
                _language_name(code),
                self[f"subject_{code}"],
                self[f"body_text_{code}"],
            )
            for code in LANGUAGE_CODES
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The model's own placeholder check, in the reader's language, before any write.
        draft = MessageTemplate()
        for name in TRANSLATED:
            setattr(draft, name, data.get(name) or "")
        for name, messages in translated_text_errors(draft).items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, messages)
        return data


class MessageTemplateForm(_TranslatedTextsForm):
    """Edit one occasion's template through ``message_template_update``."""

    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Inactive: nothing is sent for this occasion."),
    )
    purpose = forms.ChoiceField(
        label=_("Consent purpose"),
        choices=MessageTemplate.Purpose.choices,
        help_text=_("The consent a contact must have given to get this message."),
    )
    send_time = forms.TimeField(
        label=_("Local send time"),
        help_text=_("In each contact's own time zone."),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    delay_days = forms.IntegerField(label=_("Days"), min_value=0, required=False)
    anchor = forms.ChoiceField(
        label=_("Starting point"),
        choices=MessageTemplate.Anchor.choices,
        help_text=_("What the days are counted from."),
    )
    exit_after_purchases = forms.IntegerField(
        label=_("Skip after purchases"),
        min_value=1,
        required=False,
        help_text=_(
            "Skipped for a contact who already purchased at least this many times. "
            "Empty: never skipped."
        ),
    )

    def __init__(
        self,
        *args: Any,
        template: MessageTemplate,
        editable: bool = True,
        **kwargs: Any,
    ) -> None:
        self.template = template
        kwargs.setdefault("initial", self._initial(template))
        super().__init__(*args, **kwargs)
        used = set(TIMING_FIELDS.get(template.occasion, ()))
        for name in ("delay_days", "anchor", "exit_after_purchases"):
            if name not in used:
                del self.fields[name]
        if template.occasion not in DATED_OCCASIONS:
            del self.fields["send_time"]
        if "delay_days" in self.fields:
            self.fields["delay_days"].required = True
            self.fields["delay_days"].help_text = (
                _("Days after the starting point.")
                if template.occasion == MessageTemplate.Occasion.ONBOARDING
                else _("Days without a purchase before the message goes out.")
            )
        if not editable:
            for field in self.fields.values():
                field.disabled = True

    @staticmethod
    def _initial(template: MessageTemplate) -> dict[str, Any]:
        names = ["active", "purpose", "send_time", "delay_days", "anchor"]
        names += ["exit_after_purchases"]
        names += [
            f"{f}_{code}" for f in ("subject", "body_text") for code in LANGUAGE_CODES
        ]
        return {name: getattr(template, name) for name in names}

    def timing_fields(self) -> list[Any]:
        return [
            self[name]
            for name in ("send_time", "delay_days", "anchor", "exit_after_purchases")
            if name in self.fields
        ]

    def draft(self, data: Any) -> MessageTemplate:
        """An unsaved copy of the template with the submitted texts, for the preview."""
        copy = MessageTemplate(
            occasion=self.template.occasion,
            step=self.template.step,
            purpose=data.get("purpose") or self.template.purpose,
            delay_days=self.template.delay_days,
        )
        days = str(data.get("delay_days", "")).strip()
        if "delay_days" in self.fields:
            copy.delay_days = int(days) if days.isdigit() else None
        for code in LANGUAGE_CODES:
            for field in ("subject", "body_text"):
                name = f"{field}_{code}"
                setattr(copy, name, str(data.get(name, getattr(self.template, name))))
        return copy

    def save(self, *, actor: User) -> MessageTemplate | None:
        try:
            return services.message_template_update(
                template=self.template, actor=actor, **self.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(self, error)
            return None


class CampaignForm(_TranslatedTextsForm):
    """Create or change a campaign through ``campaign_create`` / ``campaign_update``."""

    name = forms.CharField(label=_("Name"), max_length=120)
    segment = forms.ModelChoiceField(
        label=_("Segment"),
        queryset=Segment.objects.none(),
        required=False,
        empty_label=_("No segment"),
        help_text=_(
            "Everyone in the segment when the day comes (it is a live filter)."
        ),
    )
    contact_ids = forms.CharField(required=False, widget=forms.HiddenInput)
    purpose = forms.ChoiceField(
        label=_("Consent purpose"),
        choices=Campaign.Purpose.choices,
        help_text=_("Only contacts who gave this consent get the message."),
    )
    send_on = forms.DateField(
        label=_("Send on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    send_time = forms.TimeField(
        label=_("Local send time"),
        help_text=_("In each recipient's own time zone."),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def __init__(
        self, *args: Any, actor: User, campaign: Campaign | None = None, **kwargs: Any
    ) -> None:
        self.actor, self.campaign = actor, campaign
        if campaign is not None:
            kwargs.setdefault("initial", self._initial(campaign))
        super().__init__(*args, **kwargs)
        segment = self.fields["segment"]
        assert isinstance(segment, forms.ModelChoiceField)
        segment.queryset = Segment.objects.order_by("name")
        if campaign is not None:
            # Chosen contacts are kept as they are; the form does not change them.
            del self.fields["contact_ids"]

    @staticmethod
    def _initial(campaign: Campaign) -> dict[str, Any]:
        names = ["name", "segment", "purpose", "send_on", "send_time"]
        names += [
            f"{f}_{code}" for f in ("subject", "body_text") for code in LANGUAGE_CODES
        ]
        initial = {name: getattr(campaign, name) for name in names}
        initial["segment"] = campaign.segment_id
        return initial

    def chosen_count(self) -> int:
        if self.campaign is not None:
            return self.campaign.contacts.count()
        try:
            return len(self._chosen_ids(self["contact_ids"].value() or ""))
        except ValidationError:
            return 0

    @staticmethod
    def _chosen_ids(text: str) -> list[int]:
        return campaign_ids(value for value in text.split(",") if value.strip())

    def clean_contact_ids(self) -> list[int]:
        try:
            return self._chosen_ids(self.cleaned_data.get("contact_ids") or "")
        except ValidationError as error:
            raise ValidationError(error.messages) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = data.get("contact_ids") or (
            self.campaign is not None and self.campaign.contacts.exists()
        )
        if not data.get("segment") and not chosen and "segment" not in self.errors:
            self.add_error(
                "segment", _("Choose a segment, or the contacts to write to.")
            )
        return data

    def save(self) -> Campaign | None:
        fields = dict(self.cleaned_data)
        if not fields.get("contact_ids"):
            fields.pop("contact_ids", None)
        try:
            if self.campaign is None:
                return services.campaign_create(actor=self.actor, **fields)
            return services.campaign_update(
                campaign=self.campaign, actor=self.actor, **fields
            )
        except ValidationError as error:
            add_service_errors(self, error, BASE_TEXT_ALIASES)
            return None


def campaign_draft(data: Any, *, campaign: Campaign | None = None) -> Campaign:
    """An unsaved campaign with the submitted texts and purpose, for the preview."""
    draft = Campaign(
        purpose=data.get("purpose")
        or (campaign.purpose if campaign else Campaign.Purpose.MARKETING_EMAIL)
    )
    for code in LANGUAGE_CODES:
        for field in ("subject", "body_text"):
            name = f"{field}_{code}"
            fallback = getattr(campaign, name) if campaign else ""
            setattr(draft, name, str(data.get(name, fallback) or ""))
    return draft


def preview_contacts(*, q: str = "", selected: int | None = None) -> list[Contact]:
    """Contacts to preview a message for: the newest (or those matching ``q``), plus the
    one already chosen."""
    qs: QuerySet[Contact] = Contact.objects.select_related("company")
    for word in q.split():
        qs = qs.filter(
            Q(given_name__icontains=word)
            | Q(family_name__icontains=word)
            | Q(email__icontains=word)
        )
    found = list(qs.order_by("-created_at", "-id")[:25])
    if selected and all(contact.pk != selected for contact in found):
        extra = Contact.objects.select_related("company").filter(pk=selected).first()
        if extra is not None:
            found.insert(0, extra)
    return found


def preview_errors(
    draft: Campaign | MessageTemplate, form: forms.Form
) -> list[tuple[str, str, list[str]]]:
    """(field name, field label, messages) of everything the model's checks refuse in
    ``draft``: its ``clean()`` for a template, the placeholder check for a campaign."""
    try:
        if isinstance(draft, MessageTemplate):
            draft.clean()
        elif errors := translated_text_errors(draft):
            raise ValidationError(errors)
    except ValidationError as error:
        return [
            (name, str(form.fields[name].label) if name in form.fields else name, found)
            for name, found in error.message_dict.items()
        ]
    return []
