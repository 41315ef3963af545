"""Contact imports: CSV/vCard upload → checked rows → contacts, in resumable batches.

An import is an ``ImportJob``: created from an upload with a suggested column mapping, started
by a Manager, then run by a Celery task that commits one batch per transaction and moves a
cursor (``processed_rows``) with it, so a crash loses at most the batch in flight and a rerun
resumes after the last committed one. Every refused row becomes an ``ImportRejection``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.batchwork import can_fork, collector_spares_older, produced_in_child
from crm.importing import (
    VCARD,
    ImportRow,
    MappedRow,
    ParsedFile,
    map_row,
    parse_file,
    suggest_mapping,
    validate_mapping,
)
from crm.importing.files import VCARD_COLUMNS
from crm.models import AuditEntry, Contact, ImportJob, ImportRejection, User
from crm.services.audit import audit_record
from crm.services.exports import csv_lines
from crm.services.imports_bulk import (
    CheckedBatch,
    import_rows_apply,
    import_rows_check,
)

logger = logging.getLogger(__name__)

IMPORT_BATCH_SIZE = 2000
# A RUNNING job whose row has not moved for this long lost its worker and may be claimed again.
IMPORT_STALE_AFTER = dt.timedelta(minutes=10)


# --- Creating and starting -----------------------------------------------------------------


def _read_upload(upload: UploadedFile) -> bytes:
    limit = settings.IMPORT_MAX_BYTES
    too_big = ValidationError(
        {
            "file": _("The file is larger than %(limit)s. Split it into smaller files.")
            % {"limit": filesizeformat(limit)}
        }
    )
    if upload.size is not None and upload.size > limit:
        raise too_big
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise too_big
    return data


@transaction.atomic
def import_job_create(
    *,
    upload: UploadedFile | None,
    actor: User | None,
    encoding: str = "",
    mapping: Mapping[str, Any] | None = None,
) -> ImportJob:
    """Store an uploaded CSV or vCard file as a pending import with its rows counted.

    The type is checked by extension and content and the encoding detected unless given; a
    file we can't read raises ``ValidationError`` naming ``file``. Without a mapping the
    suggested one is stored, for the user to review before starting.
    """
    if upload is None or not getattr(upload, "name", ""):
        raise ValidationError({"file": _("Choose a file to import.")})
    data = _read_upload(upload)
    parsed = parse_file(data, filename=upload.name or "", encoding=encoding)
    total = parsed.count_rows()
    if not total:
        raise ValidationError({"file": _("The file has no rows to import.")})
    cleaned = (
        suggest_mapping(parsed.headers)
        if mapping is None
        else validate_mapping(mapping, parsed.headers)
    )
    extension = PurePath(upload.name or "").suffix.lower()
    job = ImportJob(
        original_name=(upload.name or "")[-255:],
        format=parsed.format,
        encoding=parsed.encoding,
        mapping=cleaned,
        total_rows=total,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    job.file.save(f"{job.public_id}{extension}", ContentFile(data), save=False)
    job.save()
    return job


def _parsed(job: ImportJob) -> ParsedFile:
    with job.file.open("rb") as handle:
        data = handle.read()
    return parse_file(data, filename=job.file.name or "", encoding=job.encoding)


def import_job_columns(*, job: ImportJob) -> list[str]:
    """The file's columns in file order (the stored mapping is JSON: its keys lose that order)."""
    return _parsed(job).headers


def _in_file_order(mapping: Mapping[str, Any], headers: list[str]) -> dict[str, str]:
    """The mapping keyed in column order, which decides which column wins a shared field."""
    return {header: str(mapping.get(header) or "") for header in headers}


@transaction.atomic
def import_job_set_mapping(*, job: ImportJob, mapping: Mapping[str, Any]) -> ImportJob:
    """Change which column goes to which field; only before the import starts."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.PENDING:
        raise ValidationError(
            {"mapping": _("This import has started; its mapping can no longer change.")}
        )
    job.mapping = validate_mapping(mapping, import_job_columns(job=job))
    job.save(update_fields=["mapping", "updated_at"])
    return job


def _queue(job_id: int) -> None:
    from crm.tasks import contact_import_run

    transaction.on_commit(lambda: contact_import_run.delay(job_id))


@transaction.atomic
def import_job_start(*, job: ImportJob) -> ImportJob:
    """Queue a pending import once its mapping names at least one name column."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.PENDING:
        raise ValidationError(_("This import has already started."))
    validate_mapping(job.mapping, list(job.mapping))
    _queue(job.pk)
    audit_record(
        action=AuditEntry.Action.IMPORT,
        actor=job.created_by,
        object_type="crm.importjob",
        object_id=job.pk,
        changes={
            "file": job.original_name,
            "format": job.format,
            "rows": job.total_rows,
        },
    )
    return job


