"""Reads of the crm app, scoped to what the asking user may see, with no N+1 queries."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    TextField,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import (
    Campaign,
    Company,
    Consent,
    Contact,
    Purchase,
    Segment,
    Tag,
    Task,
    User,
)
from crm.querycache import cached_rows
from crm.roles import STAFF_ROLES, role_of

# Orderings the contact list offers; each ends with a unique column so pages never overlap.
CONTACT_ORDERINGS: dict[str, tuple[str, ...]] = {
    "name": ("family_name", "given_name", "id"),
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-last_purchase": ("-last_purchase_at", "-id"),
}
# The filter parameters of the contact list (also what a segment stores).
CONTACT_FILTERS = (
    "q",
    "country",
    "language",
    "lifecycle_stage",
    "tag",
    "owner",
    "company",
    "segment",
    "has_purchased",
    "birthday_month",
)


def home_summary(*, user: User) -> dict[str, Any]:
    """The figures on the staff home page."""
    now = timezone.now()
    return {
        "contacts": Contact.objects.count(),
        "companies": Company.objects.count(),
        "my_contacts": Contact.objects.filter(owner=user).count(),
        "customers": Contact.objects.customers_at(now).count(),
        "my_open_tasks": Task.objects.open().filter(assignee=user).count(),
        "my_overdue_tasks": Task.objects.open()
        .filter(assignee=user, due_at__lt=now)
        .count(),
    }


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    """A filter's values from a QueryDict (repeated keys), a dict of lists, or comma-separated text."""
    raw: Any = (
        params.getlist(name) if hasattr(params, "getlist") else params.get(name, [])
    )
    if isinstance(raw, str | int):
        raw = [raw]
    values: list[str] = []
    for item in raw or []:
        values += [part.strip() for part in str(item).split(",") if part.strip()]
    return values


def _search(qs: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    for word in text.lower().split():
        digits = re.sub(r"[^\d]", "", word)
        if digits and len(digits) >= 3 and len(digits) >= len(word) - 4:
            word = digits  # a phone fragment such as 010-1234 or +82 10
        # ``contains`` on a lower-cased column is LIKE '%…%', which the trigram index serves.
        qs = qs.filter(search_text__contains=word)
    return qs


def contact_filter(
    qs: QuerySet[Contact],
    params: Mapping[str, Any],
    *,
    user: User | None = None,
    _depth: int = 0,
) -> QuerySet[Contact]:
    """Apply the contact-list filters in ``params``; unknown values raise ``ValidationError`` naming the filter."""
    errors: dict[str, str] = {}
    if text := " ".join(_values(params, "q")):
        qs = _search(qs, text)
    if countries := [c.upper() for c in _values(params, "country")]:
        qs = qs.filter(country__in=countries)
    if languages := _values(params, "language"):
        qs = qs.filter(language__in=languages)
    if stages := _values(params, "lifecycle_stage"):
        if unknown := set(stages) - set(Contact.LifecycleStage.values):
            errors["lifecycle_stage"] = _("Unknown lifecycle stage: %(value)s.") % {
                "value": ", ".join(sorted(unknown))
            }
        qs = qs.filter(lifecycle_stage__in=stages)
    for tag in _values(params, "tag"):
        tag_q = Q(pk=int(tag)) if tag.isdigit() else Q(name__iexact=tag)
        qs = qs.filter(Exists(Tag.objects.filter(tag_q, contacts=OuterRef("pk"))))
    if owners := _values(params, "owner"):
        owner_q = Q()
        for owner in owners:
            if owner == "none":
                owner_q |= Q(owner__isnull=True)
            elif owner == "me" and user is not None:
                owner_q |= Q(owner=user)
            elif owner.isdigit():
                owner_q |= Q(owner_id=int(owner))
            else:
                errors["owner"] = _("Give a user id, “me” or “none”.")
        qs = qs.filter(owner_q)
    if companies := _values(params, "company"):
        if not all(c.isdigit() for c in companies):
            errors["company"] = _("Give company ids.")
        else:
            qs = qs.filter(company_id__in=[int(c) for c in companies])
    if has_purchased := _values(params, "has_purchased"):
        flag = has_purchased[0].lower()
        if flag not in ("true", "false", "1", "0", "yes", "no"):
            errors["has_purchased"] = _("Give true or false.")
        else:
            qs = qs.filter(last_purchase_at__isnull=flag not in ("true", "1", "yes"))
    if months := _values(params, "birthday_month"):
        if not all(m.isdigit() and 1 <= int(m) <= 12 for m in months):
            errors["birthday_month"] = _("Give a month from 1 to 12.")
        else:
            qs = qs.filter(birth_month__in=[int(m) for m in months])
    if segment_ids := _values(params, "segment"):
        if _depth > 0:
            errors["segment"] = _("A segment cannot contain another segment.")
        for segment_id in segment_ids:
            segment = (
                Segment.objects.filter(pk=int(segment_id)).first()
                if segment_id.isdigit()
                else None
            )
            if segment is None:
                errors["segment"] = _("Unknown segment: %(value)s.") % {
                    "value": segment_id
                }
                continue
            qs = contact_filter(qs, segment.filters, user=user, _depth=_depth + 1)
    if errors:
        raise ValidationError(errors)
    return qs


def contact_list(
    *, user: User, params: Mapping[str, Any] | None = None
) -> QuerySet[Contact]:
    """The contacts ``user`` may see, filtered by ``params``, ready for list pages (no N+1)."""
    qs = _visible_contacts(user=user, params=params)
    return qs.select_related("company", "owner").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("consents", queryset=Consent.objects.order_by("purpose")),
    )


