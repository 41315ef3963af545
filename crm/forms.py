import datetime as dt
import zoneinfo
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, cast

from babel.numbers import get_currency_name, list_currencies
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from crm import services
from crm.currencies import is_currency
from crm.models import (
    Company,
    Consent,
    Contact,
    Interaction,
    Purchase,
    Segment,
    Tag,
    Task,
    User,
)
from crm.roles import STAFF_ROLES, role_of
from crm.selectors import CONTACT_FILTERS


class _EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"


class StaffAuthenticationForm(_EmailAuthenticationForm):
    """Staff sign-in; customers are pointed to the portal instead."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if role_of(user) not in STAFF_ROLES:
            raise forms.ValidationError(
                _(
                    "This sign-in is for staff. Customers sign in at the loyalty portal."
                ),
                code="not_staff",
            )


class SignInLinkForm(forms.Form):
    """A customer asks for a sign-in link by email."""

    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class CustomerAuthenticationForm(_EmailAuthenticationForm):
    """Portal sign-in for customers; staff accounts have no loyalty account to show."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if role_of(user) in STAFF_ROLES:
            raise forms.ValidationError(
                _(
                    "Staff accounts cannot sign in to the customer portal. Use the staff sign-in."
                ),
                code="staff",
            )


# --- Contacts, interactions, purchases, tasks (the staff pages in crm/views/) ----------------
# Forms parse and display; every write goes through a crm service, whose ValidationErrors are
# put back on the form's fields (``add_service_errors``), so errors name the field.

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# The contact-list filters as the list page labels them (errors name the filter with these).
FILTER_LABELS = {
    "q": _("Search"),
    "country": _("Country"),
    "language": _("Language"),
    "lifecycle_stage": _("Lifecycle stage"),
    "tag": _("Tag"),
    "owner": _("Owner"),
    "company": _("Company"),
    "segment": _("Segment"),
    "has_purchased": _("Has purchased"),
    "birthday_month": _("Birthday month"),
    "ordering": _("Sort by"),
}
ORDERING_LABELS = {
    "name": _("Name"),
    "-created": _("Newest first"),
    "created": _("Oldest first"),
    "-last_purchase": _("Latest purchase"),
}


def add_service_errors(
    form: forms.Form, error: ValidationError, aliases: dict[str, str] | None = None
) -> None:
    """Put a service's ``ValidationError`` on the form: each message on the field it names.

    ``aliases`` maps service names to form fields (``duration_seconds`` → ``duration_minutes``);
    a name the form has no field for becomes a form-wide error prefixed with that name.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    aliases = aliases or {}
    for name, messages in error.message_dict.items():
        field = aliases.get(name, name)
        if field in form.fields:
            form.add_error(field, messages)
        else:
            form.add_error(None, [f"{name}: {message}" for message in messages])


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _staff_users() -> QuerySet[User]:
    return User.objects.filter(is_staff=True, is_active=True).order_by(
        "given_name", "family_name", "email"
    )


class StaffChoiceField(forms.ModelChoiceField):
    """An active staff user, shown by name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=_staff_users(), **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


def _datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)


@lru_cache(maxsize=1)
def _timezone_names() -> tuple[str, ...]:
    """Canonical IANA zones (Region/City), without the legacy aliases such as US/Eastern."""
    legacy = (
        "Etc/",
        "SystemV/",
        "US/",
        "posix",
        "right/",
        "Brazil/",
        "Canada/",
        "Mexico/",
        "Chile/",
    )
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(legacy)
    }
    return ("UTC", *sorted(names))


def timezone_choices(current: str = "") -> list[Any]:
    """IANA zones grouped by region for a <select> (optgroups), keeping an unusual current one."""
    groups: dict[str, list[tuple[str, str]]] = {}
    names = list(_timezone_names())
    if current and current not in names:
        names.append(current)
    for name in names:
        region, _sep, city = name.partition("/")
        groups.setdefault(region if city else "UTC", []).append(
            (name, city.replace("_", " ").replace("/", " / ") if city else name)
        )
    default = gettext("Company default (%(zone)s)") % {"zone": settings.TIME_ZONE}
    return [("", default), *groups.items()]


