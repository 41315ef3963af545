"""Set-based import batches: same rules as the per-row services, a fixed number of queries."""

import csv
import io
import os
import signal
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from crm.models import (
    AuditEntry,
    Company,
    Consent,
    ConsentEvent,
    Contact,
    ImportJob,
    Tag,
)
from crm.services import (
    consents_set,
    contact_create,
    import_job_create,
    import_job_retry,
    import_job_run,
    imports,
)
from crm.services.audit import audit_unseal
from crm.services.imports_bulk import _search_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def csv_upload(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile("contacts.csv", buffer.getvalue().encode())


def run(job, **kwargs):
    import_job_run(job_id=job.pk, **kwargs)
    job.refresh_from_db()
    return job


HEADER = ["First Name", "Last Name", "Email", "Phone", "Country", "Company", "Tags"]


@pytest.mark.smoke  # the embedded default (SQLite) imports through bulk_create
@pytest.mark.parametrize(
    "fork", [True, False], ids=["checked-in-a-child", "in-process"]
)
def test_a_5000_row_file_dedupes_in_the_file_and_against_the_database_and_rejects_bad_rows(
    manager, fork
):
    for i in range(50):
        contact_create(
            given_name=f"Old{i}",
            family_name="Known",
            email=f"known{i}@example.com",
            phone="+821011112222",
            tags=["staff-set"],
        )
    rows, expected_bad = [], set()
    for i in range(5000):
        if i % 100 == 7:  # bad: no name and an invalid email
            rows.append(["", "", f"broken-{i}", "", "", "", ""])
            expected_bad.add(i + 2)
        elif i % 100 == 11:  # bad: phone that is no number in Korea
            rows.append(
                [f"P{i}", "Bad", f"badphone{i}@example.com", "123", "KR", "", ""]
            )
            expected_bad.add(i + 2)
        elif i % 10 == 3:  # an existing contact, in another case
            rows.append(
                [f"New{i}", "", f"KNOWN{i % 50}@Example.com", "", "", "", "vip"]
            )
        elif i % 10 == 5:  # repeats an email earlier in the file
            rows.append(
                [f"Again{i}", "", f"person{i - 1}@example.com", "", "", "", "x"]
            )
        else:
            rows.append(
                [f"Person{i}", "Lee", f"person{i}@example.com", "", "", "Acme", ""]
            )
    job = import_job_create(upload=csv_upload(HEADER, rows), actor=manager)
    job = run(job, batch_size=2000, fork=fork)

    assert job.status == ImportJob.Status.DONE
    assert job.processed_rows == 5000
    assert job.rejected_count == len(expected_bad) == 100
    assert set(job.rejections.values_list("line", flat=True)) == expected_bad
    phone_reason = job.rejections.get(line=13).reason
    assert "Phone (column “Phone”)" in phone_reason
    # Updates: 500 rows naming the 50 known contacts + 500 repeating an earlier new email.
    assert job.updated_count == 1000
    assert job.created_count == 5000 - 100 - 1000
    assert Contact.objects.count() == 50 + job.created_count
    known = Contact.objects.get(email="known3@example.com")
    assert known.given_name == "New4953"  # the last row for it in file order wins
    assert str(known.phone) == "+821011112222"  # an empty cell keeps the stored value
    assert sorted(t.name for t in known.tags.all()) == ["staff-set", "vip"]
    again = Contact.objects.get(email="person4@example.com")
    assert again.given_name == "Again5"
    assert again.family_name == "Lee"
    assert again.company.name == "Acme"
    assert [t.name for t in again.tags.all()] == ["x"]
    assert Company.objects.filter(name__iexact="acme").count() == 1


@pytest.mark.smoke  # the embedded default (SQLite) imports through bulk_create
def test_search_text_of_imported_contacts_is_what_the_model_builds(manager):
    contact_create(
        given_name="Stored", email="stored@example.de", phone="+4915112345678"
    )
    job = import_job_create(
        upload=csv_upload(
            HEADER,
            [
                ["길동", "홍", "hong@example.kr", "010-1234-5678", "KR", "한빛", ""],
                ["Ana", "Silva", "ana@example.com", "+1 650 253 0000", "", "", ""],
                ["Mario", "Rossi", "", "06 6982 1234", "IT", "", ""],
                ["Stored", "Again", "STORED@example.de", "", "DE", "Globex", ""],
            ],
        ),
        actor=manager,
    )
    job = run(job)
    assert (job.created_count, job.updated_count) == (3, 1)
    for contact in Contact.objects.select_related("company"):
        assert contact.search_text == contact.build_search_text(), contact.email
    assert "01012345678" in Contact.objects.get(email="hong@example.kr").search_text
    blank = Contact(given_name="A", email="a@example.com")
    assert _search_text(blank, "") == blank.build_search_text()


@pytest.mark.smoke  # the embedded default (SQLite) imports through bulk_create
def test_tags_companies_and_consents_are_written_in_bulk_only_when_they_change(manager):
    existing = contact_create(
        given_name="Jimin", email="jimin@example.kr", tags=["VIP"]
    )
    consents_set(
        contact=existing,
        consents={Consent.Purpose.MARKETING_EMAIL: True},
        source=Consent.Source.STAFF,
    )
    Company.objects.create(name="Globex")
    events_before = ConsentEvent.objects.count()
    header = ["Name", "Email", "Company", "Tags", "Email Consent"]
    job = import_job_create(
        upload=csv_upload(
            header,
            [
                ["Jimin Kim", "jimin@example.kr", "GLOBEX", "vip; wholesale", "yes"],
                ["Anna Schmidt", "anna@example.de", "Initech", "Wholesale", "yes"],
                ["Anna S.", "anna@example.de", "", "fair", "no"],
                ["Ben Brown", "ben@example.com", "initech", "", ""],
            ],
        ),
        actor=manager,
    )
    job = run(job)
    assert (job.created_count, job.updated_count, job.rejected_count) == (2, 2, 0)
    # Tags: found in any case, created once, only ever added.
    assert sorted(Tag.objects.values_list("name", flat=True)) == [
        "VIP",
        "fair",
        "wholesale",
    ]
    assert sorted(t.name for t in existing.tags.all()) == ["VIP", "wholesale"]
    anna = Contact.objects.get(email="anna@example.de")
    assert sorted(t.name for t in anna.tags.all()) == ["fair", "wholesale"]
    # Companies: the existing one reused whatever its case, a new one created once.
    existing.refresh_from_db()
    assert existing.company.name == "Globex"
    assert Company.objects.filter(name__iexact="initech").count() == 1
    assert anna.company.name == "Initech"
    # Consents: Jimin's unchanged yes keeps who set it and adds no event; Anna's yes then
    # no are two changes, each in the ledger and the audit log with the source "import".
    jimin_consent = Consent.objects.get(contact=existing)
    assert jimin_consent.source == Consent.Source.STAFF
    anna_consent = Consent.objects.get(contact=anna)
    assert anna_consent.granted is False
    assert anna_consent.source == Consent.Source.IMPORT
    assert anna_consent.changed_by == manager
    events = list(ConsentEvent.objects.filter(contact=anna).order_by("pk"))
    assert [e.granted for e in events] == [True, False]
    assert {e.source for e in events} == {Consent.Source.IMPORT}
    assert ConsentEvent.objects.count() == events_before + 2
    entries = AuditEntry.objects.filter(
        action=AuditEntry.Action.CONSENT_CHANGED, contact_id=anna.pk
    ).order_by("pk")
    assert [audit_unseal(e)["consents"]["marketing_email"] for e in entries] == [
        {"before": None, "after": True},
        {"before": True, "after": False},
    ]
    assert entries[0].actor_label == manager.email
    assert entries[0].changes["source"] == "import"
    assert "anna" not in str(entries[0].changes)
    assert not Consent.objects.filter(contact__email="ben@example.com").exists()


@pytest.mark.smoke  # the embedded default (SQLite) imports through bulk_create
def test_a_batch_checked_while_the_one_before_is_written_sees_what_that_one_wrote(
    manager,
):
    """Each batch is checked while the one before it is written: an email the first batch
    creates is an update in the second, a batch of updates only (no COPY) is followed by the
    next one, and every rejection keeps its line."""
    rows = [
        ["Anna", "A", "anna@example.com"],  # line 2, batch 1: created
        ["Ben", "B", "ben@example.com"],
        ["Cy", "C", "not-an-email"],  # rejected
        ["Anna", "Again", "ANNA@example.com"],  # line 5, batch 2: batch 1's Anna
        ["Ben", "Again", "Ben@Example.com"],
        ["", "", "nobody@example.com"],  # rejected: no name
        ["Dee", "D", "dee@example.com"],  # line 8, batch 3: created
    ]
    job = import_job_create(
        upload=csv_upload(["First Name", "Last Name", "Email"], rows), actor=manager
    )
    job = run(job, batch_size=3)
    assert job.status == ImportJob.Status.DONE
    assert (job.processed_rows, job.created_count, job.updated_count) == (7, 3, 2)
    assert list(job.rejections.order_by("line").values_list("line", flat=True)) == [
        4,
        7,
    ]
    assert sorted(Contact.objects.values_list("email", "family_name")) == [
        ("anna@example.com", "Again"),
        ("ben@example.com", "Again"),
        ("dee@example.com", "D"),
    ]


def test_when_the_checking_process_dies_the_import_fails_after_its_last_whole_batch(
    manager, monkeypatch
):
    """The child checking the rows is killed (out of memory, say) at the third batch: the two
    batches before are committed, the job fails with a reason and can be resumed."""
    checked = imports.import_rows_check

    def check_then_die(*, batch, mapping):
        if batch[0].line >= 6:  # the third batch of two rows
            os.kill(os.getpid(), signal.SIGKILL)
        return checked(batch=batch, mapping=mapping)

    rows = [[f"P{i}", "Lee", f"p{i}@example.com"] for i in range(7)]
    job = import_job_create(
        upload=csv_upload(["First Name", "Last Name", "Email"], rows), actor=manager
    )
    monkeypatch.setattr(imports, "import_rows_check", check_then_die)
    job = run(job, batch_size=2, fork=True)
    assert job.status == ImportJob.Status.FAILED
    assert "after 4 rows" in job.error
    assert "checking the rows stopped unexpectedly" in job.error
    assert (job.processed_rows, job.created_count) == (4, 4)
    assert Contact.objects.count() == 4

    monkeypatch.setattr(imports, "import_rows_check", checked)
    import_job_retry(job=job)
    job = run(job, batch_size=2, fork=True)  # what the queued task does
    assert (job.status, job.processed_rows, job.created_count) == ("done", 7, 7)


def test_imported_rows_are_stored_as_the_models_own_save_stores_them(manager):
    """The COPY of new contacts and the UPDATE of known ones write each column as Django's
    save of the same contact would: saving it again changes nothing but ``updated_at``."""
    contact_create(
        given_name="Old",
        email="old@example.com",
        phone="+821011112222",
        timezone="Asia/Seoul",
    )
    header = ["Name", "Email", "Phone", "Country", "Language", "Time Zone"]
    header += ["Birthday", "Company", "Tags", "Lifecycle Stage", "Email Consent"]
    rows = [
        ["홍길동", "Hong@Example.kr", "010-1234-5678", "대한민국", "Korean", "+09:00"],
        ["Ana Silva", "ana@example.com", "+1 650 253 0000", "USA", "en", ""],
        ["Old Again", "OLD@example.com", "", "DE", "", "Europe/Berlin"],
    ]
    rows[0] += ["1985년 3월 15일", "한빛", "vip", "Customer", "yes"]
    rows[1] += ["--02-29", "", "", "", ""]
    rows[2] += ["", "Globex", "x", "", "no"]
    job = run(import_job_create(upload=csv_upload(header, rows), actor=manager))
    assert (job.created_count, job.updated_count, job.rejected_count) == (2, 1, 0)
    columns = [
        str(f.column) for f in Contact._meta.concrete_fields if f.name != "updated_at"
    ]

    def stored(pk):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(columns)} FROM crm_contact WHERE id = %s", [pk]
            )
            return dict(zip(columns, cursor.fetchone(), strict=True))

    for contact in Contact.objects.all():
        imported = stored(contact.pk)
        # The one known difference, older than COPY: an import stores "no time zone" as
        # NULL where the model's save stores "".
        imported["timezone"] = imported["timezone"] or ""
        contact.save()
        assert stored(contact.pk) == imported, contact.email
    hong = stored(Contact.objects.get(email="hong@example.kr").pk)
    assert (hong["phone"], hong["country"], hong["timezone"]) == (
        "+821012345678",
        "KR",
        "Etc/GMT-9",
    )


