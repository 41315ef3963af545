"""Core CRM records: staff and portal users, companies and contacts."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField
from timezone_field import TimeZoneField

from crm.roles import Role, role_of


class TimeStampedModel(models.Model):
    """Adds ``created_at`` and ``updated_at`` to every row that inherits it."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


# Languages that write the family name first; Korean writes it without a space (홍길동).
FAMILY_NAME_FIRST = {
    "ko": "",
    "ja": " ",
    "zh-hans": "",
    "zh-hant": "",
    "hu": " ",
    "vi": " ",
}


def person_name(*, given_name: str, family_name: str, language: str) -> str:
    """A person's full name in the order their language writes it (홍길동, Anna Schmidt)."""
    if (separator := FAMILY_NAME_FIRST.get(language)) is not None:
        return f"{family_name}{separator}{given_name}".strip()
    return f"{given_name} {family_name}".strip()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        # Email addresses are matched case-insensitively at sign-in.
        return self.get(email__iexact=(username or "").strip())

    def create_user(
        self, email: str, password: str | None = None, **extra: object
    ) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, email: str, password: str | None = None, **extra: object
    ) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Someone who signs in: staff (Admin/Manager/Agent group) or a portal customer (no staff flag)."""

    email = models.EmailField(_("email address"), unique=True)
    given_name = models.CharField(_("given name"), max_length=150, blank=True)
    family_name = models.CharField(_("family name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty means the browser's language."),
    )
    timezone = TimeZoneField(
        _("time zone"),
        blank=True,
        null=True,
        use_pytz=False,
        help_text=_("Empty means the company's default time zone."),
    )
    is_staff = models.BooleanField(
        _("staff"),
        default=False,
        help_text=_("Staff sign in to the CRM; customers use the portal."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=django_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="crm_user_email_ci_unique",
                violation_error_message=_(
                    "A user with this email address already exists."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def display_name(self) -> str:
        return (
            person_name(
                given_name=self.given_name,
                family_name=self.family_name,
                language=self.language,
            )
            or self.email
        )

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.given_name or self.email

    @property
    def role(self) -> Role | None:
        """Admin, Manager, Agent or Customer: the group that decides what this user may do."""
        return role_of(self)

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER


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
        ordering = ["name"]
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
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact",
        verbose_name=_("portal account"),
    )

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
            models.Index(
                fields=["birth_month", "birth_day"], name="crm_contact_birthday"
            ),
            models.Index(
                fields=["owner", "lifecycle_stage"], name="crm_contact_owner_stage"
            ),
            models.Index(fields=["country"], name="crm_contact_country"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return (
            person_name(
                given_name=self.given_name,
                family_name=self.family_name,
                language=self.language,
            )
            or self.email
        )

    @property
    def birthday(self) -> dt.date | None:
        """The birthday as a date (year 2000 stands in for an unknown year: it is a leap year)."""
        if self.birth_month is None or self.birth_day is None:
            return None
        return dt.date(self.birth_year or 2000, self.birth_month, self.birth_day)

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
