"""The imports and contacts-export API: 202 + polling + report, roles, errors naming the field."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Contact, ImportJob, User
from crm.services import contact_create
from crm.tasks import contact_import_run

pytestmark = pytest.mark.django_db

CSV_TEXT = (
    "First Name,Last Name,E-mail Address,Mobile Phone,Business Country/Region\n"
    "Anna,Schmidt,anna@example.de,+49 30 901820,Germany\n"
    "Ben,Brown,not-an-email,,\n"
    "지민,김,jimin@example.kr,010-1234-5678,대한민국\n"
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def csv_file(text=CSV_TEXT, name="outlook.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def post_import(api_client, **data):
    data.setdefault("file", csv_file())
    return api_client.post(reverse("api:import-list"), data, format="multipart")


def test_an_upload_is_accepted_with_202_then_followed_to_done_and_reported(
    api_client, manager, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(manager)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_import(api_client)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert (body["total_rows"], body["processed_rows"], body["progress"]) == (3, 0, 0)
    assert (body["format"], body["encoding"]) == ("csv", "utf-8")
    assert body["mapping"]["E-mail Address"] == "email"
    assert len(callbacks) == 1  # the Celery task is queued on commit

    job = ImportJob.objects.get(public_id=body["id"])
    contact_import_run(job.pk)  # what the worker would run

    detail = api_client.get(reverse("api:import-detail", args=[body["id"]])).json()
    assert detail["status"] == "done"
    assert (detail["created"], detail["updated"], detail["rejected"]) == (2, 0, 1)
    assert (detail["processed_rows"], detail["progress"]) == (3, 100)
    assert detail["created_at"]
    assert detail["updated_at"]
    assert detail["finished_at"]

    report = api_client.get(reverse("api:import-report", args=[body["id"]])).json()
    assert list(report) == ["next", "previous", "results"]
    (rejected,) = report["results"]
    assert rejected["line"] == 3
    assert "Email" in rejected["reason"]
    assert rejected["data"]["E-mail Address"] == "not-an-email"

    response = api_client.get(f"/api/v1/imports/{body['id']}/report.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffline,reason,First Name")
    assert "not-an-email" in text


def test_the_report_is_cursor_paginated(api_client, manager):
    rows = "Name,Email\n" + "".join(f"P{i} Q,bad{i}\n" for i in range(150))
    api_client.force_authenticate(manager)
    body = post_import(api_client, file=csv_file(rows)).json()
    contact_import_run(ImportJob.objects.get(public_id=body["id"]).pk)
    page = api_client.get(reverse("api:import-report", args=[body["id"]])).json()
    assert len(page["results"]) == 100
    assert [r["line"] for r in page["results"]][:2] == [2, 3]
    second = api_client.get(page["next"]).json()
    assert len(second["results"]) == 50
    assert second["results"][-1]["line"] == 151


def test_the_mapping_can_be_given_as_a_json_string(api_client, manager):
    api_client.force_authenticate(manager)
    mapping = {"First Name": "given_name", "E-mail Address": "email"}
    response = post_import(api_client, mapping=json.dumps(mapping), encoding="utf-8")
    assert response.status_code == 202
    assert response.json()["mapping"] == {
        "First Name": "given_name",
        "Last Name": "",
        "E-mail Address": "email",
        "Mobile Phone": "",
        "Business Country/Region": "",
    }


@pytest.mark.parametrize(
    "mapping",
    ["{not json", json.dumps(["a"]), json.dumps({"E-mail Address": "email"})],
)
def test_a_bad_mapping_is_a_400_naming_mapping_and_stores_nothing(
    api_client, manager, mapping
):
    api_client.force_authenticate(manager)
    response = post_import(api_client, mapping=mapping)
    assert response.status_code == 400
    assert "mapping" in response.json()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("contacts.xlsx", b"PK\x03\x04 a workbook"),
        ("contacts.csv", b"PK\x03\x04 a workbook"),
        ("contacts.csv", b"\x00\x01\x02binary"),
        ("contacts.csv", b"Name,Email\n"),
    ],
)
def test_a_bad_file_is_a_400_naming_file(api_client, manager, name, data):
    api_client.force_authenticate(manager)
    response = post_import(api_client, file=SimpleUploadedFile(name, data))
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert response.json()["file"][0]


def test_a_missing_file_is_a_400_naming_file(api_client, manager):
    api_client.force_authenticate(manager)
    response = api_client.post(reverse("api:import-list"), {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_an_oversized_file_is_a_400_naming_file(api_client, manager, settings):
    settings.IMPORT_MAX_BYTES = 64
    api_client.force_authenticate(manager)
    response = post_import(api_client)
    assert response.status_code == 400
    assert "file" in response.json()
    assert not ImportJob.objects.exists()


def test_admins_may_import_and_list(api_client, admin):
    api_client.force_authenticate(admin)
    assert post_import(api_client).status_code == 202
    listing = api_client.get(reverse("api:import-list")).json()
    assert [job["file_name"] for job in listing["results"]] == ["outlook.csv"]


@pytest.mark.parametrize("role", ["agent", "customer_a"])
def test_agents_and_customers_get_403_everywhere(api_client, request, manager, role):
    job_id = None
    api_client.force_authenticate(manager)
    job_id = post_import(api_client).json()["id"]
    api_client.force_authenticate(request.getfixturevalue(role))
    assert post_import(api_client).status_code == 403
    assert api_client.get(reverse("api:import-list")).status_code == 403
    assert (
        api_client.get(reverse("api:import-detail", args=[job_id])).status_code == 403
    )
    assert (
        api_client.get(reverse("api:import-report", args=[job_id])).status_code == 403
    )
    response = api_client.get(reverse("api:contact-export-list") + "?format=csv")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")


def test_anonymous_callers_are_refused(api_client):
    assert api_client.get(reverse("api:import-list")).status_code in (401, 403)
    assert api_client.get(reverse("api:contact-export-list")).status_code in (401, 403)


def test_an_unknown_import_is_404(api_client, manager):
    api_client.force_authenticate(manager)
    url = reverse("api:import-detail", args=["00000000-0000-0000-0000-000000000000"])
    assert api_client.get(url).status_code == 404


# --- Export --------------------------------------------------------------------------------


@pytest.fixture
def contacts(db):
    return [
        contact_create(
            given_name="지민",
            family_name="김",
            email="jimin@example.kr",
            country="KR",
            language="ko",
            tags=["vip"],
            birthday="--03-15",
        ),
        contact_create(
            given_name="Anna",
            family_name="Schmidt",
            email="anna@example.de",
            country="DE",
            language="en",
            lifecycle_stage="customer",
        ),
    ]


def test_the_csv_export_streams_an_attachment_of_the_filtered_contacts(
    api_client, manager, contacts
):
    api_client.force_authenticate(manager)
    response = api_client.get(
        reverse("api:contact-export-list"), {"format": "csv", "country": "KR"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    assert response["Content-Disposition"].endswith('.csv"')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffgiven_name,family_name,email")
    assert "jimin@example.kr" in text
    assert "anna@example.de" not in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "schmidt"}, {"anna@example.de"}),
        ({"search": "김지민"}, {"jimin@example.kr"}),
        ({"language": "ko"}, {"jimin@example.kr"}),
        ({"lifecycle_stage": "customer"}, {"anna@example.de"}),
        ({"tag": "VIP"}, {"jimin@example.kr"}),
        ({"owner": "none"}, {"jimin@example.kr", "anna@example.de"}),
        ({}, {"jimin@example.kr", "anna@example.de"}),
    ],
)
def test_the_export_takes_the_contact_list_filters(
    api_client, manager, contacts, params, expected
):
    api_client.force_authenticate(manager)
    response = api_client.get(reverse("api:contact-export-list"), params)
    text = b"".join(response.streaming_content).decode("utf-8")
    emails = {e for e in ("jimin@example.kr", "anna@example.de") if e in text}
    assert emails == expected


def test_an_unknown_filter_value_is_a_400_naming_it(api_client, manager):
    api_client.force_authenticate(manager)
    response = api_client.get(
        reverse("api:contact-export-list"), {"lifecycle_stage": "nope"}
    )
    assert response.status_code == 400
    assert "lifecycle_stage" in response.json()


def test_the_vcard_export_is_vcard_4(api_client, admin, contacts):
    api_client.force_authenticate(admin)
    response = api_client.get(reverse("api:contact-export-list"), {"format": "vcard"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert response["Content-Disposition"].endswith('.vcf"')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.count("BEGIN:VCARD") == 2
    assert "VERSION:4.0" in text
    assert "BDAY:--0315" in text


def test_the_schema_documents_the_import_and_export_endpoints(client, manager):
    client.force_login(manager)
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/imports/" in schema["paths"]
    assert "/api/v1/imports/{id}/report/" in schema["paths"]
    assert "/api/v1/contacts-export/" in schema["paths"]
    assert Contact.objects.count() == 0


def test_list_detail_and_report_take_a_fixed_number_of_queries(
    api_client, manager, django_assert_num_queries
):
    api_client.force_authenticate(manager)
    for _ in range(3):
        body = post_import(api_client, file=csv_file()).json()
    contact_import_run(ImportJob.objects.get(public_id=body["id"]).pk)

    def fresh():  # a user whose role is not cached yet, as on a real request
        api_client.force_authenticate(User.objects.get(pk=manager.pk))

    # The role's groups, then one SELECT (cursor pagination: no COUNT).
    fresh()
    with django_assert_num_queries(2):
        assert len(api_client.get(reverse("api:import-list")).json()["results"]) == 3
    fresh()
    with django_assert_num_queries(2):
        api_client.get(reverse("api:import-detail", args=[body["id"]]))
    fresh()
    with django_assert_num_queries(3):  # the role, the job, its rejections
        api_client.get(reverse("api:import-report", args=[body["id"]]))


def test_a_failed_import_can_be_resumed_and_a_finished_one_cannot(
    api_client, manager, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(manager)
    body = post_import(api_client).json()
    job = ImportJob.objects.get(public_id=body["id"])
    ImportJob.objects.filter(pk=job.pk).update(status="failed", error="worker lost")
    url = reverse("api:import-resume", args=[body["id"]])
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(url)
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["error"]) == ("pending", "")
    assert len(callbacks) == 1
    contact_import_run(job.pk)
    response = api_client.post(url)
    assert response.status_code == 400
    assert "detail" in response.json()