def test_an_erased_contact_is_not_updated_and_its_row_is_rejected(manager):
    contact = contact_create(given_name="Gone", email="gone@example.com")
    Contact.objects.filter(pk=contact.pk).update(erased_at="2026-01-01T00:00:00Z")
    job = run(
        import_job_create(
            upload=csv_upload(["Name", "Email"], [["New Name", "gone@example.com"]]),
            actor=manager,
        )
    )
    assert job.rejected_count == 1
    assert "erased" in job.rejections.get().reason
    contact.refresh_from_db()
    assert contact.given_name == "Gone"


def _file(rows, prefix):
    header = ["Name", "Email", "Company", "Tags", "Email Consent"]
    data = []
    for i in range(rows):
        if i % 3 == 0:  # an existing contact
            data.append(
                [f"Old P{i}", f"old{i}@example.com", f"{prefix}Co", "vip", "yes"]
            )
        elif i % 7 == 0:  # a bad row
            data.append(["", f"bad{i}", "", "", ""])
        else:
            data.append(
                [
                    f"New P{i}",
                    f"{prefix}{i}@example.com",
                    f"{prefix}Inc",
                    f"{prefix}a;b",
                    "no",
                ]
            )
    return csv_upload(header, data)


def test_a_batch_takes_the_same_number_of_queries_however_many_rows_it_has(manager):
    for i in range(0, 300, 3):
        contact_create(given_name="Old", email=f"old{i}@example.com")

    def count(rows, prefix):
        # Each run brings new companies and tags, updates, creations and rejections.
        job = import_job_create(upload=_file(rows, prefix), actor=manager)
        with CaptureQueriesContext(connection) as ctx:
            job = run(job, batch_size=rows)
        assert min(job.created_count, job.updated_count, job.rejected_count) > 0
        return len(ctx.captured_queries)

    small, large = count(30, "small"), count(300, "large")
    assert small == large
    # Claim and read the job (2). The batch (its transaction is a savepoint here): job lock,
    # contacts by email, write savepoint, companies (2), tags (3), the new contacts' ids,
    # contact INSERT and UPDATE, tag links, consents (read, insert), consent events, audit
    # keys (2), audit entries, release, rejections, cursor, release (22). The job done and
    # the test's refresh (2). (Changing consents that already exist adds one UPDATE.)
    assert large == 27


