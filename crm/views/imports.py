"""The contact import wizard (upload → map columns → progress → report) and exports, for Managers."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.importing import ENCODING_CHOICES, FIELDS
from crm.models import Contact, ImportJob
from crm.permissions import AuthenticatedRequest, manager_required
from crm.services.audit_events import export_record

PREVIEW_ROWS = 10


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".csv,.txt,.vcf,.vcard,text/csv,text/vcard"}
        ),
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("Encoding"),
        choices=ENCODING_CHOICES,
        required=False,
        help_text=gettext_lazy(
            "Leave on “Detect automatically” unless names come out garbled."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (.csv, .txt; comma, semicolon or tab separated) or vCard (.vcf), up to %(size)s."
        ) % {"size": filesizeformat(settings.IMPORT_MAX_BYTES)}


class ImportMappingForm(forms.Form):
    """One select per column of the file, named ``column_<n>`` (headers can be any text)."""

    def __init__(
        self, columns: list[str], mapping: dict[str, str], *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        choices = [("", gettext_lazy("Ignore this column")), *FIELDS.items()]
        for index, column in enumerate(columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column,
                choices=choices,
                required=False,
                initial=mapping.get(column, ""),
            )

    def mapping(self) -> dict[str, str]:
        return {
            column: self.cleaned_data.get(f"column_{index}") or ""
            for index, column in enumerate(self.columns)
        }


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _is_htmx(request: AuthenticatedRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@manager_required
def import_upload(request: AuthenticatedRequest) -> HttpResponse:
    """Step 1: choose a file (and, if detection fails, its encoding)."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(
                upload=form.cleaned_data["file"],
                actor=request.user,
                encoding=form.cleaned_data["encoding"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("crm:import_mapping", job.public_id)
    return render(
        request,
        "crm/imports/upload.html",
        {"form": form, "step": 1},
    )


@manager_required
def import_mapping(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Step 2: one select per column, pre-filled with the suggestions, and a preview of the
    first rows with their errors. A select change re-renders the preview (HTMX)."""
    job = get_object_or_404(ImportJob, public_id=public_id)
    if job.status != ImportJob.Status.PENDING:
        return redirect("crm:import_progress", job.public_id)
    columns = services.import_job_columns(job=job)
    form = ImportMappingForm(columns, job.mapping, data=request.POST or None)
    mapping = job.mapping
    if request.method == "POST" and form.is_valid():
        mapping = form.mapping()
        try:
            job = services.import_job_set_mapping(job=job, mapping=mapping)
            if "start" in request.POST:
                services.import_job_start(job=job)
                return redirect("crm:import_progress", job.public_id)
        except ValidationError as exc:
            _add_errors(form, exc)
    preview = services.import_preview(job=job, rows=PREVIEW_ROWS, mapping=mapping)
    shown = [f for f in FIELDS if f in mapping.values() and f != "full_name"]
    if (
        "full_name" in mapping.values()
    ):  # a full name is shown split, as it will be stored
        shown = sorted({*shown, "given_name", "family_name"}, key=list(FIELDS).index)
    for item in preview:
        item["cells"] = [item["fields"].get(f, "") for f in shown]
        item["error_list"] = [
            (FIELDS.get(name, gettext_lazy("File")), message)
            for name, message in item["errors"].items()
        ]
    context = {
        "job": job,
        "form": form,
        "rows": _mapping_rows(form, preview),
        "preview": preview,
        "preview_fields": [(f, FIELDS[f]) for f in shown],
        "step": 2,
    }
    if _is_htmx(request):
        return render(request, "crm/imports/_preview.html", context)
    return render(request, "crm/imports/mapping.html", context)


def _mapping_rows(
    form: ImportMappingForm, preview: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each column with its select and a few sample values from the preview rows."""
    rows = []
    for index, column in enumerate(form.columns):
        samples = [
            value for item in preview if (value := item["values"].get(column, ""))
        ][:3]
        rows.append(
            {"column": column, "field": form[f"column_{index}"], "samples": samples}
        )
    return rows


@never_cache
@manager_required
def import_progress(
    request: AuthenticatedRequest, public_id: uuid.UUID
) -> HttpResponse:
    """Step 3: the progress bar (polled every second while running), then the summary."""
    job = get_object_or_404(
        ImportJob.objects.select_related("created_by"), public_id=public_id
    )
    template = (
        "crm/imports/_progress.html"
        if _is_htmx(request)
        else "crm/imports/progress.html"
    )
    return render(request, template, {"job": job, "step": 3})


@require_POST
@manager_required
def import_retry(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    job = get_object_or_404(ImportJob, public_id=public_id)
    try:
        services.import_job_retry(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The import resumes after the last saved batch."))
    return redirect("crm:import_progress", job.public_id)


@manager_required
def import_report(request: AuthenticatedRequest, public_id: uuid.UUID) -> HttpResponse:
    """Every rejected row as CSV: line, reason, then the row as it was in the file."""
    job = get_object_or_404(ImportJob, public_id=public_id)
    return _download(
        services.import_report_csv(job=job),
        "text/csv; charset=utf-8",
        f"import-{timezone.localdate(job.created_at):%Y%m%d}-rejected-rows.csv",
    )


@manager_required
def import_list(request: AuthenticatedRequest) -> HttpResponse:
    """Past imports, newest first."""
    jobs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    return render(request, "crm/imports/list.html", {"page": page})


def _download(body: Any, content_type: str, filename: str) -> HttpResponse:
    """A streamed attachment: rows are produced as the client reads, so memory stays flat."""
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    # role_required types views as returning HttpResponse; a streaming one serves the same.
    return cast(HttpResponse, response)


def _export(request: AuthenticatedRequest, kind: str) -> HttpResponse:
    try:
        queryset = selectors.contact_filter(
            Contact.objects.visible_to(request.user),
            request.GET,  # the contact list's filters: q, country, tag, owner…
            user=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("crm:contacts")
    stamp = f"{timezone.localdate():%Y%m%d}"
    export_record(
        request=request,
        what="crm.contact",
        file_format=kind,
        filters=dict(request.GET.lists()),
    )
    if kind == "vcard":
        return _download(
            services.contacts_export_vcard(queryset=queryset),
            "text/vcard; charset=utf-8",
            f"contacts-{stamp}.vcf",
        )
    return _download(
        services.contacts_export_csv(queryset=queryset),
        "text/csv; charset=utf-8",
        f"contacts-{stamp}.csv",
    )


@manager_required
def export_csv(request: AuthenticatedRequest) -> HttpResponse:
    """The contacts matching the list's filters (same query string) as CSV."""
    return _export(request, "csv")


@manager_required
def export_vcard(request: AuthenticatedRequest) -> HttpResponse:
    """The contacts matching the list's filters (same query string) as vCard 4.0."""
    return _export(request, "vcard")
