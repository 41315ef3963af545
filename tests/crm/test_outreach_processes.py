"""Exactly once across real processes (DESIGN §4.2): planners racing in separate OS processes,
two beats, a duplicated send task, a worker killed mid-batch, a crash between the mail
server's accept and the database mark. Real PostgreSQL, Redis, Celery and an SMTP sink.

Every process runs the test's own queue (tests/outreach_celery.py) on its own Redis database,
and is killed by the fixture that started it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from crm.models import Contact, OutboundMessage
from crm.services import birthdays_plan, consents_set, outbox_claim_due
from tests.crm.factories import ContactFactory

ROOT = Path(settings.BASE_DIR)
CELERY = str(Path(sys.executable).with_name("celery"))
# Neither the suite's Redis database (15) nor test_celery_worker's (14): these tests make
# Redis redeliver unacknowledged messages after seconds, which must touch no one else's.
BROKER = "redis://127.0.0.1:6379/13"
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2027, 5, 10, 1, 0, tzinfo=dt.UTC)  # 10:00 in Seoul
Status = OutboundMessage.Status
SEND_RECEIVED = re.compile(r"crm\.tasks\.outreach_send\[([^]]+)\] received")
SEND_SUCCEEDED = re.compile(
    r"crm\.tasks\.outreach_send\[[^]]+\] succeeded in \S+ (\d+)"
)
pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
    ),
    pytest.mark.django_db(transaction=True),
]


def birthday_contacts(
    count: int, *, tz: zoneinfo.ZoneInfo, day: dt.date, consent: bool = True
) -> list[Contact]:
    contacts = ContactFactory.create_batch(
        count, birth_month=day.month, birth_day=day.day, timezone=tz, language="en"
    )
    if consent:
        for contact in contacts:
            consents_set(
                contact=contact, consents={"marketing_email": True}, source="staff"
            )
    return contacts


def today_in(tz: zoneinfo.ZoneInfo) -> dt.date:
    return timezone.now().astimezone(tz).date()


def send_args(ids: list[int]) -> list[list[Any]]:
    """The argument lists of the send task for ``ids``: one batch, or one task per id."""
    from crm.tasks import outreach_send

    if "message_ids" in inspect.signature(outreach_send.run).parameters:
        return [[list(ids)]]
    return [[message_id] for message_id in ids]


def wait_until(
    condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        if result := condition():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def statuses() -> Counter[str]:
    return Counter(OutboundMessage.objects.values_list("status", flat=True))


class Processes:
    """Starts workers, beats and scripts against the test database; kills them all at the end."""

    def __init__(self, tmp_path: Path, sink: Any) -> None:
        self.tmp_path = tmp_path
        self.sink = sink
        self.queue = f"outreach-test-{uuid.uuid4().hex[:10]}"
        self.started: list[tuple[subprocess.Popen, IO[str] | None]] = []
        self.client = Celery("outreach-test-client", broker=BROKER)
        self.client.conf.task_default_queue = self.queue

    def env(self, **extra: str) -> dict[str, str]:
        db = connection.settings_dict
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "outreach-process-test-" + "x" * 40,
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "CELERY_BROKER_URL": BROKER,
            "CELERY_RESULT_BACKEND": "disabled",
            "EMAIL_URL": f"smtp://{self.sink.host}:{self.sink.port}",
            "PUBLIC_BASE_URL": "http://testserver",
            "TIME_ZONE": "UTC",
            "RAPPORT_TEST_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def _start(
        self, args: list[str], *, log_name: str, env: dict[str, str]
    ) -> tuple[subprocess.Popen, Path]:
        log_path = self.tmp_path / log_name
        log = log_path.open("w")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killing it takes its children
        )
        self.started.append((process, log))
        return process, log_path

    def worker(
        self,
        name: str,
        *,
        pool: str = "solo",
        concurrency: int = 1,
        wait: bool = True,
        **env: str,
    ) -> tuple[subprocess.Popen, Path]:
        process, log = self._start(
            [
                CELERY,
                "-A",
                "tests.outreach_celery",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "--queues",
                self.queue,
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"{name}-{self.queue}@%h",
            ],
            log_name=f"{name}.log",
            env=self.env(**env),
        )
        if wait:
            self.wait_for_log(log, "ready.", process=process, timeout=60)
        return process, log

    def beat(self, name: str, *, wait: bool = True) -> tuple[subprocess.Popen, Path]:
        process, log = self._start(
            [
                CELERY,
                "-A",
                "tests.outreach_celery",
                "beat",
                "--loglevel=INFO",
                "--max-interval=1",
                "--schedule",
                str(self.tmp_path / f"{name}-schedule"),
            ],
            log_name=f"{name}.log",
            env=self.env(),
        )
        if wait:
            self.wait_for_log(log, "beat: Starting", process=process, timeout=60)
        return process, log

    def script(self, name: str, code: str, *args: str) -> tuple[subprocess.Popen, Path]:
        """``python -c code args`` with Django set up against the test database."""
        return self._start(
            [sys.executable, "-c", code, *args], log_name=f"{name}.log", env=self.env()
        )

    def send_task(self, name: str, args: list[Any] | None = None) -> str:
        return self.client.send_task(name, args=args or [], queue=self.queue).id

    def run_task(
        self, log: Path, name: str, args: list[Any] | None = None, timeout: float = 30
    ) -> str:
        """Send a task to the worker logging to ``log`` and wait until it has finished."""
        task_id = self.send_task(name, args)
        self.wait_for_log(log, f"[{task_id}] succeeded", timeout=timeout)
        return task_id

    @staticmethod
    def wait_for_log(
        log: Path,
        text: str,
        *,
        process: subprocess.Popen | None = None,
        timeout: float = 30,
    ) -> None:
        def seen() -> bool:
            if process is not None and process.poll() is not None:
                raise AssertionError(
                    f"{log.name} exited with {process.returncode}:\n{log.read_text()}"
                )
            return text in log.read_text()

        try:
            wait_until(seen, timeout=timeout, what=f"{text!r} in {log.name}")
        except AssertionError:
            print(log.read_text()[-5000:])  # shown by pytest on failure
            raise

    @staticmethod
    def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Signal the process's whole group (a prefork worker's children too) and reap it."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)

    def stop_all(self) -> None:
        """SIGTERM every process group at once, SIGKILL what is left after a few seconds."""
        for process, _log in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for process, log in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # A hung shutdown: the group goes now (its leader is alive, so the id is ours).
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
            if log is not None:
                log.close()
        self.client.close()
        self._forget_queue()

    def _forget_queue(self) -> None:
        """Drop this test's queue and any message a killed worker left unacknowledged."""
        server = redis.Redis.from_url(BROKER)
        try:
            # The queue, its bindings (_kombu.binding*.<queue>) and so on: the name is ours.
            for key in server.scan_iter(match=f"*{self.queue}*"):
                server.delete(key)
            for tag, raw in server.hgetall("unacked").items():
                try:
                    routing_key = json.loads(raw)[2]
                except (ValueError, IndexError, TypeError):
                    continue
                if routing_key == self.queue:
                    server.hdel("unacked", tag)
                    server.zrem("unacked_index", tag)
            for key in server.scan_iter(match="_kombu.binding.*"):
                for member in server.smembers(key):
                    if self.queue.encode() in member:
                        server.srem(key, member)
        finally:
            server.close()


