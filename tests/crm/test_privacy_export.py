"""Personal-data export: every model that leads to a contact is covered by a registered source,
and an archive of a fully populated contact has every section, from the staff page, the API
(at once, or as a job) and the portal (own exports only)."""

import io
import json
import zipfile

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from crm.models import AuditEntry, Contact, DataExport
from crm.privacy import covered_models, sources
from crm.services.privacy import data_export_build, data_export_request, data_export_run
from tests.crm.factories import ContactFactory
from tests.crm.privacy_world import populate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.BASE_CURRENCY = "USD"


def _models_leading_to_contact() -> set[type[models.Model]]:
    """Every model with a foreign-key path to Contact: direct, or through such a model."""
    reached: set[type[models.Model]] = {Contact}
    grew = True
    while grew:
        grew = False
        for model in apps.get_models():
            if model in reached:
                continue
            for f in model._meta.get_fields():
                if (
                    (f.many_to_one or f.one_to_one)
                    and f.concrete
                    and f.related_model in reached
                ):
                    reached.add(model)
                    grew = True
                    break
    return reached


def test_every_model_that_leads_to_a_contact_is_covered_by_a_registered_source():
    missing = {m._meta.label for m in _models_leading_to_contact() - covered_models()}
    assert not missing, f"no PersonalDataSource covers: {sorted(missing)}"
    # The walk really goes through other models (answers → response → invitation → contact).
    labels = {m._meta.label for m in _models_leading_to_contact()}
    assert {"feedback.Answer", "loyalty.LotUse", "crm.Refund"} <= labels


def test_every_app_registers_its_sources():
    names = {source.name.split(".")[0] for source in sources()}
    assert {"crm", "loyalty", "feedback"} <= names


def test_an_archive_of_a_fully_populated_contact_has_every_section(manager, agent):
    world = populate(manager=manager, agent=agent)
    archive = data_export_build(contact_id=world.contact.pk)
    json.dumps(archive)  # machine-readable as it is
    empty = [name for name, s in archive["sections"].items() if not s["rows"]]
    assert not empty, f"empty sections: {empty}"
    assert set(archive["sections"]) == {s.name for s in sources()}
    text = json.dumps(archive, ensure_ascii=False)
    for value in world.needles:
        if value != world.phone.lstrip("+"):
            assert value in text, value
    # The audit section shows the sealed values, unsealed, to their owner.
    assert any(
        row["values"] and row["values"].get("email") == world.email
        for row in archive["sections"]["crm.audit"]["rows"]
    )


def test_the_export_job_builds_a_zip_with_data_and_a_summary_in_the_contacts_language(
    manager,
):
    contact = ContactFactory(language="ko", given_name="지민", family_name="김")
    export = data_export_request(contact=contact, actor=manager, via="staff")
    assert export.status == DataExport.Status.QUEUED
    data_export_run(export_id=export.pk)
    assert data_export_run(export_id=export.pk) is None  # a second run claims nothing
    export.refresh_from_db()
    assert export.status == DataExport.Status.DONE
    assert (export.done, export.progress) == (export.total, 100)
    assert export.expires_at is not None
    assert (export.expires_at - export.finished_at).total_seconds() == 72 * 3600
    with zipfile.ZipFile(export.file.open("rb")) as archive:
        data = json.loads(archive.read("data.json"))
        summary = archive.read("summary.txt").decode()
    assert data["sections"]["crm.profile"]["rows"][0]["given_name"] == "지민"
    assert "지민" in summary
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.EXPORT, contact_id=contact.pk
    ).exists()


# --- staff pages ---------------------------------------------------------------------------


def test_a_manager_exports_from_the_contact_page_and_downloads_the_zip(
    client, manager, django_capture_on_commit_callbacks, eager_celery
):
    contact = ContactFactory()
    client.force_login(manager)
    page = client.get(reverse("crm:contact", args=[contact.pk]))
    assert b"Export personal data" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("crm:privacy_export", args=[contact.pk]))
    assert response.status_code == 302
    export = DataExport.objects.get(contact=contact)
    assert export.status == DataExport.Status.DONE
    status = client.get(
        reverse("crm:privacy_export_status", args=[export.public_id]),
        HTTP_HX_REQUEST="true",
    )
    assert b"Download the archive" in status.content
    download = client.get(
        reverse("crm:privacy_export_download", args=[export.public_id])
    )
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    body = b"".join(download.streaming_content)
    assert "data.json" in zipfile.ZipFile(io.BytesIO(body)).namelist()


def test_the_progress_fragment_polls_while_the_job_runs(client, manager):
    export = data_export_request(contact=ContactFactory(), actor=manager, via="staff")
    client.force_login(manager)
    status = client.get(
        reverse("crm:privacy_export_status", args=[export.public_id]),
        HTTP_HX_REQUEST="true",
    )
    assert b'hx-trigger="every 1s"' in status.content
    assert b"<progress" in status.content


