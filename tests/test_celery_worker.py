"""A real Celery worker process runs a task end to end, on Redis and on the embedded SQLite transport."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
CELERY = str(Path(sys.executable).with_name("celery"))

pytestmark = pytest.mark.services


def run_task_in_a_real_worker(
    *, broker: str, backend: str, database_url: str, tmp_path: Path
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
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            CELERY,
            "-A",
            "config",
            "worker",
            "--pool=solo",
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
        result = client.send_task("crm.tasks.health_heartbeat", queue=queue)
        return result.get(timeout=90)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_reaches_the_database_and_returns_the_result(tmp_path):
    broker = "redis://127.0.0.1:6379/14"
    name = connection.settings_dict[
        "NAME"
    ]  # the test database: the worker reads the same one
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    payload = run_task_in_a_real_worker(
        broker=broker, backend=broker, database_url=database_url, tmp_path=tmp_path
    )
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
