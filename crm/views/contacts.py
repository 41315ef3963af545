"""Staff pages for contacts: the list, the form, the contact page with its timeline and inline
forms, deletion, duplicates and merging. Views parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from crm import hooks, selectors, services
from crm.forms import (
    FILTER_LABELS,
    BulkAssignForm,
    BulkTagForm,
    ContactFilterForm,
    ContactForm,
    InteractionForm,
    PurchaseForm,
    SegmentForm,
    TaskForm,
    add_service_errors,
    contact_filter_params,
    contact_ids,
)
from crm.models import Contact
from crm.pagination import KeysetPage, keyset_paginate
from crm.permissions import AuthenticatedRequest, manager_required, staff_required
from crm.roles import MANAGER_ROLES, role_of
from crm.selectors_audit import consent_history
from crm.services.audit_events import contact_view_record
from crm.timeline import TIMELINE_KINDS, TimelineEntry, contact_timeline

TIMELINE_PAGE = 20
CONSENT_HISTORY_PAGE = 50


# --- Helpers ---------------------------------------------------------------------------------


def is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """Full page and HTMX fragment share a URL: caches must keep them apart."""
    from django.utils.cache import patch_vary_headers

    patch_vary_headers(response, ["HX-Request"])
    return response


def _is_manager(request: AuthenticatedRequest) -> bool:
    return role_of(request.user) in MANAGER_ROLES


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _contact(request: AuthenticatedRequest, pk: int) -> Contact:
    try:
        return selectors.contact_detail(user=request.user, contact_id=pk)
    except Contact.DoesNotExist:
        raise Http404(_("No such contact.")) from None


def _filter_messages(error: ValidationError) -> list[str]:
    """A selector error as sentences that name the filter: “Lifecycle stage: Unknown …”."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    return [
        f"{FILTER_LABELS.get(name, name)}: {message}"
        for name, items in error.message_dict.items()
        for message in items
    ]


# --- Contact list ----------------------------------------------------------------------------


@staff_required
def contacts(request: AuthenticatedRequest) -> HttpResponse:
    """Search, filter and sort every contact, page by keyset; HTMX swaps just the results."""
    form = ContactFilterForm(request.GET)
    form.is_valid()  # fills cleaned_data; only the selector judges the values
    params = form.filter_params()
    errors: list[str] = []
    page = KeysetPage()
    try:
        ordering = selectors.contact_ordering(
            request.GET.get("ordering"), searching=bool(params.get("q"))
        )
        queryset = selectors.contact_list(user=request.user, params=params)
        page = keyset_paginate(
            queryset, ordering=ordering, cursor=request.GET.get("cursor")
        )
    except ValidationError as error:
        errors = _filter_messages(error)
        if hasattr(error, "error_dict"):
            for name, items in error.message_dict.items():
                if name in form.fields:
                    form.add_error(name, items)
    context = {
        "form": form,
        "page": page,
        "filter_errors": errors,
        "filtered": bool(params),
        "filter_items": [(n, v) for n, values in params.items() for v in values],
        "any_contacts": bool(page.object_list) or Contact.objects.exists(),
        "is_manager": _is_manager(request),
        "segment_form": SegmentForm(),
        "bulk_tag_form": BulkTagForm(),
        "bulk_assign_form": BulkAssignForm() if _is_manager(request) else None,
    }
    template = (
        "crm/contacts/_results.html" if is_htmx(request) else "crm/contacts/list.html"
    )
    return vary_on_htmx(render(request, template, context))


