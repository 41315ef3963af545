"""The rollup jobs: beat entries, the two management commands, the tasks and the demo seeder."""

import io

import pytest
from django.core.management import call_command

from analytics import tasks
from analytics.demo import seed_analytics
from analytics.models import ContactDay, RollupState
from config.celery import app
from crm import hooks
from feedback.demo import seed_feedback
from loyalty.receivers import on_demo_seed
from tests.analytics.factories import at, buy
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_beat_runs_a_nightly_rebuild_and_a_refresh_within_fifteen_minutes():
    schedule = app.conf.beat_schedule
    nightly = schedule["analytics-metrics-rebuild"]
    refresh = schedule["analytics-metrics-refresh"]
    assert nightly["task"] == "analytics.tasks.metrics_rebuild_nightly"
    assert refresh["task"] == "analytics.tasks.metrics_refresh"
    minutes = sorted(refresh["schedule"].minute)
    gaps = [
        b - a for a, b in zip(minutes, [*minutes[1:], minutes[0] + 60], strict=True)
    ]
    assert max(gaps) <= 15


def test_rebuild_metrics_shows_progress_and_builds_the_rollups():
    buy(ContactFactory(), "10.00", "USD", at("2025-01-05"))
    out, err = io.StringIO(), io.StringIO()

    call_command("rebuild_metrics", stdout=out, stderr=err)

    assert "Rebuilt the rollups" in out.getvalue()
    assert "1/3" in err.getvalue()
    assert "3/3" in err.getvalue()
    assert ContactDay.objects.exists()


def test_refresh_metrics_brings_the_rollups_up_to_date_at_once():
    call_command("rebuild_metrics", stdout=io.StringIO(), stderr=io.StringIO())
    buy(ContactFactory(), "10.00", "USD", at("2025-01-05"))
    out = io.StringIO()

    call_command("refresh_metrics", stdout=out)

    assert "1 contacts recomputed" in out.getvalue()
    assert ContactDay.objects.filter(day="2025-01-05").exists()


def test_tasks_are_safe_to_run_twice():
    buy(ContactFactory(), "10.00", "USD", at("2025-01-05"))
    tasks.metrics_rebuild_nightly()
    tasks.metrics_rebuild_nightly()
    tasks.metrics_refresh()
    tasks.metrics_refresh()

    assert ContactDay.objects.filter(day="2025-01-05").count() == 1
    assert RollupState.objects.count() == 1


def test_the_demo_seeder_runs_after_the_other_apps_and_builds_the_rollups():
    seeders = list(hooks.demo_seeders)
    position = seeders.index(seed_analytics)
    assert position > seeders.index(seed_feedback)
    assert position > seeders.index(on_demo_seed)
    assert position == len(seeders) - 1
    buy(ContactFactory(), "10.00", "USD", at("2025-01-05"))
    lines = []

    seed_analytics(write=lines.append)
    seed_analytics(write=lines.append)  # idempotent: a rebuild replaces the rollups

    assert ContactDay.objects.filter(day="2025-01-05").count() == 1
    assert "rollups built" in lines[0]
