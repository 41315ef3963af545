"""Test-only Celery app for the outreach process tests: the real app and tasks, but every
outreach job is on the beat schedule each second, and all tasks go to the test's own queue
(RAPPORT_TEST_QUEUE), so no other worker on the same Redis database takes them;
RAPPORT_TEST_VISIBILITY_TIMEOUT makes Redis redeliver a killed worker's task within seconds.

    celery -A tests.outreach_celery worker|beat
"""

import datetime as dt
import os

from config.celery import app

QUEUE = os.environ.get("RAPPORT_TEST_QUEUE", "celery")
EVERY = dt.timedelta(seconds=float(os.environ.get("RAPPORT_TEST_BEAT_EVERY", "1")))

app.conf.task_default_queue = QUEUE
# The tests read outcomes from the database and the worker log; nothing is left in Redis.
app.conf.task_ignore_result = True
app.conf.result_backend = "disabled"
if visibility := os.environ.get("RAPPORT_TEST_VISIBILITY_TIMEOUT"):
    # Redis hands a message a dead worker never acknowledged to a live one after this many
    # seconds (normally an hour), checked each second: a real redelivery within the test.
    app.conf.broker_transport_options = {
        "visibility_timeout": int(visibility),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
app.conf.beat_schedule = {
    # The new all-planners job and the birthday one: both racing is part of the test.
    "outreach-plan": {"task": "crm.tasks.outreach_plan", "schedule": EVERY},
    "outreach-plan-birthdays": {
        "task": "crm.tasks.outreach_plan_birthdays",
        "schedule": EVERY,
    },
    "outreach-dispatch-due": {
        "task": "crm.tasks.outreach_dispatch_due",
        "schedule": EVERY,
    },
}

__all__ = ["app"]
