"""Users: staff (Admin/Manager/Agent) and portal customers, signing in by email."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _
from timezone_field import TimeZoneField

from crm.roles import Role, role_of

# Latin-script languages that still write the family name first (Nguyễn Văn An, Nagy Anna).
FAMILY_NAME_FIRST = {"hu": " ", "vi": " "}


def _script_family_first(text: str) -> str | None:
    """Hangul names read family-first with no space (홍길동); other CJK names with one (山田 太郎)."""
    if any("\uac00" <= ch <= "\ud7a3" for ch in text):
        return ""
    if any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text):
        return " "
    return None


def person_name(*, given_name: str, family_name: str, language: str) -> str:
    """A person's full name in the order their name's script writes it: 홍길동, 山田 太郎,
    Anna Schmidt (also on a Korean page), and family-first for Hungarian and Vietnamese."""
    separator = _script_family_first(given_name + family_name)
    if separator is None:
        separator = FAMILY_NAME_FIRST.get(language)
    if separator is not None:
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