@pytest.fixture
def processes(tmp_path, smtp_sink):
    started = Processes(tmp_path, smtp_sink)
    yield started
    started.stop_all()


# A planner in its own OS process: set up Django, say ready, wait for the start signal (a
# file), then plan three times.
PLANNER = """
import datetime as dt, os, sys, time
import django
django.setup()
from crm.services import outreach, birthdays_plan
now = dt.datetime.fromisoformat(sys.argv[1])
go = sys.argv[2]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
plan_all = getattr(outreach, "outreach_plan", None)
for planner in (birthdays_plan, plan_all, birthdays_plan):
    if planner is not None:
        planner(now=now)
print("done", flush=True)
"""


def test_planners_racing_in_four_processes_make_one_row_per_key(processes, tmp_path):
    day = NOW.astimezone(SEOUL).date()
    contacts = birthday_contacts(90, tz=SEOUL, day=day)
    contacts += birthday_contacts(15, tz=SEOUL, day=day, consent=False)
    go = tmp_path / "go"
    planners = [
        processes.script(f"planner-{n}", PLANNER, NOW.isoformat(), str(go))
        for n in range(4)
    ]
    for process, log in planners:
        processes.wait_for_log(log, "ready", process=process, timeout=60)
    go.touch()  # all four start planning within a millisecond or so
    for process, log in planners:
        assert process.wait(timeout=60) == 0, log.read_text()
        assert "done" in log.read_text()

    birthdays = OutboundMessage.objects.filter(occasion="birthday")
    assert birthdays.count() == len(contacts)
    per_contact = Counter(birthdays.values_list("contact_id", flat=True))
    assert per_contact == Counter({contact.pk: 1 for contact in contacts})
    assert set(birthdays.values_list("occurrence", flat=True)) == {"2027"}
    assert birthdays.filter(status=Status.PLANNED).count() == 90
    assert (
        birthdays.filter(status=Status.SKIPPED, skip_reason="no_consent").count() == 15
    )
    duplicated = (
        OutboundMessage.objects.values("contact", "occasion", "occurrence")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert list(duplicated) == []


def test_two_beats_and_two_workers_deliver_each_planned_birthday_once(
    processes, smtp_sink, midday_zone
):
    contacts = birthday_contacts(15, tz=midday_zone, day=today_in(midday_zone))
    birthdays = OutboundMessage.objects.filter(occasion="birthday")
    # Beats and workers start together; what a beat sends early waits in the queue.
    started = [
        *(
            processes.worker(name, pool="prefork", concurrency=2, wait=False)
            for name in ("worker-a", "worker-b")
        ),
        *(processes.beat(name, wait=False) for name in ("beat-a", "beat-b")),
    ]
    for process, log in started:
        ready = "beat: Starting" if log.name.startswith("beat") else "ready."
        processes.wait_for_log(log, ready, process=process, timeout=60)
    beats = started[2:]
    beating_since = time.monotonic()
    # Both beats fire the planners and the dispatcher every second for the whole time.
    wait_until(
        lambda: birthdays.filter(status=Status.SENT).count() == len(contacts),
        timeout=45,
        what="every birthday sent",
    )
    time.sleep(max(0.0, 10 - (time.monotonic() - beating_since)))
    for beat, _log in beats:
        processes.kill(beat, signal.SIGTERM)
    wait_until(
        lambda: (
            not OutboundMessage.objects.filter(
                status__in=[Status.PLANNED, Status.QUEUED, Status.SENDING],
                scheduled_for__lte=timezone.now(),
            ).exists()
        ),
        timeout=15,
        what="the last sends",
    )

    for _beat, log in beats:  # both beats really fired, many times
        assert log.read_text().count("(crm.tasks.outreach_dispatch_due)") >= 5
    assert birthdays.count() == len(contacts)
    assert set(birthdays.values_list("status", "attempts")) == {(Status.SENT, 1)}
    assert Counter(birthdays.values_list("contact__email", flat=True)) == Counter(
        c.email for c in contacts
    )
    # Every row of any occasion the planners made (e.g. a welcome for these new contacts)
    # reached the server exactly once.
    sent = OutboundMessage.objects.filter(status=Status.SENT)
    assert statuses()[Status.SENT] == sent.count()
    assert Counter(
        (r.recipients[0], r.message["Subject"].strip()) for r in smtp_sink.received
    ) == Counter(sent.values_list("contact__email", "subject"))
    assert len(smtp_sink.received) == sent.count()


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    processes, smtp_sink, midday_zone
):
    contacts = birthday_contacts(8, tz=midday_zone, day=today_in(midday_zone))
    assert birthdays_plan(now=timezone.now()) == 8
    smtp_sink.delay = 0.5  # each message takes half a second to be accepted

    first, _log = processes.worker("worker-first")
    processes.send_task("crm.tasks.outreach_dispatch_due")
    smtp_sink.wait_for(3, timeout=30)  # the third message is in the server's hands
    processes.kill(first)  # SIGKILL: no chance to mark anything
    smtp_sink.delay = 0.0
    killed_in_smtp = OutboundMessage.objects.get(status=Status.SENDING)
    assert killed_in_smtp.contact.email == smtp_sink.received[2].recipients[0]

    # A new worker. Redis keeps the killed batch unacknowledged for an hour (its visibility
    # timeout), so only the outbox can bring its unsent rows back: claimed rows whose task
    # was lost are queued again (here at once).
    _second, second_log = processes.worker("worker-second", OUTREACH_REQUEUE_AFTER="0")
    processes.run_task(second_log, "crm.tasks.outreach_dispatch_due")
    wait_until(
        lambda: statuses() == {Status.SENT: 7, Status.SENDING: 1},
        timeout=30,
        what="the other seven sent",
    )
    # Fifteen minutes later the one handed to SMTP at the kill becomes unknown, not resent.
    OutboundMessage.objects.filter(pk=killed_in_smtp.pk).update(
        sending_at=F("sending_at") - dt.timedelta(minutes=16)
    )
    processes.run_task(second_log, "crm.tasks.outreach_dispatch_due")
    processes.run_task(second_log, "crm.tasks.outreach_dispatch_due")
    assert statuses() == {Status.SENT: 7, Status.UNKNOWN: 1}
    assert OutboundMessage.objects.get(pk=killed_in_smtp.pk).status == Status.UNKNOWN
    assert smtp_sink.deliveries() == Counter({c.email: 1 for c in contacts})
    assert len(smtp_sink.received) == len(contacts)


