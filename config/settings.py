"""Rapport settings: everything configurable comes from the environment (see .env.example).

With no environment at all this is the embedded default: SQLite for the database and kombu's
SQLAlchemy transport over a SQLite file for Celery, both under ``var/``.
"""

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")


def _file_or_env(name: str) -> str | None:
    """Read a secret from ``NAME_FILE`` (a path, e.g. a Docker secret) or from ``NAME``."""
    if path := env.str(f"{name}_FILE", default=""):
        return Path(path).read_text().strip()
    return env.str(name, default=None)


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = _file_or_env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env.str("DATABASE_URL", default=""):
        # The scaled deployment (a database server) never runs on a made-up key.
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE), or DEBUG=true for a local run."
        )
    # Embedded default (SQLite under var/) or a local run: generate one key once and keep it
    # beside the data, so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

# Loopback names are always allowed, so the container health check can ask for /health/.
ALLOWED_HOSTS = [
    *env.list("ALLOWED_HOSTS", default=[]),
    "localhost",
    "127.0.0.1",
    "[::1]",
]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "modeltranslation",  # before admin, so translated fields show in admin
    "crm.apps.RapportAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "axes",
    "csp",
    "django_otp",  # two-factor sign-in for staff (crm/two_factor.py)
    "django_otp.plugins.otp_totp",
    "django_countries",
    "phonenumber_field",
    "crm",
    "loyalty",
    "feedback",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # tells whether the session passed the code
    "crm.two_factor.TwoFactorMiddleware",  # holds staff at the code page until then
    "crm.middleware.UserPreferencesMiddleware",
    "crm.middleware.AuditMiddleware",  # the address for audit entries; records 403s
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "crm.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the Celery worker share the file: wait for locks instead of failing,
    # and take the write lock at BEGIN so two writers never deadlock on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The hot reads as prepared statements (crm.prepared); off behind a transaction-mode pooler.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
# A full rollup rebuild fills its contact-id ranges on this many connections at once (one per
# CPU PostgreSQL may use for it; 1: one connection, in turn). PostgreSQL only.
ROLLUP_REBUILD_CONNECTIONS = env.int("ROLLUP_REBUILD_CONNECTIONS", default=2)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "crm.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "sesame.backends.ModelBackend",  # the customer portal's emailed sign-in links
]
# Portal sign-in links: single use, valid for SESAME_MAX_AGE seconds.
SESAME_MAX_AGE = env.int("SIGN_IN_LINK_MINUTES", default=15) * 60
SESAME_ONE_TIME = True
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)