# A contact as the API's list answers it, read as plain rows: the list is the hottest read of a
# CRM, and building model instances for 50 contacts with their companies, tags and consents
# cost several times the queries themselves.
CONTACT_ROW_FIELDS = (
    "id",
    "given_name",
    "family_name",
    "email",
    "company_id",
    "country",
    "language",
    "birth_year",
    "birth_month",
    "birth_day",
    "owner_id",
    "lifecycle_stage",
    "source",
    "customer_since",
    "last_purchase_at",
    "churned_at",
    "erased_at",
    "attributes",
    "created_at",
    "updated_at",
)


def contact_list_rows(
    *, user: User, params: Mapping[str, Any] | None = None
) -> QuerySet[Any]:
    """``contact_list`` as dictionaries of ``CONTACT_ROW_FIELDS`` plus ``company_name`` and
    the stored text of ``phone`` (E.164) and ``timezone`` (its name), unparsed (one query per
    page; ``contact_rows_related`` adds tags and consents)."""
    return _visible_contacts(user=user, params=params).values(
        *CONTACT_ROW_FIELDS,
        company_name=F("company__name"),
        phone_text=Cast("phone", TextField()),
        timezone_text=Cast("timezone", TextField()),
    )


def contact_rows_related(
    ids: list[int],
) -> tuple[dict[int, list[str]], dict[int, dict[str, bool]]]:
    """The tag names (by name) and consent answers of the contacts ``ids``: two queries."""
    tags: dict[int, list[str]] = defaultdict(list)
    links = Contact.tags.through.objects.filter(contact_id__in=ids)
    for contact_id, name in links.order_by("tag__name").values_list(
        "contact_id", "tag__name"
    ):
        tags[contact_id].append(name)
    consents: dict[int, dict[str, bool]] = defaultdict(dict)
    for contact_id, purpose, granted in Consent.objects.filter(
        contact_id__in=ids
    ).values_list("contact_id", "purpose", "granted"):
        consents[contact_id][purpose] = granted
    return tags, consents


def _visible_contacts(
    *, user: User, params: Mapping[str, Any] | None
) -> QuerySet[Contact]:
    qs: QuerySet[Contact] = Contact.objects.visible_to(user)
    return contact_filter(qs, params, user=user) if params else qs