def import_job_submit(
    *,
    upload: UploadedFile | None,
    actor: User | None,
    encoding: str = "",
    mapping: Mapping[str, Any] | None = None,
) -> ImportJob:
    """Create and start an import in one step (the API); a refused one leaves nothing stored."""
    with transaction.atomic():
        job = import_job_create(
            upload=upload, actor=actor, encoding=encoding, mapping=mapping
        )
        try:
            return import_job_start(job=job)
        except ValidationError:
            job.file.delete(save=False)
            raise


@transaction.atomic
def import_job_retry(*, job: ImportJob) -> ImportJob:
    """Resume a failed import (or one whose worker died) after its last committed batch."""
    stale = timezone.now() - IMPORT_STALE_AFTER
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    resumable = job.status == ImportJob.Status.FAILED or (
        job.status == ImportJob.Status.RUNNING and job.updated_at < stale
    )
    if not resumable:
        raise ValidationError(_("Only a failed or stalled import can be resumed."))
    job.status, job.error, job.finished_at = ImportJob.Status.PENDING, "", None
    job.save(update_fields=["status", "error", "finished_at", "updated_at"])
    _queue(job.pk)
    return job


@transaction.atomic
def import_job_delete(*, job: ImportJob) -> None:
    """Forget an import that has not started, with its file."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportJob.Status.PENDING:
        raise ValidationError(_("Only an import that has not started can be deleted."))
    job.file.delete(save=False)
    job.delete()


# --- Preview -------------------------------------------------------------------------------


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _existing_emails(emails: Iterable[str]) -> set[str]:
    wanted = {e for e in emails if e}
    if not wanted:
        return set()
    return set(
        Contact.objects.exclude(email="")
        .annotate(email_ci=Lower("email"))
        .filter(email_ci__in=wanted)
        .values_list("email_ci", flat=True)
    )


def import_preview(
    *, job: ImportJob, rows: int = 10, mapping: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The first ``rows`` rows as they would be imported, each with its errors per field.

    Each item: ``line``, ``values`` (the file's cells), ``fields`` (what would be stored, as
    text), ``errors`` (field → message) and ``action`` (create, update or reject). ``mapping``
    previews a mapping that is not saved yet (the job's own by default).
    """
    parsed = _parsed(job)
    mapping = _in_file_order(
        job.mapping if mapping is None else mapping, parsed.headers
    )
    previews: list[tuple[ImportRow, MappedRow | None]] = []
    for row in itertools.islice(parsed.rows(), rows):
        previews.append((row, None if row.error else map_row(row.values, mapping)))
    existing = _existing_emails(
        str(mapped.fields.get("email", "")) for _row, mapped in previews if mapped
    )
    result = []
    for row, mapped in previews:
        if mapped is None:
            result.append(
                {
                    "line": row.line,
                    "values": row.values,
                    "fields": {},
                    "errors": {"file": row.error},
                    "action": "reject",
                }
            )
            continue
        email = mapped.fields.get("email", "")
        result.append(
            {
                "line": row.line,
                "values": row.values,
                "fields": {k: _display(v) for k, v in mapped.fields.items()},
                "errors": mapped.errors,
                "action": "reject"
                if mapped.errors
                else ("update" if email and email in existing else "create"),
            }
        )
    return result


# --- Running -------------------------------------------------------------------------------


class _Superseded(Exception):
    """Another run of the same job moved its cursor: this one stops without touching it."""


def _claim(job_id: int) -> bool:
    """PENDING → RUNNING (or a stalled RUNNING job) in one conditional UPDATE."""
    now = timezone.now()
    return bool(
        ImportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ImportJob.Status.PENDING)
            | Q(
                status=ImportJob.Status.RUNNING, updated_at__lt=now - IMPORT_STALE_AFTER
            )
        )
        .update(status=ImportJob.Status.RUNNING, error="", updated_at=now)
    )


def _checked_batches(
    rows: Iterator[ImportRow], mapping: dict[str, str], size: int
) -> Iterator[CheckedBatch]:
    """The file's rows in batches of ``size``, each checked (no database)."""
    while batch := list(itertools.islice(rows, size)):
        yield import_rows_check(batch=batch, mapping=mapping)


