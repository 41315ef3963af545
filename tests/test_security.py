"""Hardening: security headers, the production settings checklist, import upload limits and
CSV formula neutralisation in every export."""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.importing import FORMULA_PREFIXES
from crm.models import Contact, ImportJob
from crm.services import contacts_export_csv, import_job_create, import_report_csv
from crm.services.exports import neutralise_cell

BASE_DIR = Path(__file__).resolve().parent.parent

# Cells a spreadsheet would run (OWASP "CSV injection"), and what each must come out as.
FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1",
    "-1",
    "@x",
    "\t=1+1",
    "\r=1+1",
]


def _rows(chunks) -> list[list[str]]:
    text = "".join(chunks)
    if isinstance(text, bytes):  # pragma: no cover - streaming responses give bytes
        text = text.decode()
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def _assert_neutralised(cells: list[str], values: list[str]) -> None:
    for value in values:
        assert "'" + value in cells, f"{value!r} not neutralised in {cells!r}"
        assert value not in cells


# --- Headers --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/portal/login/", "/"])
def test_pages_carry_csp_nosniff_referrer_and_frame_headers(client, agent, path):
    client.force_login(agent)
    response = client.get(path)
    assert response.status_code in (200, 302)
    policy = response["Content-Security-Policy"]
    directives = dict(
        ([*part.strip().split(" ", 1), ""])[:2] for part in policy.split(";") if part
    )
    assert "'self'" in directives["script-src"]
    assert "unsafe-inline" not in directives["script-src"]
    assert "unsafe-eval" not in directives["script-src"]
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_api_docs_relax_only_styles_never_scripts(client, agent):
    client.force_login(agent)
    policy = client.get("/api/docs/")["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src is not None
    assert "unsafe-inline" not in script_src.group(1)


def _production_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECURE",
            "SECURE_HSTS_SECONDS",
            "DJANGO_SETTINGS_MODULE",
            # Set by the browser journeys' conftest for the live server; never in production.
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="rapport.example",
        DJANGO_SETTINGS_MODULE="config.settings",
        **extra,
    )
    return env


