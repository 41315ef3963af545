"""A real Celery worker process runs a task end to end, on Redis and on the embedded SQLite transport."""

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
CELERY = str(Path(sys.executable).with_name("celery"))

pytestmark = pytest.mark.services


def run_task_in_a_real_worker(
    *,
    broker: str,
    backend: str,
    database_url: str,
    tmp_path: Path,
    task: str = "crm.tasks.health_heartbeat",
    args: tuple = (),
    pool: str = "solo",
) -> dict:
    """Start ``celery -A config worker`` as its own process, send it a task like the web app would, and wait."""
    queue = f"test-{uuid.uuid4().hex[:8]}"  # never picks up messages meant for any other worker
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "worker-test-" + uuid.uuid4().hex * 2,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": backend,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            CELERY,
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--queues",
            queue,
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        client = Celery("client", broker=broker, backend=backend)
        result = client.send_task(task, args=args, queue=queue)
        return result.get(timeout=90)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()


REDIS = "redis://127.0.0.1:6379/14"


def run_on_redis_and_the_test_database(*, tmp_path: Path, **task: Any) -> Any:
    """``run_task_in_a_real_worker`` with Redis as broker and backend, on the test database
    (the worker reads the rows the test committed)."""
    name = connection.settings_dict["NAME"]
    return run_task_in_a_real_worker(
        broker=REDIS,
        backend=REDIS,
        database_url=f"postgres://postgres@127.0.0.1:5432/{name}",
        tmp_path=tmp_path,
        **task,
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_reaches_the_database_and_returns_the_result(tmp_path):
    name = connection.settings_dict["NAME"]
    payload = run_on_redis_and_the_test_database(tmp_path=tmp_path)
    assert payload["database"] == "ok"
    assert payload["vendor"] == "postgresql"
    assert payload["name"] == name


def test_a_worker_on_the_embedded_sqlite_transport_runs_a_task(tmp_path):
    broker = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    backend = f"db+sqlite:///{tmp_path / 'results.sqlite3'}"
    database = tmp_path / "db.sqlite3"
    payload = run_task_in_a_real_worker(
        broker=broker,
        backend=backend,
        database_url=f"sqlite:///{database}",
        tmp_path=tmp_path,
    )
    assert payload["database"] == "ok"
    assert payload["vendor"] == "sqlite"
    assert payload["name"] == str(database)


@pytest.mark.django_db(transaction=True)
def test_a_prefork_worker_runs_an_import_checking_its_rows_in_a_child_process(
    tmp_path, settings, manager
):
    """The deployed worker's pool (prefork) runs an import: its pool process, which
    ``multiprocessing`` would refuse children, forks the child that checks the rows."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crm.models import Contact
    from crm.services import import_job_create

    settings.MEDIA_ROOT = tmp_path / "media"
    lines = ["First Name,Last Name,Email,Phone,Country"]
    lines += [f"P{i},Lee,p{i}@example.com,+8210{5000_0000 + i},KR" for i in range(30)]
    lines.append("Bad,Row,not-an-email,,KR")
    upload = SimpleUploadedFile("people.csv", "\n".join(lines).encode())
    job = import_job_create(upload=upload, actor=manager)
    status = run_on_redis_and_the_test_database(
        tmp_path=tmp_path,
        task="crm.tasks.contact_import_run",
        args=(job.pk,),
        pool="prefork",
    )
    assert status == "done"
    job.refresh_from_db()
    assert (job.created_count, job.rejected_count) == (30, 1)
    assert (
        Contact.objects.filter(email__startswith="p", phone__startswith="+8210").count()
        == 30
    )
    log = (tmp_path / "worker.log").read_text()
    assert f"Import {job.pk}: rows checked in a child process" in log


@pytest.mark.django_db(transaction=True)
def test_a_prefork_worker_rebuilds_the_rollups_on_helper_connections(tmp_path):
    """The nightly rebuild in the deployed pool: its helper threads read the rebuild's
    snapshot on connections of their own, from inside a pool process."""
    from analytics.models import ContactDay
    from tests.analytics.factories import at, buy
    from tests.crm.factories import ContactFactory

    contacts = [ContactFactory() for _ in range(3)]
    for contact in contacts:
        buy(contact, "12.00", "USD", at("2025-01-05"))
    chunks = run_on_redis_and_the_test_database(
        tmp_path=tmp_path,
        task="analytics.tasks.metrics_rebuild_nightly",
        pool="prefork",
    )
    assert chunks == 2  # three contacts, one range for each of the two helpers
    assert ContactDay.objects.filter(day="2025-01-05", orders=1).count() == 3
    log = (tmp_path / "worker.log").read_text()
    assert "Rollups rebuilt: 2 contact-id ranges on 2 helper connections" in log
