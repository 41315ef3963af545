"""Test settings: the real settings, with overrides for speed and determinism only."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault(
    "SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdefghij"
)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rapport")

from config.settings import *  # noqa: F403
from config.settings import CELERY_VISIBILITY_TIMEOUT, STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES["staticfiles"]["BACKEND"] = (
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
ALLOWED_HOSTS = ["*"]
CELERY_TASK_ALWAYS_EAGER = False
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The suite talks to the real Redis (DESIGN.md §8); tests that start workers pass their own URLs.
# (Set here, not in the environment: Celery lets CELERY_BROKER_URL override every app's broker.)
CELERY_BROKER_URL = os.environ.get(
    "TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15"
)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