@require_POST
@staff_required
def contacts_bulk(request: AuthenticatedRequest) -> HttpResponse:
    """Add tags to (any staff) or assign an owner to (managers) the checked contacts."""
    back = _safe_next(request, reverse("crm:contacts"))
    ids = contact_ids(request.POST.getlist("ids"))
    action = request.POST.get("action")
    if action == "assign" and not _is_manager(request):
        raise PermissionDenied
    if not ids:
        messages.error(request, _("Tick at least one contact first."))
        return redirect(back)
    try:
        if action == "assign":
            assign = BulkAssignForm(request.POST)
            if not assign.is_valid():
                raise ValidationError({"owner": assign.errors["owner"]})
            count = services.contacts_bulk_assign(
                contact_ids=ids, owner=assign.cleaned_data["owner"]
            )
            messages.success(
                request,
                ngettext(
                    "%(count)d contact now belongs to %(owner)s.",
                    "%(count)d contacts now belong to %(owner)s.",
                    count,
                )
                % {"count": count, "owner": assign.cleaned_data["owner"].display_name},
            )
        else:
            tag = BulkTagForm(request.POST)
            if not tag.is_valid():
                raise ValidationError({"tags": tag.errors["tags"]})
            count = services.contacts_bulk_tag(
                contact_ids=ids, tag_names=tag.tag_names()
            )
            messages.success(
                request,
                ngettext(
                    "Tagged %(count)d contact.", "Tagged %(count)d contacts.", count
                )
                % {"count": count},
            )
    except ValidationError as error:
        labels = {"tags": _("Tags"), "owner": _("Owner")}
        for name, items in error.message_dict.items():
            messages.error(request, f"{labels.get(name, name)}: {' '.join(items)}")
    return redirect(back)