@lru_cache(maxsize=8)
def _currency_choices(locale: str) -> tuple[tuple[str, str], ...]:
    codes = sorted(code for code in list_currencies() if is_currency(code))
    return tuple(
        (code, f"{code} · {get_currency_name(code, locale=locale)}") for code in codes
    )


def currency_choices() -> list[tuple[str, str]]:
    """Currencies in use today, named in the reader's language (``KRW · South Korean Won``)."""
    locale = translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE)
    return list(_currency_choices(locale))


def month_choices() -> list[tuple[str, str]]:
    from django.utils.dates import MONTHS

    return [(str(number), str(name)) for number, name in MONTHS.items()]


class FilterChoiceField(forms.ChoiceField):
    """A filter's select: any value passes here, the selector decides (and names the filter)."""

    def valid_value(self, value: Any) -> bool:
        return True


class ContactFilterForm(forms.Form):
    """The contact list's search, filters and sort. It only displays them: the selector reads
    the raw query string and names the filter in its error, which the view puts on this form."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name, email, phone or company"),
                "autocomplete": "off",
            }
        ),
    )
    country = FilterChoiceField(label=_("Country"), required=False)
    language = FilterChoiceField(label=_("Language"), required=False)
    lifecycle_stage = FilterChoiceField(label=_("Lifecycle stage"), required=False)
    tag = FilterChoiceField(label=_("Tag"), required=False)
    owner = FilterChoiceField(label=_("Owner"), required=False)
    segment = FilterChoiceField(label=_("Segment"), required=False)
    has_purchased = FilterChoiceField(
        label=_("Has purchased"),
        required=False,
        choices=[
            ("", _("Any")),
            ("true", _("Yes")),
            ("false", _("No")),
        ],
    )
    birthday_month = FilterChoiceField(label=_("Birthday month"), required=False)
    ordering = FilterChoiceField(label=_("Sort by"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        anything: list[tuple[str, Any]] = [("", pgettext_lazy("filter", "All"))]
        options: dict[str, list[tuple[str, Any]]] = {
            "country": list(countries),
            "language": list(settings.LANGUAGES),
            "lifecycle_stage": list(Contact.LifecycleStage.choices),
            "tag": [(n, n) for n in Tag.objects.values_list("name", flat=True)],
            "owner": [
                ("me", _("Me")),
                ("none", _("Nobody")),
                *((str(u.pk), u.display_name) for u in _staff_users()),
            ],
            "segment": [
                (str(pk), name)
                for pk, name in Segment.objects.values_list("pk", "name")
            ],
            "birthday_month": month_choices(),
        }
        for name, choices in options.items():
            _choice_field(self, name).choices = anything + choices
        _choice_field(self, "ordering").choices = [
            ("", _("Name, or newest first when searching")),
            *ORDERING_LABELS.items(),
        ]
        for name, field in self.fields.items():
            if name != "q":  # the list refreshes when one of these changes (HTMX)
                field.widget.attrs["class"] = "filter-control"

    def filter_params(self) -> dict[str, list[str]]:
        return contact_filter_params(self.data)


def contact_filter_params(data: Any) -> dict[str, list[str]]:
    """The non-empty contact-list filters of a query string or form post, as the selector
    and segments take them (``{"country": ["KR"], "tag": ["vip"]}``)."""
    params: dict[str, list[str]] = {}
    for name in CONTACT_FILTERS:
        raw = data.getlist(name) if hasattr(data, "getlist") else [data.get(name, "")]
        values = [str(v).strip() for v in raw if v is not None and str(v).strip()]
        if values:
            params[name] = values
    return params


class ContactForm(forms.Form):
    """Create or change a contact through ``contact_create`` / ``contact_update``."""

    given_name = forms.CharField(label=_("Given name"), max_length=150, required=False)
    family_name = forms.CharField(
        label=_("Family name"), max_length=150, required=False
    )
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_(
            "With + and the country code, or as dialled in the contact's country."
        ),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    company = forms.CharField(
        label=_("Company"),
        max_length=200,
        required=False,
        help_text=_("Choose a company or type a new name."),
        widget=forms.TextInput(
            attrs={"list": "company-options", "autocomplete": "off"}
        ),
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    language = forms.ChoiceField(label=_("Preferred language"))
    timezone = forms.ChoiceField(label=_("Time zone"), required=False)
    birthday = forms.CharField(
        label=_("Birthday"),
        max_length=10,
        required=False,
        help_text=_("YYYY-MM-DD, or --MM-DD when the year is unknown."),
        widget=forms.TextInput(
            attrs={"placeholder": "1990-03-14", "inputmode": "numeric"}
        ),
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Separate tags with commas."),
    )
    owner = StaffChoiceField(label=_("Owner"), required=False, empty_label=_("Nobody"))
    lifecycle_stage = forms.ChoiceField(
        label=_("Lifecycle stage"),
        choices=Contact.LifecycleStage.choices,
        initial=Contact.LifecycleStage.LEAD,
    )
    consent_marketing_email = forms.BooleanField(
        label=Consent.Purpose.MARKETING_EMAIL.label, required=False
    )
    consent_sms = forms.BooleanField(label=Consent.Purpose.SMS.label, required=False)
    consent_surveys = forms.BooleanField(
        label=Consent.Purpose.SURVEYS.label, required=False
    )
    consent_profiling = forms.BooleanField(
        label=Consent.Purpose.PROFILING.label, required=False
    )

    SERVICE_FIELDS = (
        "given_name",
        "family_name",
        "email",
        "phone",
        "country",
        "language",
        "timezone",
        "birthday",
        "owner",
        "lifecycle_stage",
    )
    ERROR_ALIASES = {
        "birth_day": "birthday",
        "birth_month": "birthday",
        "birth_year": "birthday",
        **{f"consents.{p}": f"consent_{p}" for p in Consent.Purpose.values},
    }

    def __init__(
        self,
        *args: Any,
        actor: User,
        contact: Contact | None = None,
        ip_address: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.actor, self.contact, self.ip_address = actor, contact, ip_address
        self.current_consents: dict[str, bool] = {}
        if contact is not None:
            self.current_consents = {
                c.purpose: c.granted for c in contact.consents.all()
            }
            kwargs.setdefault("initial", self._initial(contact))
        else:
            kwargs.setdefault(
                "initial",
                {
                    "owner": actor.pk,
                    "language": translation.get_language() or settings.LANGUAGE_CODE,
                },
            )
        super().__init__(*args, **kwargs)
        _choice_field(self, "country").choices = [("", "—"), *countries]
        _choice_field(self, "language").choices = list(settings.LANGUAGES)
        current_zone = str(contact.timezone) if contact and contact.timezone else ""
        _choice_field(self, "timezone").choices = timezone_choices(current_zone)

    def _initial(self, contact: Contact) -> dict[str, Any]:
        return {
            "given_name": contact.given_name,
            "family_name": contact.family_name,
            "email": contact.email,
            "phone": str(contact.phone or ""),
            "company": contact.company.name if contact.company else "",
            "country": str(contact.country or ""),
            "language": contact.language,
            "timezone": str(contact.timezone) if contact.timezone else "",
            "birthday": contact.birthday_iso or "",
            "tags": ", ".join(tag.name for tag in contact.tags.all()),
            "owner": contact.owner_id,
            "lifecycle_stage": contact.lifecycle_stage,
            **{
                f"consent_{purpose}": self.current_consents.get(purpose, False)
                for purpose in Consent.Purpose.values
            },
        }

    def company_options(self) -> list[str]:
        """Names for the company field's suggestions (a datalist: any other name creates one)."""
        return list(
            Company.objects.order_by("name").values_list("name", flat=True)[:500]
        )

    def _consents(self) -> dict[str, bool]:
        """Only the purposes whose answer changes: an untouched box records nothing."""
        wanted = {
            p: bool(self.cleaned_data[f"consent_{p}"]) for p in Consent.Purpose.values
        }
        return {
            purpose: granted
            for purpose, granted in wanted.items()
            if granted != self.current_consents.get(purpose, False)
        }

    def save(self) -> Contact | None:
        """Create or update the contact; on a service error the form gets it and nothing is saved."""
        data = self.cleaned_data
        fields: dict[str, Any] = {name: data[name] for name in self.SERVICE_FIELDS}
        fields["tags"] = [t.strip() for t in data["tags"].split(",") if t.strip()]
        common: dict[str, Any] = {
            "actor": self.actor,
            "consents": self._consents(),
            "consent_source": Consent.Source.STAFF,
            "ip_address": self.ip_address,
        }
        fields["company"] = data["company"]  # a name: the service reuses or creates it
        try:
            if self.contact is None:
                fields["source"] = Contact.Source.MANUAL
                return services.contact_create(**common, **fields)
            return services.contact_update(contact=self.contact, **common, **fields)
        except ValidationError as error:
            add_service_errors(self, error, self.ERROR_ALIASES)
            return None