def contact_visible_id(*, user: User, contact_id: Any) -> int | None:
    """The contact's id when ``user`` may see it (one small query), else None; text that is
    not an id is no contact."""
    if not str(contact_id).isdigit():
        return None
    visible = Contact.objects.visible_to(user)
    if visible.query.is_empty():
        return None
    found = cached_rows(  # the statement depends on the role only
        ("crm.contact_visible_id", role_of(user)),
        lambda pk: visible.filter(pk=pk).only("pk"),
        pk=int(contact_id),
    )
    return found[0].pk if found else None


def contact_detail(*, user: User, contact_id: int) -> Contact:
    """One contact with everything its page and API detail show, in a fixed number of queries."""
    return contact_list(user=user).get(pk=contact_id)


def contact_ordering(value: str | None, *, searching: bool = False) -> tuple[str, ...]:
    """The list's ordering: ``value``, or by name; newest first when ``searching`` without a
    chosen order. Matches of a common name cluster in name order (every "kim" after every
    "a…"), so a name-ordered search reads most of the table before its first page, while in
    creation order a page costs ~50 ÷ (share of matching contacts) rows at any table size."""
    if not value:
        return CONTACT_ORDERINGS["-created" if searching else "name"]
    if value not in CONTACT_ORDERINGS:
        raise ValidationError(
            {
                "ordering": _("Sort by one of: %(choices)s.")
                % {"choices": ", ".join(CONTACT_ORDERINGS)}
            }
        )
    return CONTACT_ORDERINGS[value]


def segment_count(*, segment: Segment, user: User) -> int:
    """The live number of contacts in a segment."""
    return contact_filter(
        Contact.objects.visible_to(user), {"segment": [str(segment.pk)]}, user=user
    ).count()


def company_list(*, user: User, search: str = "") -> QuerySet[Company]:
    qs = (
        Company.objects.all()
        if role_of(user) in STAFF_ROLES
        else Company.objects.none()
    )
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.select_related("owner").annotate(
        contact_count=Count("contacts", distinct=True)
    )


def company_revenue(*, company: Company) -> dict[str, Any]:
    """Combined revenue of a company's contacts in the base currency, net of refunds."""
    totals = Purchase.objects.filter(contact__company=company).aggregate(
        gross=Sum("amount_base"), orders=Count("id")
    )
    refunds = Purchase.objects.filter(contact__company=company).aggregate(
        refunded=Sum("refunds__amount_base")
    )
    gross = totals["gross"] or 0
    return {
        "gross": gross,
        "refunded": refunds["refunded"] or 0,
        "net": gross - (refunds["refunded"] or 0),
        "orders": totals["orders"],
    }


def task_list(
    *, user: User, assignee: User | None = None, state: str = "open"
) -> QuerySet[Task]:
    """Tasks visible to staff: filtered by assignee and state (open, done, overdue, today, upcoming, all)."""
    qs = Task.objects.all() if role_of(user) in STAFF_ROLES else Task.objects.none()
    if assignee is not None:
        qs = qs.filter(assignee=assignee)
    now = timezone.now()
    if state == "open":
        qs = qs.open()
    elif state == "done":
        qs = qs.filter(completed_at__isnull=False)
    elif state == "overdue":
        qs = qs.open().filter(due_at__lt=now)
    elif state != "all":
        raise ValidationError({"state": _("Unknown task state.")})
    return qs.select_related("contact", "assignee")