# Login throttling: after AXES_FAILURE_LIMIT wrong passwords for one account from one address,
# that pair is refused until AXES_COOLOFF_MINUTES have passed.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crm.views.lockout"
AXES_USERNAME_CALLABLE = "crm.views.axes_username"
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in forms' field, which holds the email
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0) or None
AXES_VERBOSE = False
# Two-factor sign-in (TOTP authenticator apps) for staff; optional per person unless this
# requires it of every Admin, who is then sent to set it up before any other page.
STAFF_2FA_REQUIRED_FOR_ADMINS = env.bool("STAFF_2FA_REQUIRED_FOR_ADMINS", default=False)
OTP_TOTP_ISSUER = "Rapport"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "rapport_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
BASE_CURRENCY = env.str("BASE_CURRENCY", default="USD").upper()
# A customer with no purchase for this many days has churned (DESIGN §5).
CHURN_WINDOW_DAYS = env.int("CHURN_WINDOW_DAYS", default=365)
# Surveys: no contact is invited more than once in this many days; detractor follow-ups
# are due within FEEDBACK_FOLLOW_UP_HOURS, for the contact's owner or this default assignee.
SURVEY_CONTACT_CAP_DAYS = env.int("SURVEY_CONTACT_CAP_DAYS", default=30)
FEEDBACK_FOLLOW_UP_HOURS = env.int("FEEDBACK_FOLLOW_UP_HOURS", default=48)
FEEDBACK_DEFAULT_ASSIGNEE = env.str("FEEDBACK_DEFAULT_ASSIGNEE", default="")
# The public origin for links sent by email (e.g. https://crm.example.com); empty: paths only.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")
# Data-subject rights: a personal-data archive can be downloaded for this many hours; the API
# answers at once for contacts with fewer rows than the sync limit, else it runs a job.
PRIVACY_EXPORT_TTL_HOURS = env.int("PRIVACY_EXPORT_TTL_HOURS", default=72)
PRIVACY_EXPORT_SYNC_LIMIT = env.int("PRIVACY_EXPORT_SYNC_LIMIT", default=5000)
# Retention (the nightly purge): bodies of outbox messages older than this many days, survey
# invitations (tokens of expired ones; unanswered ones) and sign-in attempt records.
RETENTION_OUTBOX_BODY_DAYS = env.int("RETENTION_OUTBOX_BODY_DAYS", default=180)
RETENTION_INVITATION_DAYS = env.int("RETENTION_INVITATION_DAYS", default=90)
RETENTION_SIGN_IN_DAYS = env.int("RETENTION_SIGN_IN_DAYS", default=90)
# The version of the consent wording customers and staff are shown; every consent change
# records it, so the ledger says which text was agreed to. Bump it when the wording changes.
CONSENT_WORDING_VERSION = env.str("CONSENT_WORDING_VERSION", default="1")
# Outreach: no message is sent in the quiet hours of the contact's local time (HH:MM; due
# messages wait until the end), and no contact gets more marketing messages a week than this.
OUTREACH_QUIET_START = env.str("OUTREACH_QUIET_START", default="21:00")
OUTREACH_QUIET_END = env.str("OUTREACH_QUIET_END", default="08:00")
OUTREACH_MAX_PER_WEEK = env.int("OUTREACH_MAX_PER_WEEK", default=3)
# A transiently refused message is tried this many times (with backoff) before it fails.
OUTREACH_MAX_ATTEMPTS = env.int("OUTREACH_MAX_ATTEMPTS", default=5)
# Seconds after which a claimed message whose send task never ran is queued again.
OUTREACH_REQUEUE_AFTER = env.int("OUTREACH_REQUEUE_AFTER", default=600)
PHONENUMBER_DEFAULT_FORMAT = "E164"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static_root"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Front-end libraries installed from npm (package.json), never from a CDN.
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
# Largest contact import file (CSV or vCard) accepted, in bytes.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 1024 * 1024)

# --- Email ----------------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email("EMAIL_URL"))
else:
    # Embedded default: every message is written to var/mail/ (and shown in the Outbox).
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Rapport <no-reply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -------------------------------------------------------------------------------
SECURE = not DEBUG and env.bool("SECURE", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = SECURE
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
LANGUAGE_COOKIE_SECURE = SECURE
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=31_536_000 if SECURE else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Content-Security-Policy: no inline scripts anywhere; scripts and styles come from our origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.permissions.IsStaffMember"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.rest.RapportAutoSchema",
    "EXCEPTION_HANDLER": "config.rest.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport API",
    "DESCRIPTION": "Contacts, loyalty, feedback, outreach and metrics. Authenticate with "
    "`Authorization: Token <key>` (see `manage.py create_api_token`) or a staff session.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["crm.permissions.IsStaffMember"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Two models have a "kind" field with different choices; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "InteractionKindEnum": "crm.models.Interaction.Kind",
        "PointsEntryKindEnum": "loyalty.models.PointsEntry.Kind",
        "TicketStatusEnum": "feedback.models.tickets.Ticket.Status",
        "InvitationSourceEnum": "feedback.models.surveys.Invitation.Source",
        "SourceEnum": "crm.models.Contact.Source",  # the name it had before surveys
        "ReviewStatusEnum": "feedback.models.reviews.Review.Status",
        # The consent ledger's purpose and source differ from campaigns' and contacts'.
        "ConsentPurposeEnum": "crm.models.Consent.Purpose",
        "ConsentSourceEnum": "crm.models.Consent.Source",
        "PurposeEnum": "crm.models.Campaign.Purpose",  # campaigns' and templates' (its old name)
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}"
)
if CELERY_BROKER_URL.startswith("sqla+"):
    _default_result_backend = "db+" + CELERY_BROKER_URL.removeprefix("sqla+").replace(
        "broker", "results"
    )
else:
    _default_result_backend = CELERY_BROKER_URL
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=_default_result_backend
)
CELERY_RESULT_EXPIRES = 60 * 60 * 24
# No task may be scheduled (ETA/countdown) further ahead than this, or Redis would deliver it
# a second time; long waits are rows in the database polled by beat instead.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60)
# (kombu's SQLAlchemy transport passes its options to create_engine and has no redelivery timer.)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if CELERY_BROKER_URL.startswith("sqla+")
    else {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = (
    False  # a killed worker's batch is re-claimed from the DB, not redelivered
)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
