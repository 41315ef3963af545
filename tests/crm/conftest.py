"""Fixtures for the CRM tests that send real mail: an SMTP sink and Django pointed at it."""

import zoneinfo

import pytest
from django.utils import timezone

from tests.smtp_sink import SmtpSink


@pytest.fixture
def smtp_sink():
    """A real SMTP server on a free loopback port, stopped after the test."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_via_sink(settings, smtp_sink):
    """Django's SMTP backend talking to ``smtp_sink``; links in mail are absolute."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_sink.host
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.PUBLIC_BASE_URL = "http://testserver"
    return smtp_sink


@pytest.fixture
def midday_zone() -> zoneinfo.ZoneInfo:
    """A time zone where it is about noon right now: today's birthdays there are due at once
    (their 09:00 has passed, no quiet hours, hours before their midnight)."""
    offset = 12 - timezone.now().hour  # -11 … +12 hours from UTC
    # The Etc/GMT names count the other way: Etc/GMT-9 is UTC+9.
    return zoneinfo.ZoneInfo(f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT")


@pytest.fixture
def eager_celery():
    """Tasks queued with .delay() run at once in this process (the dispatcher's sends)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before
