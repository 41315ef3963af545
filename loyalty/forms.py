"""Forms of the customer portal and the staff loyalty pages. They parse and display; the
services act, and their ``ValidationError``s go back onto the fields they name."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from crm.forms import timezone_choices
from crm.models import Consent, Contact
from loyalty.models import Reward
from loyalty.services.portal import form_token

CONSENT_LABELS: dict[str, Any] = {
    Consent.Purpose.MARKETING_EMAIL: _("Offers and news by email"),
    Consent.Purpose.SMS: _("Offers and news by text message (SMS)"),
    Consent.Purpose.SURVEYS: _("Short surveys about your experience"),
    Consent.Purpose.PROFILING: _("Personalised offers based on what you buy"),
}
# Where a service names a consent (``consents.sms``), the form has ``consent_sms``.
CONSENT_ALIASES = {f"consents.{p}": f"consent_{p}" for p in Consent.Purpose.values}


class OnceForm(forms.Form):
    """A form that must take effect once: its hidden one-time token becomes the idempotency
    key, so a double click or a resubmitted page replays the first answer."""

    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", form_token())

    @property
    def token_value(self) -> str:
        """The token to render: the one sent (a corrected form replays nothing, since a refused
        request wrote nothing), or a fresh one when it was missing or malformed."""
        if not self.is_bound:
            return str(self.initial["token"])
        try:
            return uuid.UUID(str(self.data.get(self.add_prefix("token"), ""))).hex
        except ValueError:
            return form_token()


class RedeemForm(OnceForm):
    """The customer confirms spending points on one reward."""


def _consent_field(purpose: str) -> forms.BooleanField:
    return forms.BooleanField(label=CONSENT_LABELS[purpose], required=False)


class JoinForm(forms.Form):
    """Self sign-up through a friend's referral link."""

    given_name = forms.CharField(
        label=_("Given name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    family_name = forms.CharField(
        label=_("Family name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We will email you a link to sign in. No password needed."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    # Filled in by portal.js from the browser (Intl); empty means the company's time zone.
    timezone = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.HiddenInput(attrs={"data-detect-timezone": ""}),
    )
    consent_marketing_email = _consent_field(Consent.Purpose.MARKETING_EMAIL)
    consent_surveys = _consent_field(Consent.Purpose.SURVEYS)

    def consents(self) -> dict[str, bool]:
        return {
            Consent.Purpose.MARKETING_EMAIL: self.cleaned_data[
                "consent_marketing_email"
            ],
            Consent.Purpose.SURVEYS: self.cleaned_data["consent_surveys"],
        }


class PreferencesForm(forms.Form):
    """A customer's language, time zone and channel consent."""

    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("Dates and times in your portal and our messages use this zone."),
    )
    consent_marketing_email = _consent_field(Consent.Purpose.MARKETING_EMAIL)
    consent_sms = _consent_field(Consent.Purpose.SMS)
    consent_surveys = _consent_field(Consent.Purpose.SURVEYS)
    consent_profiling = _consent_field(Consent.Purpose.PROFILING)

    def __init__(self, *args: Any, contact: Contact, **kwargs: Any) -> None:
        current = {c.purpose: c.granted for c in contact.consents.all()}
        kwargs.setdefault(
            "initial",
            {
                "language": contact.language,
                "timezone": str(contact.timezone) if contact.timezone else "",
                **{
                    f"consent_{p}": current.get(p, False)
                    for p in Consent.Purpose.values
                },
            },
        )
        super().__init__(*args, **kwargs)
        zone = cast(forms.ChoiceField, self.fields["timezone"])
        zone.choices = timezone_choices(str(contact.timezone or ""))

    def consents(self) -> dict[str, bool]:
        """The answers the customer gave on this page: a box they left as shown is not an
        answer (an unticked purpose they were never asked about stays unrecorded)."""
        return {
            p: bool(self.cleaned_data[f"consent_{p}"])
            for p in Consent.Purpose.values
            if f"consent_{p}" in self.changed_data
        }


class LanguageForm(forms.Form):
    """The portal header's language picker (it changes the contact's language)."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)


# --- Staff -----------------------------------------------------------------------------------


class AdjustForm(OnceForm):
    """A manager adds (positive) or removes (negative) points, saying why."""

    points = forms.IntegerField(
        label=_("Points"),
        help_text=_("Negative to remove points, e.g. -200."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Shown to the member in their points history."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Ids of their own: the panel shares the contact page with crm's forms.
        kwargs.setdefault("auto_id", "loyalty_adjust_%s")
        super().__init__(*args, **kwargs)

    def clean_points(self) -> int:
        points = cast(int, self.cleaned_data["points"])
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than 0."))
        return points


class RewardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _("%(name)s · %(cost)s points") % {
            "name": obj.name,
            "cost": formats.number_format(obj.cost, force_grouping=True),
        }


class StaffRedeemForm(OnceForm):
    """Staff redeem a reward on a member's behalf (at the counter, on the phone)."""

    reward = RewardChoiceField(label=_("Reward"), queryset=Reward.objects.none())

    def __init__(self, *args: Any, rewards: QuerySet[Reward], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "loyalty_redeem_%s")
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["reward"]).queryset = rewards


class StaffReferralForm(forms.Form):
    """Staff record that a member was referred by someone's code (told at the counter)."""

    code = forms.CharField(label=_("Referral code"), max_length=16)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "loyalty_referral_%s")
        super().__init__(*args, **kwargs)
