"""The dashboard's period and filter form, and the drill-down's follow-up task form."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from analytics.metrics import Filters
from analytics.periods import DEFAULT_PRESET, PRESETS, Period, preset_period, today
from crm.models import Segment, User

MAX_DAYS = 3 * 366 + 1


def staff_users() -> QuerySet[User]:
    return User.objects.filter(is_staff=True, is_active=True).order_by(
        "given_name", "family_name", "email"
    )


def owner_choices() -> list[tuple[str, str]]:
    """Everyone's contacts, my own book, or the book of any active staff user."""
    return [
        ("", str(_("All owners"))),
        ("me", str(_("Me"))),
        *((str(user.pk), user.display_name) for user in staff_users()),
    ]


def owner_id(value: str, user: User | None) -> int | None:
    """The owner a filter value names: "me" is the signed-in user, digits a user id."""
    if value == "me":
        return user.pk if user is not None else None
    return int(value) if value.isdigit() else None


class DashboardFilterForm(forms.Form):
    """Read from the query string; an invalid form falls back to this month, unfiltered."""

    period = forms.ChoiceField(
        label=_("Period"), choices=list(PRESETS.items()), required=False
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    segment = forms.ModelChoiceField(
        label=_("Segment"),
        queryset=Segment.objects.order_by("name", "pk"),
        required=False,
        empty_label=_("All contacts"),
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)
    # Choices are read only when the field is rendered or a value is chosen.
    owner = forms.ChoiceField(label=_("Owner"), required=False, choices=owner_choices)

    def __init__(self, *args: Any, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # One query for the owner list per form, however often it is iterated.
        cast(forms.ChoiceField, self.fields["owner"]).choices = functools.cache(
            owner_choices
        )
        cast(forms.ChoiceField, self.fields["country"]).choices = [
            ("", _("All countries")),
            *list(countries),
        ]
        cast(forms.ChoiceField, self.fields["language"]).choices = [
            ("", _("All languages")),
            *settings.LANGUAGES,
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        preset = data.get("period") or DEFAULT_PRESET
        data["period"] = preset
        if preset == "custom":
            start, end = data.get("start"), data.get("end")
            if start is None:
                self.add_error("start", _("Choose the first day."))
            if end is None:
                self.add_error("end", _("Choose the last day."))
            if start and end and end < start:
                self.add_error(
                    "end", _("The end date cannot be before the start date.")
                )
            if start and end and (end - start).days >= MAX_DAYS:
                self.add_error("end", _("A period can be at most three years long."))
        return data

    @property
    def chosen_period(self) -> Period:
        if not self.is_valid():
            return preset_period(DEFAULT_PRESET)
        data = self.cleaned_data
        if data["period"] == "custom":
            return Period(data["start"], data["end"])
        return preset_period(data["period"], on=today())

    @property
    def filters(self) -> Filters:
        if not self.is_valid():
            return Filters()
        data = self.cleaned_data
        segment = data.get("segment")
        return Filters(
            segment_id=segment.pk if segment else None,
            country=data.get("country") or "",
            language=data.get("language") or "",
            owner_id=owner_id(data.get("owner") or "", self.user),
        )


class FollowUpForm(forms.Form):
    """Create a follow-up task for the owner of each chosen contact."""

    contacts = forms.TypedMultipleChoiceField(
        label=_("Contacts"), coerce=int, choices=(), required=True
    )
    title = forms.CharField(label=_("Task"), max_length=200)
    due_on = forms.DateField(
        label=_("Due"), widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, contact_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["contacts"]).choices = [
            (pk, str(pk)) for pk in contact_ids
        ]

    def clean_due_on(self) -> dt.date:
        due: dt.date = self.cleaned_data["due_on"]
        if due < today():
            raise forms.ValidationError(_("Choose today or a later day."))
        return due