class InteractionForm(forms.Form):
    """Log a call, email, meeting… on a contact's timeline (``interaction_log``)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Interaction.Kind.choices)
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=Interaction.Direction.choices,
        initial=Interaction.Direction.OUTBOUND,
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=_datetime_input(),
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), required=False, min_value=0, max_value=24 * 60
    )

    def save(self, *, contact: Contact, author: User) -> Interaction | None:
        data = self.cleaned_data
        minutes = data["duration_minutes"]
        try:
            return services.interaction_log(
                contact=contact,
                author=author,
                kind=data["kind"],
                direction=data["direction"],
                subject=data["subject"],
                body=data["body"],
                occurred_at=data["occurred_at"],
                duration_seconds=None if minutes is None else minutes * 60,
            )
        except ValidationError as error:
            add_service_errors(self, error, {"duration_seconds": "duration_minutes"})
            return None


class PurchaseForm(forms.Form):
    """Record a purchase in any currency (``purchase_record``), converted to the base currency."""

    amount = forms.DecimalField(label=_("Amount"), max_digits=18)
    currency = forms.ChoiceField(label=_("Currency"))
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=_datetime_input(),
    )
    external_id = forms.CharField(
        label=_("Order number"),
        max_length=200,
        required=False,
        help_text=_("Recording the same order number again changes nothing."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"currency": settings.BASE_CURRENCY})
        super().__init__(*args, **kwargs)
        _choice_field(self, "currency").choices = currency_choices()

    def save(self, *, contact: Contact, actor: User) -> tuple[Purchase, bool] | None:
        data = self.cleaned_data
        try:
            return services.purchase_record(
                contact=contact,
                amount=data["amount"],
                currency=data["currency"],
                occurred_at=data["occurred_at"] or timezone.now(),
                external_id=data["external_id"],
                actor=actor,
            )
        except ValidationError as error:
            add_service_errors(self, error)
            return None


def _tomorrow_morning() -> dt.datetime:
    """09:00 tomorrow in the reader's time zone: the usual due time of a follow-up."""
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(9)))


