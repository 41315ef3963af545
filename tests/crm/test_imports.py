"""Import services: upsert by email, rejections, atomic resumable batches, exports."""

import csv
import io

import pytest
import vobject
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from crm.models import Consent, Contact, ImportJob, ImportRejection
from crm.services import (
    consents_set,
    contact_create,
    contacts_export_csv,
    contacts_export_vcard,
    import_job_create,
    import_job_retry,
    import_job_run,
    import_job_set_mapping,
    import_job_start,
    import_preview,
    import_report_csv,
)
from crm.tasks import contact_import_run
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(text, name="contacts.csv", encoding="utf-8"):
    data = text if isinstance(text, bytes) else text.encode(encoding)
    return SimpleUploadedFile(name, data, content_type="text/csv")


def run(job, **kwargs):
    import_job_run(job_id=job.pk, **kwargs)
    job.refresh_from_db()
    return job


def test_a_csv_import_creates_contacts_from_the_suggested_mapping(manager):
    job = import_job_create(
        upload=upload(
            "이름,이메일,전화번호,국가,생일,태그\n"
            "홍길동,GilDong@Example.kr,010-1234-5678,대한민국,--03-15,vip; 도매\n"
        ),
        actor=manager,
    )
    assert (job.format, job.encoding, job.total_rows) == ("csv", "utf-8", 1)
    assert job.mapping["이름"] == "full_name"
    job = run(job)
    assert (job.status, job.created_count, job.rejected_count) == ("done", 1, 0)
    contact = Contact.objects.get()
    assert (contact.family_name, contact.given_name) == ("홍", "길동")
    assert contact.email == "gildong@example.kr"
    assert str(contact.phone) == "+821012345678"
    assert contact.country == "KR"
    assert contact.birthday_iso == "--03-15"
    assert contact.source == Contact.Source.IMPORT
    assert contact.owner is None
    assert sorted(t.name for t in contact.tags.all()) == ["vip", "도매"]
    assert job.progress == 100
    assert job.finished_at is not None


def test_rows_are_upserted_by_email_ignoring_case_and_keep_what_the_file_leaves_empty(
    manager,
):
    existing = contact_create(
        given_name="Jimin",
        family_name="Kim",
        email="jimin@example.kr",
        country="KR",
        phone="+821011112222",
        tags=["vip"],
    )
    job = import_job_create(
        upload=upload(
            "First Name,Last Name,Email,Phone,Tags\n"
            "Jimin,Kim,JIMIN@Example.KR,,wholesale\n"
            "Seoyeon,Lee,,,\n"
            "Minho,Park,,,\n"
        ),
        actor=manager,
    )
    job = run(job)
    assert (job.created_count, job.updated_count, job.rejected_count) == (2, 1, 0)
    existing.refresh_from_db()
    assert str(existing.phone) == "+821011112222"  # an empty cell never blanks a field
    assert existing.source == Contact.Source.MANUAL
    assert sorted(t.name for t in existing.tags.all()) == ["vip", "wholesale"]
    assert Contact.objects.filter(email__iexact="jimin@example.kr").count() == 1
    # Rows without an email are created, each its own contact.
    assert Contact.objects.filter(email="").count() == 2


def test_rows_with_the_same_email_make_one_contact_with_all_their_tags(manager):
    job = import_job_create(
        upload=upload(
            "Name,Email,Tags\n"
            "Anna Schmidt,anna@example.de,vip\n"
            "Anna S.,ANNA@example.de,fair\n"
            "Anna Schmidt,anna@example.de,newsletter\n"
        ),
        actor=manager,
    )
    job = run(job)
    assert (job.created_count, job.updated_count) == (1, 2)
    contact = Contact.objects.get()
    assert contact.given_name == "Anna"
    assert sorted(t.name for t in contact.tags.all()) == ["fair", "newsletter", "vip"]


