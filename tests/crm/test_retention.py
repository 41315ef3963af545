"""The retention purge: old outbox bodies, expired export files, stale survey invitations and
old sign-in records go; recent ones and anything still needed stay."""

import datetime as dt
import os
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone

from config.celery import app as celery_app
from crm.models import DataExport, OutboundMessage
from crm.services.privacy import (
    data_export_request,
    data_export_run,
    privacy_retention_purge,
)
from feedback.models import Invitation
from feedback.services.surveys import invitations_create, survey_create
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.RETENTION_OUTBOX_BODY_DAYS = 180
    settings.RETENTION_INVITATION_DAYS = 90
    settings.RETENTION_SIGN_IN_DAYS = 30


def _message(contact, occurrence, *, days_ago, status=OutboundMessage.Status.SENT):
    message = OutboundMessage.objects.create(
        contact=contact,
        occasion="birthday",
        occurrence=occurrence,
        subject="Happy birthday",
        body_text="Dear Jimin, happy birthday",
        status=status,
        scheduled_for=NOW - dt.timedelta(days=days_ago),
    )
    OutboundMessage.objects.filter(pk=message.pk).update(
        created_at=NOW - dt.timedelta(days=days_ago)
    )
    return message


def test_old_sent_message_bodies_are_blanked_and_recent_ones_kept():
    contact = ContactFactory()
    old = _message(contact, "2024", days_ago=200)
    recent = _message(contact, "2025", days_ago=10)
    old_planned = _message(
        contact, "2023", days_ago=200, status=OutboundMessage.Status.PLANNED
    )
    done = privacy_retention_purge(now=NOW)
    assert done["outbox_bodies"] == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    old_planned.refresh_from_db()
    assert (old.subject, old.body_text) == ("", "")
    assert old.status == OutboundMessage.Status.SENT  # the figure stays
    assert recent.body_text
    assert old_planned.body_text


def test_expired_export_files_are_deleted_and_marked_expired(manager):
    contact = ContactFactory()
    expired = data_export_request(contact=contact, actor=manager, via="staff")
    fresh = data_export_request(contact=contact, actor=manager, via="staff")
    for export in (expired, fresh):
        data_export_run(export_id=export.pk)
    DataExport.objects.filter(pk=expired.pk).update(
        expires_at=NOW - dt.timedelta(hours=1)
    )
    expired.refresh_from_db()
    path = expired.file.path
    assert privacy_retention_purge(now=NOW)["export_files"] == 1
    expired.refresh_from_db()
    fresh.refresh_from_db()
    assert expired.status == DataExport.Status.EXPIRED
    assert not expired.file

    assert not os.path.exists(path)
    assert fresh.status == DataExport.Status.DONE
    assert fresh.file


def test_stale_unanswered_invitations_and_old_sign_in_records_go(manager):
    survey = survey_create(title="NPS", kind="nps", created_by=manager)
    stale, current = ContactFactory(), ContactFactory()
    invitations_create(survey=survey, contacts=[stale, current])
    Invitation.objects.filter(contact=stale).update(
        expires_at=NOW - dt.timedelta(days=100)
    )
    AccessAttempt.objects.create(
        username="old@example.com",
        ip_address="203.0.113.1",
        user_agent="x",
        failures_since_start=1,
    )
    AccessAttempt.objects.update(attempt_time=NOW - dt.timedelta(days=40))
    AccessAttempt.objects.create(
        username="new@example.com",
        ip_address="203.0.113.2",
        user_agent="x",
        failures_since_start=1,
    )
    done = privacy_retention_purge(now=NOW)
    assert done["survey_invitations"] == 1
    assert done["sign_in_attempts"] == 1
    assert not Invitation.objects.filter(contact=stale).exists()
    assert Invitation.objects.filter(contact=current).exists()
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [
        "new@example.com"
    ]


def test_the_command_runs_the_purge_and_beat_runs_it_nightly():
    contact = ContactFactory()
    old = _message(contact, "2024", days_ago=365)
    out = StringIO()
    call_command("purge_retention", stdout=out)
    old.refresh_from_db()
    assert old.body_text == ""
    assert "outbox_bodies: 1" in out.getvalue()
    tasks = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert "crm.tasks.privacy_retention_purge_nightly" in tasks