def test_an_expired_download_is_410(client, manager):
    contact = ContactFactory()
    export = data_export_request(contact=contact, actor=manager, via="staff")
    data_export_run(export_id=export.pk)
    DataExport.objects.filter(pk=export.pk).update(expires_at="2020-01-01T00:00Z")
    client.force_login(manager)
    response = client.get(
        reverse("crm:privacy_export_download", args=[export.public_id])
    )
    assert response.status_code == 410
    assert b"no longer available" in response.content


def test_agents_neither_see_the_box_nor_export_nor_download(client, agent, manager):
    contact = ContactFactory()
    export = data_export_request(contact=contact, actor=manager, via="staff")
    data_export_run(export_id=export.pk)
    client.force_login(agent)
    page = client.get(reverse("crm:contact", args=[contact.pk]))
    assert b"Export personal data" not in page.content
    assert (
        client.post(reverse("crm:privacy_export", args=[contact.pk])).status_code == 403
    )
    assert (
        client.get(
            reverse("crm:privacy_export_download", args=[export.public_id])
        ).status_code
        == 403
    )


# --- API -----------------------------------------------------------------------------------


def test_the_api_answers_the_archive_at_once_for_a_small_contact(
    api_client, manager, agent
):
    world = populate(manager=manager, agent=agent)
    api_client.force_authenticate(manager)
    response = api_client.get(f"/api/v1/contacts/{world.contact.pk}/export/")
    assert response.status_code == 200
    sections = response.json()["sections"]
    assert sections["crm.profile"]["rows"][0]["email"] == world.email
    assert all(section["rows"] for section in sections.values())


def test_the_api_runs_a_job_for_a_large_contact_and_the_poll_gives_the_link(
    api_client, manager, settings, django_capture_on_commit_callbacks, eager_celery
):
    settings.PRIVACY_EXPORT_SYNC_LIMIT = 1  # the profile alone is one row
    contact = ContactFactory()
    api_client.force_authenticate(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.get(f"/api/v1/contacts/{contact.pk}/export/")
    assert response.status_code == 202
    job = response.json()["export"]
    assert job["status"] == "queued"
    poll = api_client.get(job["url"])
    assert poll.status_code == 200
    assert poll.json()["status"] == "done"
    assert poll.json()["progress"] == 100
    download = api_client.get(poll.json()["download_url"])
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    data = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("data.json"))
    assert data["contact_id"] == contact.pk


def test_agents_cannot_export_over_the_api(api_client, agent):
    api_client.force_authenticate(agent)
    contact = ContactFactory()
    assert api_client.get(f"/api/v1/contacts/{contact.pk}/export/").status_code == 403


# --- portal --------------------------------------------------------------------------------


def _customer_contact(user, **fields):
    return ContactFactory(user=user, email=user.email, **fields)


def test_a_customer_exports_their_own_data_in_the_portal(
    client, customer_a, django_capture_on_commit_callbacks, eager_celery
):
    contact = _customer_contact(customer_a)
    client.force_login(customer_a)
    page = client.get(reverse("portal:my_data"))
    assert page.status_code == 200
    assert reverse("portal:my_data").encode() in page.content  # the nav link
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:my_data_export_request"))
    export = DataExport.objects.get(contact=contact)
    assert export.via == DataExport.Via.PORTAL
    download = client.get(reverse("portal:my_data_download", args=[export.public_id]))
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    data = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("data.json"))
    assert data["sections"]["crm.profile"]["rows"][0]["email"] == customer_a.email


def test_another_customers_export_is_404_in_the_portal(
    client, customer_a, customer_b, manager
):
    _customer_contact(customer_a)
    other = _customer_contact(customer_b)
    export = data_export_request(contact=other, actor=manager, via="staff")
    data_export_run(export_id=export.pk)
    client.force_login(customer_a)
    for name in ("portal:my_data_download", "portal:my_data_export"):
        response = client.get(
            reverse(name, args=[export.public_id]), HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 404, name


def test_customers_never_reach_the_staff_download(client, customer_a, manager):
    contact = _customer_contact(customer_a)
    export = data_export_request(contact=contact, actor=manager, via="staff")
    data_export_run(export_id=export.pk)
    client.force_login(customer_a)
    response = client.get(
        reverse("crm:privacy_export_download", args=[export.public_id])
    )
    assert response.status_code == 403


def test_an_expired_archive_is_410_over_the_api(api_client, manager):
    export = data_export_request(contact=ContactFactory(), actor=manager, via="api")
    data_export_run(export_id=export.pk)
    DataExport.objects.filter(pk=export.pk).update(expires_at="2020-01-01T00:00Z")
    api_client.force_authenticate(manager)
    poll = api_client.get(f"/api/v1/exports/{export.public_id}/")
    assert poll.json()["download_url"] is None
    response = api_client.get(f"/api/v1/exports/{export.public_id}/download/")
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]