@pytest.mark.django_db(transaction=True)
def test_a_contact_inserted_concurrently_with_a_batch_becomes_an_update(manager):
    """Another writer inserts the same email after the batch looked it up: the unique email
    constraint refuses the batch's COPY, and the batch is planned again as an update."""
    job = import_job_create(
        upload=csv_upload(
            ["Name", "Email", "Tags"],
            [
                ["Anna Import", "race@example.com", "imported"],
                ["Ben B", "ben@x.com", ""],
            ],
        ),
        actor=manager,
    )
    started, done = threading.Event(), threading.Event()
    errors = []

    def other_writer():
        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(
                    "INSERT INTO crm_contact (given_name, family_name, email, phone, "
                    "country, language, lifecycle_stage, source, attributes, search_text, "
                    "created_at, updated_at) VALUES ('Race', '', 'race@example.com', '', "
                    "'', 'en', 'lead', 'manual', '{}', '', now(), now())"
                )
                started.set()
                # Commit once the import's COPY waits on this row's unique key (the
                # statistics are read afresh: a transaction otherwise keeps its first view).
                for _ in range(200):
                    cursor.execute("SELECT pg_stat_clear_snapshot()")
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                        "'Lock' AND query LIKE 'COPY crm_contact%%'"
                    )
                    if cursor.fetchone()[0]:
                        break
                    threading.Event().wait(0.05)
                cursor.execute("COMMIT")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()
            done.set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    assert started.wait(10)
    job = run(job)
    thread.join(10)
    assert not errors
    assert job.status == ImportJob.Status.DONE, job.error
    assert (job.created_count, job.updated_count, job.rejected_count) == (1, 1, 0)
    race = Contact.objects.get(email="race@example.com")
    assert race.given_name == "Anna"
    assert [t.name for t in race.tags.all()] == ["imported"]
    assert Contact.objects.count() == 2
