"""Companies, tags, contacts and their consent: the customer record every team shares."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce, Lower
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField
from timezone_field import TimeZoneField

from crm.models.base import TimeStampedModel
from crm.models.users import person_name

if TYPE_CHECKING:
    from crm.models.users import User


class Company(TimeStampedModel):
    """An organisation that contacts belong to."""

    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("web domain"), max_length=200, blank=True)
    country = CountryField(_("country"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="companies",
        verbose_name=_("owner"),
    )

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name", "id"]
        indexes = [models.Index(Lower("name"), name="crm_company_name_ci")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label staff put on contacts (``vip``, ``wholesale``); unique regardless of case."""

    name = models.CharField(_("name"), max_length=60)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="crm_tag_name_ci_unique",
                violation_error_message=_("A tag with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


def effective_churn_at() -> Coalesce:
    """``churned_at``, else last purchase + the churn window (DESIGN §5): when a customer
    stops being one, as a SQL expression (``contacts_mark_churned`` stores the same moment)."""
    window = dt.timedelta(days=settings.CHURN_WINDOW_DAYS)
    return Coalesce(
        "churned_at",
        models.ExpressionWrapper(
            models.F("last_purchase_at") + window, output_field=models.DateTimeField()
        ),
    )


def search_text_from(
    *,
    given_name: str,
    family_name: str,
    email: str,
    phone_digits: str,
    national_number: str,
    company_name: str,
) -> str:
    """What the contact list searches: names in both orders, email, the phone as international
    digits and as dialled at home (0 + national number), and the company, lower-cased."""
    parts = [
        given_name,
        family_name,
        f"{family_name}{given_name}",
        f"{given_name} {family_name}",
        email,
        phone_digits,
        company_name,
    ]
    if national_number:
        parts.append("0" + national_number)
    return " ".join(p.strip().lower() for p in parts if p and p.strip())


class ContactQuerySet(models.QuerySet["Contact"]):
    def visible_to(self, user: User) -> ContactQuerySet:
        """Every staff role sees every contact; customers and anonymous users see none."""
        from crm.roles import STAFF_ROLES, role_of

        return self if role_of(user) in STAFF_ROLES else self.none()

    def customers_at(self, moment: dt.datetime) -> ContactQuerySet:
        """Customers at ``moment`` (DESIGN §5): customer_since ≤ t and not churned by t."""
        return self.filter(customer_since__lte=moment).filter(
            models.Q(churned_at__isnull=True) | models.Q(churned_at__gt=moment)
        )


def contact_display_name(
    *,
    pk: int | None,
    given_name: str,
    family_name: str,
    language: str,
    email: str,
    erased_at: dt.datetime | None,
) -> str:
    """How a contact is named everywhere (the model's ``display_name``, and list rows read
    without a model instance)."""
    if erased_at is not None:
        return str(_("Erased contact #%(id)s") % {"id": pk})
    return (
        person_name(given_name=given_name, family_name=family_name, language=language)
        or email
    )


def birthday_iso_from(
    year: int | None, month: int | None, day: int | None
) -> str | None:
    """``YYYY-MM-DD``, or ``--MM-DD`` when the year is unknown (vCard/ISO 8601 style)."""
    if month is None or day is None:
        return None
    if year:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"--{month:02d}-{day:02d}"


class Contact(TimeStampedModel):
    """A person we sell to or support; the root of every CRM record."""

    class LifecycleStage(models.TextChoices):
        SUBSCRIBER = "subscriber", _("Subscriber")
        LEAD = "lead", _("Lead")
        OPPORTUNITY = "opportunity", _("Opportunity")
        CUSTOMER = "customer", _("Customer")
        EVANGELIST = "evangelist", _("Evangelist")
        OTHER = "other", _("Other")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by staff")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        PORTAL = "portal", _("Portal sign-up")
        REFERRAL = "referral", _("Referral")
        WEBSITE = "website", _("Website")
        OTHER = "other", _("Other")

    given_name = models.CharField(_("given name"), max_length=150, blank=True)
    family_name = models.CharField(_("family name"), max_length=150, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    company = models.ForeignKey(
        Company,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("company"),
    )
    country = CountryField(_("country"), blank=True)
    language = models.CharField(
        _("preferred language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    timezone = TimeZoneField(
        _("time zone"),
        blank=True,
        null=True,
        use_pytz=False,
        help_text=_("Empty means the company's default time zone."),
    )
    # Address books often export a birthday without its year (vCard --MM-DD), so the parts are
    # stored apart; month/day columns also make "today's birthdays" one indexed query.
    birth_year = models.PositiveSmallIntegerField(
        _("birth year"), null=True, blank=True
    )
    birth_month = models.PositiveSmallIntegerField(
        _("birth month"), null=True, blank=True
    )
    birth_day = models.PositiveSmallIntegerField(_("birth day"), null=True, blank=True)
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="contacts", verbose_name=_("tags")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_contacts",
        verbose_name=_("owner"),
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
    )
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.MANUAL
    )
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    customer_since = models.DateTimeField(_("customer since"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    churned_at = models.DateTimeField(_("churned"), null=True, blank=True)
    # Set when the contact's personal data was erased: the row stays, anonymous, so purchases
    # and ledger figures (and the metrics built on them) stay correct.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact",
        verbose_name=_("portal account"),
    )
    # Lower-cased names in both orders, email, phone digits and company name, kept by the
    # contact services: one trigram-indexed column makes "홍길동", "gildong hong" or a phone
    # fragment one index scan at a million contacts.
    search_text = models.TextField(editable=False, default="")

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["family_name", "given_name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="crm_contact_email_ci_unique",
                violation_error_message=_(
                    "A contact with this email address already exists."
                ),
            ),
            models.CheckConstraint(
                condition=models.Q(birth_month__isnull=True)
                | models.Q(birth_month__gte=1, birth_month__lte=12),
                name="crm_contact_birth_month_range",
            ),
            models.CheckConstraint(
                condition=models.Q(birth_day__isnull=True)
                | models.Q(birth_day__gte=1, birth_day__lte=31),
                name="crm_contact_birth_day_range",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    birth_month__isnull=True,
                    birth_day__isnull=True,
                    birth_year__isnull=True,
                )
                | models.Q(birth_month__isnull=False, birth_day__isnull=False),
                name="crm_contact_birthday_complete",
            ),
        ]
        indexes = [
            # The zone too: a day's greeting planner finds the zones with a birthday that
            # day, and then each zone's contacts, from the index alone.
            models.Index(
                fields=["birth_month", "birth_day", "timezone"],
                name="crm_contact_birthday_zone",
            ),
            models.Index(
                fields=["owner", "lifecycle_stage"], name="crm_contact_owner_stage"
            ),
            models.Index(fields=["country"], name="crm_contact_country"),
            models.Index(fields=["language"], name="crm_contact_language"),
            models.Index(fields=["created_at", "id"], name="crm_contact_created"),
            # The contact list's orderings (crm.selectors.CONTACT_ORDERINGS), for keyset pages.
            models.Index(
                fields=["family_name", "given_name", "id"],
                name="crm_contact_name_order",
            ),
            # (-last_purchase_at NULLS LAST, -id) is created on PostgreSQL by migration 0006:
            # SQLite cannot index NULLS LAST.
            models.Index(fields=["last_purchase_at"], name="crm_contact_last_purchase"),
            models.Index(fields=["customer_since"], name="crm_contact_customer_since"),
            models.Index(fields=["phone"], name="crm_contact_phone"),
            # Emails are stored lower-cased by the services, so lookups use this plain index.
            models.Index(fields=["email"], name="crm_contact_email"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("crm:contact", args=[self.pk])

    @property
    def display_name(self) -> str:
        return contact_display_name(
            pk=self.pk,
            given_name=self.given_name,
            family_name=self.family_name,
            language=self.language,
            email=self.email,
            erased_at=self.erased_at,
        )

    @property
    def birthday(self) -> dt.date | None:
        """The birthday as a date (year 2000 stands in for an unknown year: it is a leap year)."""
        if self.birth_month is None or self.birth_day is None:
            return None
        return dt.date(self.birth_year or 2000, self.birth_month, self.birth_day)

    @property
    def birthday_iso(self) -> str | None:
        """``YYYY-MM-DD``, or ``--MM-DD`` when the year is unknown (vCard/ISO 8601 style)."""
        return birthday_iso_from(self.birth_year, self.birth_month, self.birth_day)

    @property
    def effective_timezone(self) -> zoneinfo.ZoneInfo:
        """The contact's time zone, or the company default (``TIME_ZONE``) when unknown."""
        return self.timezone or zoneinfo.ZoneInfo(settings.TIME_ZONE)

    def build_search_text(self) -> str:
        # The phone as text once: each str() of a PhoneNumber validates the number again.
        phone = "" if self.phone is None else str(self.phone)
        national = getattr(self.phone, "national_number", None) if phone else None
        return search_text_from(
            given_name=self.given_name,
            family_name=self.family_name,
            email=self.email,
            phone_digits=phone.lstrip("+"),
            national_number=str(national or ""),
            company_name=self.company.name if self.company_id and self.company else "",
        )

    def clean(self) -> None:
        super().clean()
        if not (self.given_name.strip() or self.family_name.strip()):
            raise ValidationError(
                {"given_name": _("Enter a given name or a family name.")}
            )
        if (self.birth_month is None) != (self.birth_day is None):
            raise ValidationError(
                {"birth_day": _("A birthday needs both a month and a day.")}
            )
        if self.birth_month is not None and self.birth_day is not None:
            try:
                dt.date(self.birth_year or 2000, self.birth_month, self.birth_day)
            except ValueError:
                raise ValidationError(
                    {"birth_day": _("This day does not exist in that month.")}
                ) from None


class Consent(models.Model):
    """A contact's current yes/no for one purpose, with who set it, when and from where.

    Outreach reads this before every message; ``ConsentEvent`` keeps every change behind it.
    """

    class Purpose(models.TextChoices):
        MARKETING_EMAIL = "marketing_email", _("Marketing email")
        SMS = "sms", _("SMS")
        SURVEYS = "surveys", _("Surveys")
        PROFILING = "profiling", _("Profiling")

    class Source(models.TextChoices):
        STAFF = "staff", _("Staff")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        PORTAL = "portal", _("Portal")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")

    contact = models.ForeignKey(
        Contact, models.CASCADE, related_name="consents", verbose_name=_("contact")
    )
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    changed_at = models.DateTimeField(_("changed"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    wording_version = models.CharField(_("wording version"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "purpose"], name="crm_consent_one_per_purpose"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.purpose}={self.granted}"
