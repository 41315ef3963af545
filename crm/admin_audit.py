"""Admin and the audit log: every admin change is recorded (``AuditedAdminMixin``, applied to
every ModelAdmin by ``RapportAdminSite.register``), the log itself is browsed read-only by
admins, and the consent ledger is listed beside it."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.forms import BaseFormSet, BaseModelForm
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.models import AuditEntry, ConsentEvent, Contact, User
from crm.roles import AUDIT_LOG_ROLES, role_of
from crm.selectors_audit import audit_unseal_many
from crm.services.audit import audit_record

# Field names whose values are never written to the log, only the fact that they changed.
SECRET_FIELD = re.compile(r"pass|token|secret|key|code|otp|hash|sesame", re.I)
MASK = "********"


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a form or model value (rows become their ids)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, QuerySet | list | tuple | set):
        items = [_plain(v) for v in value]
        return sorted(items, key=str)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if hasattr(value, "name") and hasattr(value, "url"):  # a stored file
        return value.name or ""
    return str(value)


def _masked(name: str, value: Any) -> Any:
    return MASK if SECRET_FIELD.search(name) and value not in (None, "") else value


def _diff(
    names: Iterable[str], before: dict[str, Any], after: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "before": _masked(name, _plain(before.get(name))),
            "after": _masked(name, _plain(after.get(name))),
        }
        for name in names
    }


def _snapshot(obj: models.Model) -> dict[str, dict[str, Any]]:
    """Every stored field of a row about to go, as ``before`` values."""
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    return {
        name: {"before": _masked(name, _plain(value)), "after": None}
        for name, value in values.items()
    }


def contact_id_of(obj: models.Model) -> int | None:
    """The contact a row is, or belongs to (directly or through one parent), if any."""
    if isinstance(obj, Contact):
        return obj.pk
    if isinstance(obj, User):
        return (
            Contact.objects.filter(user_id=obj.pk).values_list("pk", flat=True).first()
        )
    for field in obj._meta.concrete_fields:
        if not field.many_to_one or field.related_model is None:
            continue
        value = getattr(obj, field.attname)
        if value is None:
            continue
        if field.related_model is Contact:
            return int(value)
        parent = field.related_model
        if any(
            f.many_to_one and f.related_model is Contact
            for f in parent._meta.concrete_fields
            if f.name == "contact"
        ):
            found = (
                parent._default_manager.filter(pk=value)
                .values_list("contact_id", flat=True)
                .first()
            )
            if found is not None:
                return int(found)
    return None


def admin_change_record(
    *,
    request: HttpRequest,
    action: str,
    obj: models.Model,
    fields: dict[str, Any],
    contact_id: int | None = None,
    object_id: Any = None,
) -> None:
    """One ADMIN_* entry; values about a contact are sealed, only field names stay in clear."""
    if contact_id is None:
        contact_id = contact_id_of(obj)
    meta = obj._meta
    common: dict[str, Any] = {
        "action": action,
        "request": request,
        "object_type": f"{meta.app_label}.{meta.model_name}",
        "object_id": obj.pk if object_id is None else object_id,
    }
    if contact_id is not None:
        audit_record(
            **common,
            contact_id=contact_id,
            changes={"fields": sorted(fields)},
            sealed={"fields": fields, "object": str(obj)},
        )
    else:
        audit_record(**common, changes={"fields": fields, "object": str(obj)})


class AuditedAdminMixin:
    """Records additions, changes (with before/after of the changed fields) and deletions,
    single or in bulk, including inline rows. Secrets are masked, never logged."""

    def save_model(
        self, request: HttpRequest, obj: Any, form: BaseModelForm, change: bool
    ) -> None:
        names = list(form.changed_data)
        before = {name: form.initial.get(name) for name in names}
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        after = {name: form.cleaned_data.get(name) for name in names}
        request._audit_admin_saved = True  # type: ignore[attr-defined]
        admin_change_record(
            request=request,
            action=AuditEntry.Action.ADMIN_CHANGE
            if change
            else AuditEntry.Action.ADMIN_ADD,
            obj=obj,
            fields=_diff(names, before if change else {}, after),
        )

    def save_formset(
        self, request: HttpRequest, form: Any, formset: BaseFormSet, change: bool
    ) -> None:
        deleted: list[tuple[models.Model, dict[str, Any], int | None, Any]] = []
        saved: list[tuple[Any, list[str], dict[str, Any], bool]] = []
        for inline in formset.forms:
            if not hasattr(inline, "cleaned_data"):
                continue
            instance = inline.instance
            if formset.can_delete and formset._should_delete_form(inline):  # type: ignore[attr-defined]
                if instance.pk is not None:
                    deleted.append(
                        (
                            instance,
                            _snapshot(instance),
                            contact_id_of(instance),
                            instance.pk,
                        )
                    )
                continue
            if inline.has_changed():
                names = list(inline.changed_data)
                before = {name: inline.initial.get(name) for name in names}
                saved.append((inline, names, before, instance.pk is not None))
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for instance, fields, contact_id, pk in deleted:
            admin_change_record(
                request=request,
                action=AuditEntry.Action.ADMIN_DELETE,
                obj=instance,
                fields=fields,
                contact_id=contact_id,
                object_id=pk,
            )
        for inline, names, before, existed in saved:
            after = {name: inline.cleaned_data.get(name) for name in names}
            admin_change_record(
                request=request,
                action=AuditEntry.Action.ADMIN_CHANGE
                if existed
                else AuditEntry.Action.ADMIN_ADD,
                obj=inline.instance,
                fields=_diff(names, before if existed else {}, after),
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        fields, contact_id, pk = _snapshot(obj), contact_id_of(obj), obj.pk
        super().delete_model(request, obj)  # type: ignore[misc]
        admin_change_record(
            request=request,
            action=AuditEntry.Action.ADMIN_DELETE,
            obj=obj,
            fields=fields,
            contact_id=contact_id,
            object_id=pk,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        gone = [(obj, _snapshot(obj), contact_id_of(obj), obj.pk) for obj in queryset]
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        for obj, fields, contact_id, pk in gone:
            admin_change_record(
                request=request,
                action=AuditEntry.Action.ADMIN_DELETE,
                obj=obj,
                fields=fields,
                contact_id=contact_id,
                object_id=pk,
            )

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        # Changes made outside save_model (e.g. the user admin's password form): record the
        # names of what changed, which is all the change message holds.
        if not getattr(request, "_audit_admin_saved", False):
            summary = json.loads(json.dumps(message, default=str)) if message else []
            admin_change_record(
                request=request,
                action=AuditEntry.Action.ADMIN_CHANGE,
                obj=obj,
                fields={"summary": summary},
            )
        return super().log_change(request, obj, message)  # type: ignore[misc]


def audited(admin_class: type[admin.ModelAdmin[Any]]) -> type[admin.ModelAdmin[Any]]:
    """``admin_class`` with ``AuditedAdminMixin`` in front (itself if it already has it)."""
    if issubclass(admin_class, AuditedAdminMixin):
        return admin_class
    return type(
        admin_class.__name__,
        (AuditedAdminMixin, admin_class),
        {
            "__module__": admin_class.__module__,
            "__qualname__": admin_class.__qualname__,
            "__doc__": admin_class.__doc__,
        },
    )


# --- The audit log and the consent ledger, read-only ------------------------------------------


class ReadOnlyLogAdmin(admin.ModelAdmin[Any]):
    """Logs are written by the services only: nobody adds, changes or deletes rows here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyLogAdmin):
    """The audit log, for admins only; sealed values shown unsealed (or as erased)."""

    list_display = [
        "at",
        "action",
        "actor_label",
        "actor_id",
        "ip_address",
        "object_type",
        "object_id",
        "contact_id",
    ]
    list_filter = ["action", ("at", admin.DateFieldListFilter), "object_type"]
    date_hierarchy = "at"
    search_fields = ["actor_label", "=actor_id", "=object_id", "=contact_id"]
    show_full_result_count = False
    readonly_fields = [
        "at",
        "action",
        "actor_id",
        "actor_label",
        "ip_address",
        "path",
        "object_type",
        "object_id",
        "contact_id",
        "changes_display",
        "sealed_display",
    ]
    fields = readonly_fields  # type: ignore[assignment]  # (same list, stubs too narrow)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return role_of(request.user) in AUDIT_LOG_ROLES

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.display(description=_("changes"))
    def changes_display(self, obj: AuditEntry) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.changes, indent=2, ensure_ascii=False)
        )

    @admin.display(description=_("sealed values"))
    def sealed_display(self, obj: AuditEntry) -> str:
        if not obj.sealed:
            return "—"
        values = audit_unseal_many([obj]).get(obj.pk)
        if values is None:
            return str(_("erased"))
        return format_html(
            "<pre>{}</pre>", json.dumps(values, indent=2, ensure_ascii=False)
        )


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyLogAdmin):
    """The consent ledger: every change of every contact's consent, newest first."""

    list_display = [
        "at",
        "contact",
        "purpose",
        "granted",
        "source",
        "wording_version",
        "actor",
    ]
    list_filter = ["purpose", "granted", "source", "wording_version", "at"]
    search_fields = ["=contact__id", "contact__email"]
    list_select_related = ["contact", "actor"]
    raw_id_fields = ["contact", "actor"]
    date_hierarchy = "at"


class ConsentEventInline(admin.TabularInline[Any, Any]):
    """The contact's consent history on its admin page (read-only)."""

    model = ConsentEvent
    fk_name = "contact"
    extra = 0
    readonly_fields = [
        "at",
        "purpose",
        "granted",
        "source",
        "wording_version",
        "actor",
    ]
    fields = readonly_fields  # type: ignore[assignment]  # (same list, stubs too narrow)
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