def duplicate_candidates(*, user: User, limit: int = 100) -> list[dict[str, Any]]:
    """Likely duplicate pairs: the same mailbox (ignoring case and +tags), the same phone, or a
    very similar name within one company. Each pair comes with the reason it was found."""
    from django.db import connection
    from django.db.models.functions import Lower

    if role_of(user) not in STAFF_ROLES:
        return []
    pairs: dict[tuple[int, int], str] = {}

    def add(ids: list[int], reason: str) -> None:
        ids = sorted(ids)
        for i, first in enumerate(ids):
            for second in ids[i + 1 :]:
                pairs.setdefault((first, second), reason)

    phones = (
        Contact.objects.exclude(phone="")
        .values("phone")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("phone", flat=True)[:limit]
    )
    for phone in phones:
        add(
            list(Contact.objects.filter(phone=phone).values_list("pk", flat=True)[:10]),
            str(_("Same phone number")),
        )

    # Mailboxes with +tags ("jimin+shop@…") are the same person as the plain address.
    tagged = Contact.objects.filter(email__contains="+").values_list("pk", "email")[
        : limit * 10
    ]
    for pk, email in tagged:
        local, _sep, domain = email.partition("@")
        plain = f"{local.split('+', 1)[0]}@{domain}"
        if (
            other := Contact.objects.filter(email=plain)
            .values_list("pk", flat=True)
            .first()
        ):
            add([pk, other], str(_("Same email address")))

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT a.id, b.id FROM crm_contact a
                JOIN crm_contact b ON a.company_id = b.company_id AND a.id < b.id
                WHERE a.company_id IS NOT NULL
                  AND similarity(lower(a.given_name || ' ' || a.family_name),
                                 lower(b.given_name || ' ' || b.family_name)) > 0.6
                LIMIT %s
                """,
                [limit],
            )
            for first, second in cursor.fetchall():
                add([first, second], str(_("Similar name at the same company")))
    else:
        names = (
            Contact.objects.exclude(company=None)
            .annotate(g=Lower("given_name"), f=Lower("family_name"))
            .values("company_id", "g", "f")
            .annotate(n=Count("id"))
            .filter(n__gt=1)[:limit]
        )
        for row in names:
            ids = Contact.objects.filter(
                company_id=row["company_id"],
                given_name__iexact=row["g"],
                family_name__iexact=row["f"],
            )
            add(
                list(ids.values_list("pk", flat=True)[:10]),
                str(_("Similar name at the same company")),
            )

    chosen = list(pairs.items())[:limit]
    contacts = Contact.objects.select_related("company").in_bulk(
        {pk for pair, _r in chosen for pk in pair}
    )
    return [
        {"first": contacts[a], "second": contacts[b], "reason": reason}
        for (a, b), reason in chosen
        if a in contacts and b in contacts
    ]


def campaign_recipients(*, campaign: Campaign) -> QuerySet[Contact]:
    """The contacts a campaign goes to: its segment's members (live) and the chosen ones."""
    match = Q(pk__in=campaign.contacts.values("pk")) if campaign.pk else Q(pk__in=[])
    if campaign.segment_id is not None:
        members = contact_filter(
            Contact.objects.all(),
            {"segment": [str(campaign.segment_id)]},
            user=campaign.created_by,
        )
        match |= Q(pk__in=members.values("pk"))
    return Contact.objects.filter(match)


def campaign_recipient_summary(*, campaign: Campaign) -> dict[str, int]:
    """How many recipients it will reach, and why the others will be skipped."""
    consent = Consent.objects.filter(contact=OuterRef("pk"), purpose=campaign.purpose)
    counts = campaign_recipients(campaign=campaign).aggregate(
        total=Count("pk"),
        with_consent=Count("pk", filter=Q(Exists(consent.filter(granted=True)))),
        reachable=Count(
            "pk", filter=Q(Exists(consent.filter(granted=True))) & ~Q(email="")
        ),
    )
    total, with_consent, reachable = (
        counts["total"],
        counts["with_consent"],
        counts["reachable"],
    )
    return {
        "total": total,
        "reachable": reachable,
        "no_consent": total - with_consent,
        "no_email": with_consent - reachable,
    }


def contact_consents(*, contact: Contact) -> dict[str, bool]:
    """The contact's current yes/no per consent purpose (a purpose never answered is absent)."""
    return dict(
        Consent.objects.filter(contact=contact).values_list("purpose", "granted")
    )
