"""The Celery app (`celery -A config worker -B`) and the beat schedule, defined in code."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Fixed periodic jobs live here so they are reviewed in diffs and never drift in a database.
app.conf.beat_schedule = {
    "health-heartbeat": {
        "task": "crm.tasks.health_heartbeat",
        "schedule": crontab(minute="*/5"),
    },
    "crm-contacts-mark-churned": {
        "task": "crm.tasks.contacts_mark_churned_daily",
        "schedule": crontab(hour=0, minute=20),
    },
    "crm-idempotency-records-purge": {
        "task": "crm.tasks.idempotency_records_purge_daily",
        "schedule": crontab(hour=0, minute=40),
    },
    "crm-outreach-plan": {
        "task": "crm.tasks.outreach_plan",
        "schedule": crontab(minute="*"),
    },
    "crm-outreach-dispatch-due": {
        "task": "crm.tasks.outreach_dispatch_due",
        "schedule": crontab(minute="*"),
    },
    "loyalty-expire-points": {
        "task": "loyalty.tasks.loyalty_expire_points_nightly",
        "schedule": crontab(hour=1, minute=10),
    },
    "loyalty-reevaluate-tiers": {
        "task": "loyalty.tasks.loyalty_reevaluate_tiers_nightly",
        "schedule": crontab(hour=1, minute=40),
    },
    "loyalty-warn-expiring": {
        "task": "loyalty.tasks.loyalty_warn_expiring_daily",
        "schedule": crontab(hour=2, minute=10),
    },
    "loyalty-birthday-bonus": {
        "task": "loyalty.tasks.loyalty_birthday_bonus_hourly",
        "schedule": crontab(minute=5),
    },
    "feedback-survey-invitations-send-due": {
        "task": "feedback.tasks.survey_invitations_send_due",
        "schedule": crontab(minute=25),
    },
    "feedback-survey-reminders": {
        "task": "feedback.tasks.survey_reminders_send_daily",
        "schedule": crontab(hour=3, minute=10),
    },
}

# privacy: the nightly retention purge (old outbox bodies, expired exports, stale invitations).
app.conf.beat_schedule["crm-privacy-retention-purge"] = {
    "task": "crm.tasks.privacy_retention_purge_nightly",
    "schedule": crontab(hour=4, minute=20),
}

# analytics: a nightly full rebuild of the dashboard rollups, and a refresh every 10 minutes so
# today's numbers are never more than 15 minutes old (back-dated rows included).
app.conf.beat_schedule["analytics-metrics-rebuild"] = {
    "task": "analytics.tasks.metrics_rebuild_nightly",
    "schedule": crontab(hour=3, minute=40),
}
app.conf.beat_schedule["analytics-metrics-refresh"] = {
    "task": "analytics.tasks.metrics_refresh",
    "schedule": crontab(minute="*/10"),
}