def test_rejected_rows_are_reported_with_line_reason_and_data_and_nothing_stored(
    manager,
):
    job = import_job_create(
        upload=upload(
            "Name,E-mail,Birthday,Country\n"
            "Anna Schmidt,anna@example.de,1990-01-02,DE\n"
            '"Ben\nBrown",not-an-email,1990-02-30,Narnia\n'
            ",nobody@example.com,,\n"
            "Chae Won,chae@example.kr,,KR\n"
        ),
        actor=manager,
    )
    job = run(job)
    assert (job.created_count, job.rejected_count, job.processed_rows) == (2, 2, 4)
    first, second = ImportRejection.objects.filter(job=job).order_by("line")
    assert first.line == 3  # the header is line 1; the multi-line cell starts on line 3
    assert "Email (column “E-mail”)" in first.reason
    assert "Birthday (column “Birthday”)" in first.reason
    assert "Country (column “Country”)" in first.reason
    assert first.data["E-mail"] == "not-an-email"
    assert second.line == 5
    assert "Full name (column “Name”)" in second.reason
    assert not Contact.objects.filter(
        Q(email="not-an-email") | Q(email="nobody@example.com")
    ).exists()


def test_a_row_with_an_unknown_choice_is_rejected_alone(manager):
    job = import_job_create(
        upload=upload("Name,Lifecycle\nAnna Schmidt,customer\nBen Brown,partner\n"),
        actor=manager,
        mapping={"Name": "full_name", "Lifecycle": "lifecycle_stage"},
    )
    job = run(job)
    assert (job.created_count, job.rejected_count) == (1, 1)
    rejection = job.rejections.get()
    assert rejection.line == 3
    assert "Lifecycle stage (column “Lifecycle”)" in rejection.reason


def test_rejection_reasons_are_in_the_importing_users_language(manager):
    manager.language = "ko"
    manager.save(update_fields=["language"])
    job = run(
        import_job_create(
            upload=upload("Name,Email\nAnna Schmidt,bad\n"), actor=manager
        )
    )
    with translation.override("ko"):
        korean = gettext(
            "Enter a valid email address."
        )  # Django's own Korean catalogue
    assert korean != "Enter a valid email address."
    assert korean in job.rejections.get().reason


def test_consent_columns_record_consent_with_the_source_import(manager):
    job = import_job_create(
        upload=upload(
            "given_name,email,consent_marketing_email\n"
            "Anna,anna@example.de,yes\nBen,ben@example.com,no\nCara,cara@example.com,\n"
        ),
        actor=manager,
    )
    run(job)
    consents = {
        c.contact.given_name: c
        for c in Consent.objects.select_related("contact").filter(
            purpose=Consent.Purpose.MARKETING_EMAIL
        )
    }
    assert set(consents) == {"Anna", "Ben"}
    assert consents["Anna"].granted is True
    assert consents["Ben"].granted is False
    assert consents["Anna"].source == Consent.Source.IMPORT
    assert consents["Anna"].changed_by == manager


def test_companies_are_found_by_name_or_created_once(manager):
    job = import_job_create(
        upload=upload(
            "Name,Company\nAnna Schmidt,Acme\nBen Brown,ACME\nCara Diaz,Globex\n"
        ),
        actor=manager,
    )
    run(job)
    companies = {c.company.name for c in Contact.objects.select_related("company")}
    assert companies == {"Acme", "Globex"}


def test_a_vcard_import_creates_contacts_with_yearless_birthdays(manager):
    vcard = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nN:김;지민;;;\r\nFN:김지민\r\nEMAIL:jimin@example.kr\r\n"
        "TEL;VALUE=uri;TYPE=cell:tel:+82-10-9876-5432\r\nBDAY:--0229\r\nLANG:ko\r\n"
        "TZ:Asia/Seoul\r\nCATEGORIES:friends\r\nEND:VCARD\r\n"
    )
    job = import_job_create(upload=upload(vcard, name="phone.vcf"), actor=manager)
    assert job.format == "vcard"
    job = run(job)
    assert job.created_count == 1, list(job.rejections.values_list("reason", flat=True))
    contact = Contact.objects.get()
    assert contact.display_name == "김지민"
    assert (contact.birth_year, contact.birth_month, contact.birth_day) == (None, 2, 29)
    assert str(contact.timezone) == "Asia/Seoul"
    assert contact.language == "ko"