def test_the_deployment_checklist_reports_nothing_with_production_values():
    """`make check-deploy`: secure cookies, HSTS, SSL redirect, a strong key, DEBUG off."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_turn_on_secure_cookies_and_hsts():
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        " s.SESSION_COOKIE_HTTPONLY, s.SECURE_CONTENT_TYPE_NOSNIFF, s.SECURE_REFERRER_POLICY)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == [
        "True",
        "True",
        "True",
        "31536000",
        "True",
        "True",
        "True",
        "same-origin",
    ], result.stderr


# --- Import uploads -------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("contacts.exe", b"email\nanna@example.com\n"),  # wrong extension
        ("contacts.csv", PNG),  # binary content behind a .csv name
        ("contacts.csv", b"PK\x03\x04" + b"\x00" * 64),  # a workbook renamed .csv
        ("contacts.vcf", b"email\nanna@example.com\n"),  # .vcf that is no vCard
    ],
)
def test_imports_accept_only_csv_or_vcard_text_in_the_ui(client, manager, name, data):
    client.force_login(manager)
    response = client.post(
        reverse("crm:import"),
        {"file": SimpleUploadedFile(name, data)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200  # the form again, with the error at the field
    assert response.context["form"].errors.keys() == {"file"}
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data"), [("contacts.pdf", b"%PDF-1.4"), ("contacts.csv", PNG)]
)
def test_imports_accept_only_csv_or_vcard_text_in_the_api(
    api_client, manager, name, data
):
    api_client.force_authenticate(manager)
    response = api_client.post(
        reverse("api:import-list"),
        {"file": SimpleUploadedFile(name, data)},
        format="multipart",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_an_upload_over_import_max_bytes_is_refused_in_the_ui_naming_the_limit(
    client, manager, settings
):
    settings.IMPORT_MAX_BYTES = 100
    client.force_login(manager)
    response = client.post(
        reverse("crm:import"),
        {"file": SimpleUploadedFile("big.csv", b"email\n" + b"a@example.com\n" * 20)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.context["form"].errors.keys() == {"file"}
    assert "100" in str(response.context["form"].errors["file"])
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_the_korean_error_for_a_wrong_file_is_translated(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("crm:import"),
        {"file": SimpleUploadedFile("x.exe", b"a")},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    english = "Upload a CSV (.csv, .txt) or vCard"
    assert english not in str(response.context["form"].errors["file"])


# --- CSV formula neutralisation -------------------------------------------------------------


@pytest.mark.parametrize("value", FORMULAS)
def test_the_shared_neutraliser_quotes_every_formula_prefix(value):
    assert value[0] in FORMULA_PREFIXES
    assert neutralise_cell(value) == "'" + value


def test_plain_text_and_numbers_pass_through():
    assert neutralise_cell("Anna") == "Anna"
    assert neutralise_cell(12) == "12"
    assert neutralise_cell(None) == ""


def test_every_csv_writer_in_the_code_goes_through_the_shared_neutraliser():
    """Only crm/services/exports.py may build CSV (its ``csv_lines`` neutralises each cell);
    every other export calls ``csv_lines``."""
    writers = []
    for app in ("config", "crm", "loyalty", "feedback", "analytics"):
        for path in (BASE_DIR / app).rglob("*.py"):
            if re.search(r"csv\.writer|DictWriter", path.read_text()):
                writers.append(str(path.relative_to(BASE_DIR)))
    assert writers == ["crm/services/exports.py"]


@pytest.mark.django_db
def test_the_contact_export_neutralises_formulas_ui_and_api(
    client, api_client, manager
):
    from tests.crm.factories import ContactFactory

    for i, value in enumerate(FORMULAS):
        ContactFactory(given_name=value, family_name=f"F{i}")
    cells = [
        c
        for row in _rows(contacts_export_csv(queryset=Contact.objects.all()))
        for c in row
    ]
    _assert_neutralised(cells, FORMULAS)

    client.force_login(manager)
    ui = client.get(reverse("crm:export_csv"))
    ui_cells = [
        c for row in _rows(b"".join(ui.streaming_content).decode()) for c in row
    ]
    _assert_neutralised(ui_cells, FORMULAS)

    api_client.force_authenticate(manager)
    api = api_client.get(reverse("api:contact-export-list"))
    body = b"".join(api.streaming_content) if api.streaming else api.content
    api_cells = [c for row in _rows(body.decode()) for c in row]
    _assert_neutralised(api_cells, FORMULAS)


@pytest.mark.django_db
def test_the_import_rejection_report_neutralises_formulas(manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    values = ["=1+2", "+1", "-1", "@x"]  # invalid emails: each row is rejected
    data = "Name,Email\n" + "".join(f"Bad {i},{v}\n" for i, v in enumerate(values))
    job = import_job_create(
        upload=SimpleUploadedFile("x.csv", data.encode()), actor=manager
    )
    from crm.services import import_job_run

    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    cells = [c for row in _rows(import_report_csv(job=job)) for c in row]
    _assert_neutralised(cells, values)


@pytest.mark.django_db
def test_the_survey_export_neutralises_formulas(manager):
    from feedback.selectors.surveys import survey_export_csv
    from feedback.services import invitations_create, response_submit, survey_create
    from tests.crm.factories import ContactFactory

    survey = survey_create(title="NPS", kind="nps", created_by=manager)
    questions = list(survey.questions.order_by("order"))
    for value in FORMULAS:
        invitation = invitations_create(
            survey=survey, contacts=[ContactFactory()]
        ).invited[0]
        response_submit(
            token=invitation.token,
            answers={str(questions[0].pk): 8, str(questions[1].pk): value},
            language="en",
        )
    cells = [c for row in _rows(survey_export_csv(survey=survey)) for c in row]
    # The survey stores reasons stripped: the tab/CR-led ones lose their prefix there.
    _assert_neutralised(cells, [v.strip() for v in FORMULAS])


@pytest.mark.django_db
def test_the_dashboard_drilldown_export_neutralises_formulas(client, manager):
    from analytics.services import rollups_rebuild
    from tests.analytics.factories import at, customer

    for value in FORMULAS:
        customer(since=at("2024-01-01"), churned=at("2025-03-10"), given_name=value)
    rollups_rebuild()
    client.force_login(manager)
    response = client.get(
        reverse("analytics:drilldown-csv", args=["lost"]),
        {"period": "custom", "start": "2025-03-01", "end": "2025-03-31"},
    )
    body = b"".join(response.streaming_content).decode()
    cells = [c for row in _rows(body) for c in row]
    _assert_neutralised(cells, FORMULAS)