class _Ahead:
    """The next checked batch, taken from ``source`` ahead of need: ``import_rows_apply``
    calls ``prepare`` while the database indexes a batch's new contacts, so that taking the
    next one (checking it, or reading it from the child that checks) overlaps that. A failure
    to take it is kept for ``take``: the batch being written still commits."""

    def __init__(self, source: Iterator[CheckedBatch]) -> None:
        self.source = source
        self.ahead: CheckedBatch | None = None
        self.failure: Exception | None = None
        self.prepared = False

    def prepare(self) -> None:
        if not self.prepared:
            self.prepared = True
            try:
                self.ahead = next(self.source, None)
            except Exception as exc:
                self.failure = exc

    def take(self) -> CheckedBatch | None:
        """The next batch, taken now unless it already is; None past the last row."""
        self.prepare()
        if self.failure is not None:
            raise self.failure
        batch, self.ahead, self.prepared = self.ahead, None, False
        return batch


def import_job_run(
    *, job_id: int, batch_size: int = IMPORT_BATCH_SIZE, fork: bool | None = None
) -> ImportJob | None:
    """Run an import: claim it, then upsert its rows batch by batch after the cursor.

    A row is matched to a contact by email (case-insensitive) and updated with its non-empty
    fields, otherwise created with source "import"; a row that fails a check is rejected with
    its line and reason. Each batch is one transaction together with the cursor and counts, so
    a failure leaves no half-written batch. Returns None when the job was not claimable (a
    second run of the task, or a finished job).

    The rows are read and checked in a forked child process where that is safe
    (``crm.batchwork``), ahead of the batches this process writes; ``fork`` forces the choice.
    """
    if not _claim(job_id):
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    actor = job.created_by
    language = (actor.language if actor else "") or settings.LANGUAGE_CODE
    with translation.override(language):
        try:
            parsed = _parsed(job)
            mapping = _in_file_order(job.mapping, parsed.headers)
            rows = itertools.islice(parsed.rows(), job.processed_rows, None)
            # The rows are checked in a child process while this one writes the batches.
            fork = can_fork() if fork is None else fork
            logger.info(
                "Import %s: rows checked %s",
                job.pk,
                "in a child process" if fork else "in the writing process",
            )
            with (
                collector_spares_older(),
                produced_in_child(
                    _checked_batches(rows, mapping, batch_size), fork=fork
                ) as checked,
            ):
                batches = _Ahead(checked)
                while batch := batches.take():
                    _run_batch(job, batch, actor, meanwhile=batches.prepare)
        except _Superseded:
            return None
        except Exception as exc:
            logger.exception(
                "Import %s failed after %s rows", job.pk, job.processed_rows
            )
            message = _("The import stopped after %(rows)s rows: %(error)s") % {
                "rows": job.processed_rows,
                "error": exc,
            }
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.FAILED,
                error=message,
                finished_at=timezone.now(),
                updated_at=timezone.now(),
            )
            job.refresh_from_db()
            return job
    job.status, job.finished_at = ImportJob.Status.DONE, timezone.now()
    job.save(update_fields=["status", "finished_at", "updated_at"])
    return job


def _run_batch(
    job: ImportJob,
    batch: CheckedBatch,
    actor: User | None,
    *,
    meanwhile: Callable[[], None],
) -> None:
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if (
            locked.status != ImportJob.Status.RUNNING
            or locked.processed_rows != job.processed_rows
        ):
            raise _Superseded
        # Set-based: a fixed number of queries per batch (crm.services.imports_bulk).
        result = import_rows_apply(
            job=job, batch=batch, actor=actor, meanwhile=meanwhile
        )
        rejections, created, updated = (
            result.rejections,
            result.created,
            result.updated,
        )
        ImportRejection.objects.bulk_create(rejections)
        locked.processed_rows += len(batch.rows)
        locked.created_count += created
        locked.updated_count += updated
        locked.rejected_count += len(rejections)
        locked.save(
            update_fields=[
                "processed_rows",
                "created_count",
                "updated_count",
                "rejected_count",
                "updated_at",
            ]
        )
    # Only once the batch is committed does this run's copy move on.
    job.processed_rows, job.created_count = locked.processed_rows, locked.created_count
    job.updated_count, job.rejected_count = locked.updated_count, locked.rejected_count


# --- Report --------------------------------------------------------------------------------


def import_report_csv(*, job: ImportJob) -> Iterator[str]:
    """Every rejected row: its line, the reason, then the row's own columns (fix and re-import)."""
    # A vCard that could not be read is kept whole under "vcard".
    columns = (
        [*VCARD_COLUMNS, "vcard"]
        if job.format == VCARD
        else import_job_columns(job=job)
    )
    rejections = job.rejections.order_by("line", "pk").iterator(chunk_size=2000)
    rows = (
        [r.line, r.reason, *[r.data.get(c, "") for c in columns]] for r in rejections
    )
    return csv_lines([_("line"), _("reason"), *columns], rows)