def test_a_send_task_delivered_twice_sends_one_email(processes, smtp_sink, midday_zone):
    contacts = birthday_contacts(3, tz=midday_zone, day=today_in(midday_zone))
    birthdays_plan(now=timezone.now())
    ids = outbox_claim_due(now=timezone.now(), limit=10)
    assert len(ids) == 3
    smtp_sink.delay = 0.5  # the second copy arrives while the first is talking to SMTP

    _worker, log = processes.worker("worker-dup", pool="prefork", concurrency=4)
    copies = [
        processes.send_task("crm.tasks.outreach_send", args)
        for args in send_args(ids)
        for _copy in range(2)
    ]
    for task_id in copies:
        processes.wait_for_log(log, f"[{task_id}] succeeded", timeout=30)
    for args in send_args(ids):  # and once more, long after it was sent
        processes.run_task(log, "crm.tasks.outreach_send", args)

    assert statuses() == {Status.SENT: 3}
    assert set(OutboundMessage.objects.values_list("attempts", flat=True)) == {1}
    assert smtp_sink.deliveries() == Counter({c.email: 1 for c in contacts})
    assert len(smtp_sink.received) == 3


def test_rows_queued_again_while_their_first_batch_still_runs_go_out_once(
    processes, smtp_sink, midday_zone
):
    """The lost-task requeue (here after 0 s) hands rows a slow, living batch has not reached
    yet to a second worker: both walk the same rows, each row is sent by one of them."""
    contacts = birthday_contacts(10, tz=midday_zone, day=today_in(midday_zone))
    birthdays_plan(now=timezone.now())
    smtp_sink.delay = 0.3
    workers = [
        processes.worker(name, wait=False, OUTREACH_REQUEUE_AFTER="0")
        for name in ("worker-one", "worker-two")
    ]
    for process, log in workers:
        processes.wait_for_log(log, "ready.", process=process, timeout=60)

    def logs() -> str:
        return "".join(log.read_text() for _process, log in workers)

    # Dispatch every 0.3 s while the first batch (3 s of SMTP) runs, until a second send
    # task has been handed the rows again (a busy machine may take a few rounds).
    for _round in range(20):
        processes.send_task("crm.tasks.outreach_dispatch_due")
        time.sleep(0.3)
        if len(SEND_RECEIVED.findall(logs())) >= 2:
            break
    wait_until(
        lambda: statuses() == {Status.SENT: len(contacts)},
        timeout=30,
        what="every message sent",
    )
    # Every send task handed out has finished (one queued behind the first batch on the same
    # worker logs its result after the last row is sent).
    wait_until(
        lambda: (
            len(SEND_SUCCEEDED.findall(logs()))
            == len(set(SEND_RECEIVED.findall(logs())))
        ),
        timeout=30,
        what="every send task finished",
    )
    assert set(OutboundMessage.objects.values_list("attempts", flat=True)) == {1}
    assert smtp_sink.deliveries() == Counter({c.email: 1 for c in contacts})
    assert len(smtp_sink.received) == len(contacts)
    # The requeue really handed rows out again, and the batches' sent counts add up to ten.
    sent_per_task = [int(count) for count in SEND_SUCCEEDED.findall(logs())]
    assert len(sent_per_task) >= 2
    assert sum(sent_per_task) == len(contacts)


