"""The import wizard pages (upload → mapping → progress → report), the list and the exports."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import ImportJob
from crm.services import contact_create, import_job_create
from crm.tasks import contact_import_run

pytestmark = pytest.mark.django_db

OUTLOOK_CSV = (
    "First Name,Last Name,E-mail Address,Mobile Phone,Notes\n"
    "Anna,Schmidt,anna@example.de,+49 30 901820,met at the fair\n"
    "Ben,Brown,not-an-email,,\n"
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def job(manager):
    upload = SimpleUploadedFile("outlook.csv", OUTLOOK_CSV.encode(), "text/csv")
    return import_job_create(upload=upload, actor=manager)


def _selected(html, column_index):
    """The value of the selected option of the column's select."""
    select = re.search(
        rf'<select name="column_{column_index}".*?</select>', html, re.DOTALL
    ).group(0)
    return re.search(r'<option value="([^"]*)" selected>', select).group(1)


def test_the_wizard_from_upload_to_report(
    client, manager, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    page = client.get(reverse("crm:import"))
    assert page.status_code == 200
    assert 'name="encoding"' in page.content.decode()
    assert "Detect automatically" in page.content.decode()
    assert 'aria-describedby="id_file_helptext"' in page.content.decode()
    assert "up to 20.0" in page.content.decode()

    upload = SimpleUploadedFile("outlook.csv", OUTLOOK_CSV.encode(), "text/csv")
    response = client.post(reverse("crm:import"), {"file": upload, "encoding": ""})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:import_mapping", args=[job.public_id])

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    # One select per column, pre-selected with the suggestions.
    assert [_selected(html, i) for i in range(5)] == [
        "given_name",
        "family_name",
        "email",
        "phone",
        "",
    ]
    # The preview shows each row's errors inline.
    assert "Will be rejected" in html
    assert "Enter a valid email address." in html
    assert 'hx-trigger="change"' in html

    data = {
        "column_0": "given_name",
        "column_1": "family_name",
        "column_2": "email",
        "column_3": "phone",
        "column_4": "",
        "start": "1",
    }
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("crm:import_mapping", args=[job.public_id]), data
        )
    progress_url = reverse("crm:import_progress", args=[job.public_id])
    assert response.status_code == 302
    assert response["Location"] == progress_url
    assert len(callbacks) == 1

    page = client.get(progress_url).content.decode()
    assert "<progress" in page
    assert 'hx-trigger="every 1s"' in page  # polling while it waits or runs
    assert '<label for="import-progress-bar">' in page

    contact_import_run(job.pk)
    partial = client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert "hx-trigger" not in partial  # finished: the polling stops
    assert 'value="100"' in partial
    assert "1 created, 0 updated, 1 rejected" in partial
    report_url = reverse("crm:import_report", args=[job.public_id])
    assert report_url in partial

    report = client.get(report_url)
    assert report.status_code == 200
    assert "attachment" in report["Content-Disposition"]
    assert "not-an-email" in b"".join(report.streaming_content).decode()

    listing = client.get(reverse("crm:imports")).content.decode()
    assert "outlook.csv" in listing


def test_a_bad_upload_shows_the_error_beside_the_file_field(client, manager):
    client.force_login(manager)
    upload = SimpleUploadedFile("contacts.xlsx", b"PK\x03\x04 workbook")
    page = client.post(reverse("crm:import"), {"file": upload})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'aria-invalid="true"' in html
    assert "Upload a CSV" in html
    assert not ImportJob.objects.exists()


def test_changing_a_select_re_renders_only_the_preview(client, manager, job):
    client.force_login(manager)
    data = {
        "column_0": "given_name",
        "column_1": "family_name",
        "column_2": "",
        "column_3": "phone",
        "column_4": "",
    }
    response = client.post(
        reverse("crm:import_mapping", args=[job.public_id]),
        data,
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(
        '<section class="card import-card" id="import-preview"'
    )
    assert "Will be rejected" not in html  # the bad email column is now ignored
    job.refresh_from_db()
    assert job.mapping["E-mail Address"] == ""


def test_a_mapping_without_a_name_column_cannot_start(client, manager, job):
    client.force_login(manager)
    data = {
        "column_0": "",
        "column_1": "",
        "column_2": "email",
        "column_3": "",
        "column_4": "",
        "start": "1",
    }
    response = client.post(reverse("crm:import_mapping", args=[job.public_id]), data)
    assert response.status_code == 200
    assert "Choose the column that holds the name" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING


def test_a_started_import_sends_the_mapping_page_to_its_progress(client, manager, job):
    contact_import_run(job.pk)
    client.force_login(manager)
    response = client.get(reverse("crm:import_mapping", args=[job.public_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:import_progress", args=[job.public_id])


def test_a_failed_import_offers_to_resume(
    client, manager, job, django_capture_on_commit_callbacks
):
    ImportJob.objects.filter(pk=job.pk).update(status="failed", error="boom")
    client.force_login(manager)
    page = client.get(
        reverse("crm:import_progress", args=[job.public_id])
    ).content.decode()
    assert "boom" in page
    assert reverse("crm:import_retry", args=[job.public_id]) in page
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(reverse("crm:import_retry", args=[job.public_id]))
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING


@pytest.mark.parametrize("role", ["agent", "customer_a"])
def test_only_managers_and_admins_reach_the_import_pages_and_exports(
    client, request, job, role
):
    client.force_login(request.getfixturevalue(role))
    for url in (
        reverse("crm:import"),
        reverse("crm:imports"),
        reverse("crm:import_mapping", args=[job.public_id]),
        reverse("crm:import_progress", args=[job.public_id]),
        reverse("crm:import_report", args=[job.public_id]),
        reverse("crm:export_csv"),
        reverse("crm:export_vcard"),
    ):
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("crm:import"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_export_links_take_the_contact_list_filters(client, admin):
    contact_create(
        given_name="지민", family_name="김", email="jimin@example.kr", country="KR"
    )
    contact_create(
        given_name="Anna", family_name="Schmidt", email="anna@example.de", country="DE"
    )
    client.force_login(admin)
    response = client.get(reverse("crm:export_csv"), {"country": "DE"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    assert "anna@example.de" in text
    assert "jimin@example.kr" not in text
    response = client.get(reverse("crm:export_vcard"), {"q": "김지민"})
    assert response["Content-Disposition"].endswith('.vcf"')
    text = b"".join(response.streaming_content).decode()
    assert "jimin@example.kr" in text
    assert "anna@example.de" not in text