class TaskForm(forms.Form):
    """A follow-up task about a contact (``task_create``)."""

    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = forms.DateTimeField(label=_("Due"), widget=_datetime_input())
    assignee = StaffChoiceField(label=_("Assignee"))
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, assignee: User | None = None, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "due_at": timezone.localtime(_tomorrow_morning()),
                "assignee": assignee.pk if assignee else None,
            },
        )
        super().__init__(*args, **kwargs)

    def save(self, *, contact: Contact | None, created_by: User) -> Task | None:
        data = self.cleaned_data
        try:
            return services.task_create(
                title=data["title"],
                due_at=data["due_at"],
                assignee=data["assignee"],
                created_by=created_by,
                contact=contact,
                notes=data["notes"],
            )
        except ValidationError as error:
            add_service_errors(self, error)
            return None


class TaskReassignForm(forms.Form):
    assignee = StaffChoiceField(label=_("Assignee"))


class SegmentForm(forms.Form):
    name = forms.CharField(
        label=_("Segment name"),
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. VIPs in Korea")}),
    )


class BulkTagForm(forms.Form):
    # Both bulk forms share one <form>: a browser "required" on the other action's field
    # would block this one. The server checks what the chosen action needs.
    use_required_attribute = False

    tags = forms.CharField(
        label=_("Tags to add"),
        max_length=600,
        widget=forms.TextInput(attrs={"placeholder": _("vip, event-2026")}),
    )

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class BulkAssignForm(forms.Form):
    use_required_attribute = False

    owner = StaffChoiceField(label=_("New owner"), empty_label=_("Choose an owner…"))


def contact_ids(values: Iterable[str], limit: int = 10_000) -> list[int]:
    """The checked rows' ids from a form post (anything that is not a number is ignored)."""
    return [int(v) for v in values if str(v).isdigit()][:limit]
