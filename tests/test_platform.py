"""Settings, deployment checks, health endpoint and translations: the platform under every app."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from config.celery import app as celery_app

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "PATH": os.environ["PATH"],
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "rapport.example",
    "DATABASE_URL": "sqlite:////tmp/rapport-deploy-check.sqlite3",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", env=PRODUCTION_ENV)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_reports_nothing_with_production_values():
    env = {
        **PRODUCTION_ENV,
        "SECRET_KEY": "k" + "Zq9-xT4_pL2wN8vR6mB1yC7uH3jF5dS0aG" * 2,
    }
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_secret_key_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("file-secret-" + "x9Y8z7W6v5U4" * 5)
    env = {**PRODUCTION_ENV, "SECRET_KEY_FILE": str(secret)}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == secret.read_text()


@pytest.mark.django_db
def test_health_reports_database_and_broker(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")
    assert response.json()["database"] == "ok"


def test_the_beat_schedule_is_defined_in_code_and_names_real_tasks():
    celery_app.loader.import_default_modules()
    schedule = celery_app.conf.beat_schedule
    assert "health-heartbeat" in schedule
    for entry in schedule.values():
        assert entry["task"] in celery_app.tasks


def test_no_celery_countdown_can_outlive_the_visibility_timeout():
    assert (
        celery_app.conf.broker_transport_options["visibility_timeout"]
        == settings.CELERY_VISIBILITY_TIMEOUT
    )


# --- translations -----------------------------------------------------------------------------


@pytest.mark.smoke
def test_every_string_in_the_code_is_translated_to_korean(tmp_path):
    """Extract messages from a copy of the code into a copy of locale/ and demand a full ko
    catalogue. (Run in place, makemessages would write into the real locale/ and leave the
    copy stale, so the sources are copied too.)"""
    project = tmp_path / "project"
    for name in (
        "config",
        "crm",
        "loyalty",
        "feedback",
        "analytics",
        "templates",
        "locale",
    ):
        shutil.copytree(
            ROOT / name,
            project / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.mo"),
        )
    cwd = Path.cwd()
    os.chdir(project)
    try:
        with override_settings(LOCALE_PATHS=[project / "locale"]):
            call_command("makemessages", locale=["ko"], no_obsolete=True, verbosity=0)
    finally:
        os.chdir(cwd)
    catalogue = polib.pofile(
        str(project / "locale" / "ko" / "LC_MESSAGES" / "django.po")
    )
    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not missing, f"untranslated in locale/ko: {missing[:20]}"
    assert not fuzzy, f"fuzzy in locale/ko: {fuzzy[:20]}"


def test_the_translation_check_sees_new_strings(tmp_path):
    """The check above must notice a string that is in the code but not in the catalogue."""
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "locale", project / "locale", ignore=shutil.ignore_patterns("*.mo")
    )
    (project / "probe").mkdir()
    (project / "probe" / "strings.py").write_text(
        'from django.utils.translation import gettext as _\n\nPROBE = _("A string nobody translated yet")\n'
    )
    cwd = Path.cwd()
    os.chdir(project)
    try:
        with override_settings(LOCALE_PATHS=[project / "locale"]):
            call_command("makemessages", locale=["ko"], verbosity=0)
    finally:
        os.chdir(cwd)
    catalogue = polib.pofile(
        str(project / "locale" / "ko" / "LC_MESSAGES" / "django.po")
    )
    assert "A string nobody translated yet" in [
        entry.msgid for entry in catalogue.untranslated_entries()
    ]


@pytest.mark.smoke
@pytest.mark.parametrize("language", ["en", "ko"])
def test_compiled_catalogues_match_their_sources(language):
    po_path = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run `make compile-messages`"
    compiled = {
        (e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural))
        for e in polib.mofile(str(mo_path))
    }
    stale = [
        entry.msgid
        for entry in polib.pofile(str(po_path)).translated_entries()
        if compiled.get((entry.msgctxt, entry.msgid))
        != (entry.msgstr, dict(entry.msgstr_plural))
    ]
    assert not stale, (
        f"{mo_path} is older than its .po: run `make compile-messages` ({stale[:5]})"
    )


@pytest.mark.smoke
def test_korean_is_active_for_the_interface():
    with translation.override("ko"):
        assert translation.gettext("Contacts") != "Contacts"


def test_the_embedded_default_keeps_a_generated_key_under_var(tmp_path):
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    first = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    second = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.strip()) >= 50
    assert first.stdout == second.stdout  # generated once, then kept