# --- Batches, atomicity, idempotency -------------------------------------------------------


@pytest.fixture
def boom_constraint():
    """A real database constraint the services do not know about: a row named “Boom” passes
    every check and then breaks the INSERT, failing its batch. The tests using it run with
    real commits (``transaction=True``), so each batch's transaction is the real thing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE crm_contact ADD CONSTRAINT test_no_boom CHECK (given_name <> 'Boom')"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE crm_contact DROP CONSTRAINT IF EXISTS test_no_boom")


FIVE_ROWS = (
    "given_name,family_name,email\n"
    "Anna,One,anna@example.com\n"
    "Ben,Two,ben@example.com\n"
    "Cara,Three,cara@example.com\n"
    "Boom,Four,boom@example.com\n"
    "Dan,Five,dan@example.com\n"
)


@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_leaves_nothing_half_written_and_a_rerun_resumes_after_it(
    manager, boom_constraint, monkeypatch
):
    job = import_job_create(upload=upload(FIVE_ROWS), actor=manager)
    job = run(job, batch_size=2)

    assert job.status == ImportJob.Status.FAILED
    assert "test_no_boom" in job.error
    # Batch 1 (Anna, Ben) committed; batch 2 (Cara, Boom) left nothing, not even Cara.
    assert sorted(Contact.objects.values_list("given_name", flat=True)) == [
        "Anna",
        "Ben",
    ]
    assert (job.processed_rows, job.created_count, job.rejected_count) == (2, 2, 0)
    assert job.progress == 40

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE crm_contact DROP CONSTRAINT test_no_boom")
    queued = []  # the broker is the one external transport: record instead of sending
    monkeypatch.setattr(contact_import_run, "delay", queued.append)
    import_job_retry(job=job)
    assert queued == [job.pk]  # queued once the retry committed
    job = run(job, batch_size=2)

    assert job.status == ImportJob.Status.DONE
    assert (job.processed_rows, job.created_count, job.updated_count) == (5, 5, 0)
    assert Contact.objects.count() == 5
    assert Contact.objects.filter(given_name="Cara").count() == 1


@pytest.mark.django_db(transaction=True)
def test_progress_is_saved_after_each_batch(manager, boom_constraint):
    rows = "given_name\n" + "".join(f"Person{i}\n" for i in range(7)) + "Boom\n"
    job = import_job_create(upload=upload(rows), actor=manager)
    job = run(job, batch_size=3)
    # Two full batches of three committed; the third (Person6, Boom) failed.
    assert (job.total_rows, job.processed_rows, job.created_count) == (8, 6, 6)
    assert job.progress == 75


def test_running_the_task_again_is_a_no_op(manager):
    job = import_job_create(
        upload=upload("Name,Email\nAnna Schmidt,anna@example.de\nBad,\n,x\n"),
        actor=manager,
    )
    assert contact_import_run(job.pk) == "done"
    before = ImportJob.objects.values().get(pk=job.pk)
    assert contact_import_run(job.pk) is None
    assert contact_import_run.apply(args=[job.pk]).get() is None
    assert ImportJob.objects.values().get(pk=job.pk) == before
    assert Contact.objects.count() == 2
    assert ImportRejection.objects.count() == 1


def test_a_job_running_elsewhere_is_not_claimed_twice(manager):
    job = import_job_create(upload=upload("Name\nAnna Schmidt\n"), actor=manager)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    assert import_job_run(job_id=job.pk) is None
    assert not Contact.objects.exists()
    with pytest.raises(ValidationError):
        import_job_retry(job=job)  # not stalled: its worker may still be going


def test_a_stalled_running_job_can_be_resumed(manager):
    from django.utils import timezone

    job = import_job_create(upload=upload("Name\nAnna Schmidt\n"), actor=manager)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        updated_at=timezone.now() - timezone.timedelta(hours=1),
    )
    import_job_retry(job=ImportJob.objects.get(pk=job.pk))
    assert run(job).status == ImportJob.Status.DONE


def test_starting_queues_the_task_on_commit_only_for_a_pending_job(
    manager, django_capture_on_commit_callbacks
):
    job = import_job_create(upload=upload("Name\nAnna Schmidt\n"), actor=manager)
    with django_capture_on_commit_callbacks() as callbacks:
        import_job_start(job=job)
    assert len(callbacks) == 1
    run(job)
    with pytest.raises(ValidationError):
        import_job_start(job=job)


def test_an_import_needs_a_name_column_to_start(manager):
    job = import_job_create(upload=upload("E-mail\na@example.com\n"), actor=manager)
    with pytest.raises(ValidationError) as caught:
        import_job_start(job=job)
    assert "mapping" in caught.value.message_dict
    with pytest.raises(ValidationError):
        import_job_set_mapping(job=job, mapping={"E-mail": "email"})


# --- Creating ------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_naming_the_file(manager, settings):
    settings.IMPORT_MAX_BYTES = 50
    with pytest.raises(ValidationError) as caught:
        import_job_create(
            upload=upload("Name\n" + "Anna Schmidt\n" * 10), actor=manager
        )
    assert list(caught.value.message_dict) == ["file"]
    assert not ImportJob.objects.exists()


def test_a_file_with_a_header_and_no_rows_is_refused(manager):
    with pytest.raises(ValidationError) as caught:
        import_job_create(upload=upload("Name,Email\n"), actor=manager)
    assert list(caught.value.message_dict) == ["file"]


def test_the_uploaded_file_is_stored_under_media_root(manager, media_root):
    job = import_job_create(
        upload=upload("Name\nAnna\n", name="클라이언트.csv"), actor=manager
    )
    assert job.original_name == "클라이언트.csv"
    assert job.file.path.startswith(str(media_root))
    assert job.file.name.endswith(f"{job.public_id}.csv")


def test_the_preview_shows_mapped_rows_with_their_errors_and_what_will_happen(manager):
    ContactFactory(email="anna@example.de")
    job = import_job_create(
        upload=upload(
            "Name,Email,Phone,Country\n"
            "Anna Schmidt,ANNA@example.de,+49 30 901820,Germany\n"
            "Ben Brown,ben@example.com,123,\n"
            + "".join(f"P{i} Q,p{i}@example.com,,\n" for i in range(20))
        ),
        actor=manager,
    )
    preview = import_preview(job=job)
    assert len(preview) == 10
    anna, ben = preview[0], preview[1]
    assert anna["action"] == "update"
    assert anna["fields"]["country"] == "DE"
    assert anna["fields"]["phone"] == "+4930901820"
    assert ben["action"] == "reject"
    assert set(ben["errors"]) == {"phone"}
    assert preview[2]["action"] == "create"
    # A mapping not saved yet can be previewed too.
    ignored = import_preview(job=job, rows=2, mapping={**job.mapping, "Phone": ""})
    assert ignored[1]["errors"] == {}


# --- Reports and exports -------------------------------------------------------------------


def _read_csv(chunks):
    text = "".join(chunks)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_rejection_report_lists_line_reason_and_the_original_columns(manager):
    job = import_job_create(
        upload=upload(
            "Name,Email\nAnna Schmidt,anna@example.de\nBen,=cmd|' /C calc'!A0\n"
        ),
        actor=manager,
    )
    run(job)
    header, row = _read_csv(import_report_csv(job=job))
    assert header == ["line", "reason", "Name", "Email"]
    assert row[0] == "3"
    assert "Email" in row[1]
    assert row[3] == "'=cmd|' /C calc'!A0"  # neutralised in the report too


def test_the_csv_export_neutralises_formulas_and_round_trips_through_the_importer(
    manager,
):
    evil = contact_create(
        given_name='=HYPERLINK("http://evil.example")',
        family_name="@SUM(A1)",
        email="evil@example.com",
        phone="+821012345678",
        country="KR",
        company=None,
        tags=["-vip", "도매"],
        birthday="--03-15",
        timezone="Asia/Seoul",
        language="ko",
        lifecycle_stage="customer",
    )
    consents_set(contact=evil, consents={"marketing_email": True}, source="staff")
    contact_create(
        given_name="Jürgen",
        family_name="Groß",
        email="j@example.de",
        birthday="1970-01-02",
    )

    rows = _read_csv(contacts_export_csv(queryset=Contact.objects.all()))
    header = rows[0]
    assert header[:12] == [
        "given_name",
        "family_name",
        "email",
        "phone",
        "company",
        "country",
        "language",
        "timezone",
        "birthday",
        "tags",
        "lifecycle_stage",
        "consent_marketing_email",
    ]
    exported = {r[2]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    cells = exported["evil@example.com"]
    assert cells["given_name"] == '\'=HYPERLINK("http://evil.example")'
    assert cells["family_name"] == "'@SUM(A1)"
    assert cells["phone"] == "'+821012345678"
    assert cells["tags"] == "'-vip, 도매"
    assert cells["birthday"] == "'--03-15"
    assert cells["consent_marketing_email"] == "yes"
    for row in rows[1:]:
        assert not any(
            cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row
        )

    # Round trip: delete, import the export, get the same contacts back.
    data = "".join(contacts_export_csv(queryset=Contact.objects.all())).encode("utf-8")
    Contact.objects.all().delete()
    job = import_job_create(upload=upload(data, name="export.csv"), actor=manager)
    assert job.encoding == "utf-8-sig"
    job = run(job)
    assert (job.created_count, job.rejected_count) == (2, 0), list(
        job.rejections.values_list("reason", flat=True)
    )
    back = Contact.objects.get(email="evil@example.com")
    assert back.given_name == '=HYPERLINK("http://evil.example")'
    assert back.family_name == "@SUM(A1)"
    assert str(back.phone) == "+821012345678"
    assert back.birthday_iso == "--03-15"
    assert str(back.timezone) == "Asia/Seoul"
    assert (back.language, back.lifecycle_stage) == ("ko", "customer")
    assert sorted(t.name for t in back.tags.all()) == ["-vip", "도매"]
    assert back.consents.get().granted is True
    assert Contact.objects.get(email="j@example.de").birthday_iso == "1970-01-02"


def test_exports_take_a_fixed_number_of_queries_however_many_contacts(manager):
    def count(kind):
        export = contacts_export_csv if kind == "csv" else contacts_export_vcard
        with CaptureQueriesContext(connection) as queries:
            "".join(export(queryset=Contact.objects.all()))
        return len(queries)

    for i in range(3):
        contact_create(given_name=f"A{i}", email=f"a{i}@example.com", tags=["x", "y"])
    few = (count("csv"), count("vcard"))
    for i in range(30):
        contact_create(given_name=f"B{i}", email=f"b{i}@example.com", tags=["x"])
    assert (count("csv"), count("vcard")) == few


def test_the_vcard_export_is_version_4_with_yearless_birthdays_and_reads_back(manager):
    contact_create(
        given_name="지민",
        family_name="김",
        email="jimin@example.kr",
        phone="+821098765432",
        country="KR",
        birthday="--02-29",
        tags=["vip", "a,b"],
        timezone="Asia/Seoul",
        language="ko",
    )
    contact_create(given_name="Anna", family_name="Schmidt", birthday="1985-03-15")
    text = "".join(contacts_export_vcard(queryset=Contact.objects.order_by("pk")))
    assert text.count("BEGIN:VCARD") == 2
    assert "VERSION:4.0\r\n" in text
    assert "BDAY:--0229\r\n" in text
    assert "BDAY:19850315\r\n" in text
    assert "N:김;지민;;;\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    cards = list(vobject.readComponents(text))
    assert cards[0].fn.value == "김지민"
    assert cards[0].categories.value == ["a,b", "vip"]

    Contact.objects.all().delete()
    job = run(import_job_create(upload=upload(text, name="export.vcf"), actor=manager))
    assert (job.created_count, job.rejected_count) == (2, 0)
    jimin = Contact.objects.get(email="jimin@example.kr")
    assert (jimin.birth_month, jimin.birth_day, jimin.birth_year) == (2, 29, None)
    assert (jimin.country, str(jimin.phone)) == ("KR", "+821098765432")
    assert sorted(t.name for t in jimin.tags.all()) == ["a,b", "vip"]