@require_POST
@staff_required
def segment_save(request: AuthenticatedRequest) -> HttpResponse:
    """Save the list's current filters as a named segment and show its live count."""
    form = SegmentForm(request.POST)
    filters = contact_filter_params(request.POST)
    segment = None
    if form.is_valid():
        try:
            segment = services.segment_create(
                name=form.cleaned_data["name"],
                filters=filters,
                created_by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
    count = (
        selectors.segment_count(segment=segment, user=request.user) if segment else 0
    )
    if is_htmx(request):
        return render(
            request,
            "crm/contacts/_segment_box.html",
            {
                "segment_form": form,
                "segment": segment,
                "segment_count": count,
                "filter_items": [
                    (n, v) for n, values in filters.items() for v in values
                ],
            },
        )
    if segment is None:
        for message in [*form.errors.get("name", []), *form.non_field_errors()]:
            messages.error(request, str(message))
        return redirect(_safe_next(request, reverse("crm:contacts")))
    messages.success(
        request,
        ngettext(
            "Segment “%(name)s” saved: %(count)d contact right now.",
            "Segment “%(name)s” saved: %(count)d contacts right now.",
            count,
        )
        % {"name": segment.name, "count": count},
    )
    return redirect(f"{reverse('crm:contacts')}?segment={segment.pk}")


# --- Create and edit -------------------------------------------------------------------------


def _contact_form(
    request: AuthenticatedRequest, contact: Contact | None
) -> HttpResponse:
    form = ContactForm(
        request.POST or None,
        actor=request.user,
        contact=contact,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    if request.method == "POST" and form.is_valid() and (saved := form.save()):
        if contact is None:
            messages.success(request, _("Contact created."))
        else:
            messages.success(request, _("Changes saved."))
        return redirect(saved)
    return render(request, "crm/contacts/form.html", {"form": form, "contact": contact})


@staff_required
def contact_create(request: AuthenticatedRequest) -> HttpResponse:
    return _contact_form(request, None)


@staff_required
def contact_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _contact_form(request, _contact(request, pk))


# --- The contact page ------------------------------------------------------------------------


def _kinds(request: HttpRequest) -> set[str] | None:
    kinds = {
        kind
        for value in request.GET.getlist("kind")
        for kind in value.split(",")
        if kind.strip()
    }
    return kinds or None


def _timeline_context(
    request: HttpRequest, contact: Contact, *, use_query: bool = True
) -> dict[str, Any]:
    """The timeline's entries (newest first), its kind chips and the "Load more" cursor."""
    kinds = _kinds(request) if use_query else None
    before = None
    if use_query and (raw := request.GET.get("before")):
        try:
            before = parse_datetime(raw)
        except (
            ValueError
        ):  # well-formed but impossible, e.g. month 13: start at the top
            before = None
    entries: list[TimelineEntry] = contact_timeline(
        contact_id=contact.pk, kinds=kinds, before=before, limit=TIMELINE_PAGE
    )
    next_before = (
        entries[-1].occurred_at.isoformat() if len(entries) == TIMELINE_PAGE else None
    )
    chosen = kinds or set()
    chips = []
    for kind, label in TIMELINE_KINDS.items():
        toggled = chosen ^ {kind}
        chips.append(
            {
                "kind": kind,
                "label": label,
                "active": kind in chosen,
                "query": ",".join(sorted(toggled)),
            }
        )
    return {
        "entries": entries,
        "next_before": next_before,
        "chips": chips,
        "kind_query": ",".join(sorted(chosen)),
        "before": before,
    }


def _composer_forms(request: AuthenticatedRequest, **bound: Any) -> dict[str, Any]:
    return {
        "interaction_form": bound.get("interaction_form") or InteractionForm(),
        "purchase_form": bound.get("purchase_form") or PurchaseForm(),
        "task_form": bound.get("task_form") or TaskForm(assignee=request.user),
    }


def _panels(request: AuthenticatedRequest, contact: Contact) -> list[dict[str, Any]]:
    """Other apps' panels for the contact page (loyalty…), through crm's registry."""
    panels = [
        panel
        for function in hooks.contact_page_panels
        if (panel := function(request=request, contact=contact))
    ]
    return sorted(panels, key=lambda panel: panel.get("order", 100))


@staff_required
def contact_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Profile, timeline, and inline forms to log an interaction, a purchase or a task."""
    contact = _contact(request, pk)
    contact_view_record(request=request, contact_id=contact.pk)
    return render(
        request,
        "crm/contacts/detail.html",
        {
            "contact": contact,
            "consent_history": consent_history(contact_id=contact.pk)[
                :CONSENT_HISTORY_PAGE
            ],
            "is_manager": _is_manager(request),
            "panels": _panels(request, contact),
            **_timeline_context(request, contact),
            **_composer_forms(request),
        },
    )


@staff_required
def timeline_entries(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """HTMX: the timeline for the kind chips, or its next entries for "Load more"."""
    contact = _contact(request, pk)
    if not is_htmx(request):
        query = request.GET.urlencode()
        return redirect(f"{contact.get_absolute_url()}{'?' + query if query else ''}")
    context = {"contact": contact, **_timeline_context(request, contact)}
    template = (
        "crm/contacts/_timeline_more.html"
        if request.GET.get("before")
        else "crm/contacts/_timeline.html"
    )
    return vary_on_htmx(render(request, template, context))


def _inline_saved(
    request: AuthenticatedRequest,
    contact: Contact,
    *,
    form_name: str,
    notice: str,
    highlight: tuple[str, int],
    profile: bool = False,
) -> HttpResponse:
    """After an inline form succeeds: the refreshed timeline (the new entry marked), a fresh
    empty form and, when the profile changed (a purchase), the profile card, out of band."""
    if profile:
        contact = _contact(request, contact.pk)
    context = {
        "contact": contact,
        "highlight": f"{highlight[0]}-{highlight[1]}",
        "notice": notice,
        "oob_form": form_name,
        "oob_profile": profile,
        "is_manager": _is_manager(request),
        **_timeline_context(request, contact, use_query=False),
        **_composer_forms(request),
    }
    return render(request, "crm/contacts/_inline_saved.html", context)


def _inline_failed(
    request: AuthenticatedRequest, contact: Contact, form_name: str, form: Any
) -> HttpResponse:
    """A form with errors: HTMX swaps it in place; without JavaScript, the whole page again."""
    if is_htmx(request):
        response = render(
            request,
            f"crm/contacts/_{form_name}_form.html",
            {"contact": contact, f"{form_name}_form": form},
        )
        return reswap(retarget(response, f"#{form_name}-form"), "outerHTML")
    return render(
        request,
        "crm/contacts/detail.html",
        {
            "contact": contact,
            "is_manager": _is_manager(request),
            "open_form": form_name,
            "panels": _panels(request, contact),
            **_timeline_context(request, contact, use_query=False),
            **_composer_forms(request, **{f"{form_name}_form": form}),
        },
    )


@require_POST
@staff_required
def interaction_log(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    form = InteractionForm(request.POST)
    if form.is_valid() and (
        interaction := form.save(contact=contact, author=request.user)
    ):
        if not is_htmx(request):
            messages.success(request, _("Interaction logged."))
            return redirect(contact)
        return _inline_saved(
            request,
            contact,
            form_name="interaction",
            notice=_("Interaction logged."),
            highlight=(interaction.kind, interaction.pk),
        )
    return _inline_failed(request, contact, "interaction", form)


@require_POST
@staff_required
def purchase_record(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    form = PurchaseForm(request.POST)
    if form.is_valid() and (result := form.save(contact=contact, actor=request.user)):
        purchase, created = result
        notice = (
            _("Purchase recorded.")
            if created
            else _("This order number was already recorded; nothing changed.")
        )
        if not is_htmx(request):
            (messages.success if created else messages.info)(request, notice)
            return redirect(contact)
        return _inline_saved(
            request,
            contact,
            form_name="purchase",
            notice=notice,
            highlight=("purchase", purchase.pk),
            profile=True,
        )
    return _inline_failed(request, contact, "purchase", form)


@require_POST
@staff_required
def task_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    form = TaskForm(request.POST, assignee=request.user)
    if form.is_valid() and (
        task := form.save(contact=contact, created_by=request.user)
    ):
        if not is_htmx(request):
            messages.success(request, _("Task added."))
            return redirect(contact)
        return _inline_saved(
            request,
            contact,
            form_name="task",
            notice=_("Task added."),
            highlight=("task", task.pk),
        )
    return _inline_failed(request, contact, "task", form)


@manager_required
def contact_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Confirm, then delete; a contact with purchases is refused with the service's reason."""
    contact = _contact(request, pk)
    error = None
    if request.method == "GET" and contact.purchases.exists():
        # Say so before the click; on POST the service decides (and says the same).
        error = _(
            "This contact has purchases, which the accounts and metrics need. Merge or archive the contact instead."
        )
    if request.method == "POST":
        try:
            services.contact_delete(contact=contact)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _("%(name)s was deleted.") % {"name": contact.display_name},
            )
            return redirect("crm:contacts")
    return render(
        request,
        "crm/contacts/delete.html",
        {"contact": contact, "error": error},
        status=400 if error and request.method == "POST" else 200,
    )


# --- Duplicates and merging (managers) -------------------------------------------------------


@manager_required
def duplicates(request: AuthenticatedRequest) -> HttpResponse:
    """Likely duplicate pairs, each with the reason, and a link to compare and merge them."""
    pairs = selectors.duplicate_candidates(user=request.user)
    return render(request, "crm/contacts/duplicates.html", {"pairs": pairs})


def _pick(request: AuthenticatedRequest, name: str) -> Contact | None:
    value = request.POST.get(name) or request.GET.get(name) or ""
    if not value.isdigit():
        return None
    try:
        return selectors.contact_detail(user=request.user, contact_id=int(value))
    except Contact.DoesNotExist:
        raise Http404(_("No such contact.")) from None


def _merge_facts(contact: Contact) -> dict[str, int]:
    return {
        "interactions": contact.interactions.count(),
        "purchases": contact.purchases.count(),
        "tasks": contact.tasks.count(),
    }


@manager_required
def merge(request: AuthenticatedRequest) -> HttpResponse:
    """Compare two contacts side by side, choose the one that stays, and merge.

    With only ``a`` given, search for the second contact first.
    """
    first, second = _pick(request, "a"), _pick(request, "b")
    if first is None:
        return redirect("crm:duplicates")
    if second is None or second.pk == first.pk:
        query = request.GET.get("q", "").strip()
        results: list[Contact] = []
        if query:
            results = list(
                selectors.contact_list(user=request.user, params={"q": [query]})
                .exclude(pk=first.pk)
                .order_by("family_name", "given_name", "id")[:10]
            )
        return render(
            request,
            "crm/contacts/merge_pick.html",
            {"first": first, "query": query, "results": results},
        )
    error = None
    if request.method == "POST":
        survivor_id = request.POST.get("survivor", "")
        if survivor_id not in (str(first.pk), str(second.pk)):
            error = _("Choose which contact to keep.")
        else:
            survivor, merged = (
                (first, second) if survivor_id == str(first.pk) else (second, first)
            )
            try:
                services.contact_merge(
                    survivor=survivor, merged=merged, actor=request.user
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                messages.success(
                    request,
                    _("%(merged)s was merged into %(survivor)s.")
                    % {
                        "merged": merged.display_name,
                        "survivor": survivor.display_name,
                    },
                )
                return redirect(survivor)
    return render(
        request,
        "crm/contacts/merge.html",
        {
            "pair": [
                {"contact": first, "facts": _merge_facts(first)},
                {"contact": second, "facts": _merge_facts(second)},
            ],
            "error": error,
            "survivor": request.POST.get("survivor", str(first.pk)),
        },
        status=400 if error else 200,
    )