def test_a_crash_between_the_servers_accept_and_the_mark_leaves_unknown_never_resent(
    processes, smtp_sink, midday_zone
):
    [contact] = birthday_contacts(1, tz=midday_zone, day=today_in(midday_zone))
    birthdays_plan(now=timezone.now())
    smtp_sink.delay = 60  # the server has the whole message; its "250" comes too late

    first, first_log = processes.worker("worker-crash")
    processes.send_task("crm.tasks.outreach_dispatch_due")
    smtp_sink.wait_for(1, timeout=30)
    processes.kill(first)
    [killed_task] = SEND_RECEIVED.findall(first_log.read_text())
    smtp_sink.delay = 0.0
    row = OutboundMessage.objects.get()
    assert row.status == Status.SENDING

    _second, log = processes.worker(
        "worker-after", OUTREACH_REQUEUE_AFTER="0", RAPPORT_TEST_VISIBILITY_TIMEOUT="2"
    )
    processes.run_task(log, "crm.tasks.outreach_dispatch_due")
    # Redis redelivers the task that was sending it when the worker died.
    processes.wait_for_log(log, f"[{killed_task}] succeeded", timeout=30)
    row.refresh_from_db()
    assert row.status == Status.SENDING  # not yet stale, and never sent or queued again
    assert len(smtp_sink.received) == 1
    OutboundMessage.objects.filter(pk=row.pk).update(
        sending_at=F("sending_at") - dt.timedelta(minutes=16)
    )
    processes.run_task(log, "crm.tasks.outreach_dispatch_due")
    row.refresh_from_db()
    assert row.status == Status.UNKNOWN
    for args in send_args([row.pk]):  # a late duplicate of the send task
        processes.run_task(log, "crm.tasks.outreach_send", args)
    processes.run_task(log, "crm.tasks.outreach_dispatch_due")
    row.refresh_from_db()
    assert row.status == Status.UNKNOWN
    assert row.sent_at is None
    assert smtp_sink.deliveries() == Counter({contact.email: 1})
    assert len(smtp_sink.received) == 1
