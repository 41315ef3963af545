"""Writes on contacts, companies, tags and consent."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from crm.models import AuditEntry, Company, Consent, ConsentEvent, Contact, Tag, User
from crm.services.audit import audit_record_many

# Fields a caller may set directly on a contact (the rest are derived or have their own service).
CONTACT_FIELDS = (
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
    "owner",
    "lifecycle_stage",
    "source",
    "attributes",
    "customer_since",
    "churned_at",
    "user",
)

_BIRTHDAY = re.compile(r"^(?:(?P<year>\d{4})-?|--)(?P<month>\d{2})-?(?P<day>\d{2})$")


def parse_birthday(
    value: str | dt.date | None,
) -> tuple[int | None, int | None, int | None]:
    """``YYYY-MM-DD``, ``--MM-DD`` (no year; vCard) or a date → (year, month, day); '' → no birthday."""
    if value is None or value == "":
        return None, None, None
    if isinstance(value, dt.date):
        return value.year, value.month, value.day
    match = _BIRTHDAY.match(str(value).strip())
    if not match:
        raise ValidationError(
            {
                "birthday": _(
                    "Enter a birthday as YYYY-MM-DD, or --MM-DD when the year is unknown."
                )
            }
        )
    year = int(match["year"]) if match["year"] else None
    month, day = int(match["month"]), int(match["day"])
    try:
        dt.date(year or 2000, month, day)
    except ValueError:
        raise ValidationError({"birthday": _("This date does not exist.")}) from None
    if year is not None and not 1900 <= year <= timezone.now().year:
        raise ValidationError(
            {"birthday": _("Enter a birth year between 1900 and this year.")}
        )
    return year, month, day


def parse_phone(value: str, *, country: str = "") -> str:
    """A phone number in E.164, read in the contact's country when it has no +country code."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, country or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        if country:
            message = _(
                "Enter a valid phone number for %(country)s, or start it with + and the country code."
            ) % {"country": dict(countries).get(country, country)}
        else:
            message = _(
                "Enter a valid phone number starting with + and the country code."
            )
        raise ValidationError({"phone": message})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _timezone(value: Any) -> zoneinfo.ZoneInfo | None:
    if value in (None, ""):
        return None
    if isinstance(value, zoneinfo.ZoneInfo):
        return value
    try:
        return zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            {
                "timezone": _(
                    "“%(value)s” is not a known IANA time zone, such as Asia/Seoul."
                )
                % {"value": value}
            }
        ) from None


def _check_choices(contact: Contact) -> None:
    errors: dict[str, str] = {}
    if contact.country and contact.country not in dict(countries):
        errors["country"] = _(
            "“%(value)s” is not an ISO 3166 country code, such as KR."
        ) % {"value": contact.country}
    if contact.language not in dict(settings.LANGUAGES):
        errors["language"] = _(
            "“%(value)s” is not a supported language: %(choices)s."
        ) % {
            "value": contact.language,
            "choices": ", ".join(code for code, _name in settings.LANGUAGES),
        }
    if errors:
        raise ValidationError(errors)


def _check_email_free(contact: Contact) -> None:
    if not contact.email:
        return
    clash = (
        Contact.objects.filter(email=contact.email)
        .exclude(pk=contact.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if clash is not None:
        raise ValidationError(
            {
                "email": ValidationError(
                    _(
                        "A contact with this email address already exists (contact %(id)s)."
                    ),
                    code="duplicate",
                    params={"id": clash},
                )
            }
        )


def tags_get_or_create(*, names: Iterable[str]) -> list[Tag]:
    """The tags with these names (case-insensitive), creating the missing ones."""
    tags = []
    for raw in names:
        name = str(raw).strip()
        if not name:
            continue
        if len(name) > 60:
            raise ValidationError(
                {"tags": _("A tag can be at most 60 characters long.")}
            )
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(
            name=name
        )
        tags.append(tag)
    return tags


def _apply(contact: Contact, fields: dict[str, Any]) -> list[Tag] | None:
    """Set ``fields`` on ``contact`` with parsing; returns the tags to set afterwards (or None)."""
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be set.") for name in sorted(unknown)}
        )
    tags = None
    for name, value in fields.items():
        if name == "birthday":
            contact.birth_year, contact.birth_month, contact.birth_day = parse_birthday(
                value
            )
        elif name == "tags":
            tags = tags_get_or_create(names=value or [])
        elif name == "timezone":
            contact.timezone = _timezone(value)
        elif name == "email":
            contact.email = (value or "").strip().lower()
        elif name == "country":
            contact.country = (value or "").strip().upper()
        elif name in ("given_name", "family_name"):
            setattr(contact, name, (value or "").strip())
        elif name == "attributes":
            if not isinstance(value, dict):
                raise ValidationError(
                    {
                        "attributes": _(
                            "Custom attributes must be an object of names and values."
                        )
                    }
                )
            contact.attributes = value
        elif name == "company" and isinstance(value, str):
            # A company typed by name: reuse it (any case) or create it, in this transaction,
            # so a refused contact leaves no new company behind.
            contact.company = company_get_or_create_by_name(name=value)
        elif name == "user":
            if value is not None and value.is_staff:
                raise ValidationError(
                    {
                        "user": _(
                            "A portal account must be a customer account, not staff."
                        )
                    }
                )
            contact.user = value
        elif name != "phone":
            setattr(contact, name, value)
    if "phone" in fields or "country" in fields:
        raw = fields.get("phone", str(contact.phone or ""))
        contact.phone = parse_phone(str(raw or ""), country=str(contact.country or ""))
    return tags


def _save(contact: Contact, tags: list[Tag] | None) -> Contact:
    _check_choices(contact)
    _check_email_free(contact)
    contact.full_clean(exclude=["search_text"])
    contact.search_text = contact.build_search_text()
    contact.save()
    if tags is not None:
        contact.tags.set(tags)
    return contact


@transaction.atomic
def contact_create(
    *,
    actor: User | None = None,
    consents: dict[str, bool] | None = None,
    consent_source: str = Consent.Source.STAFF,
    ip_address: str | None = None,
    **fields: Any,
) -> Contact:
    """Create a contact; bad input raises ``ValidationError`` naming each field and stores nothing."""
    contact = Contact()
    if actor is not None and "owner" not in fields:
        fields["owner"] = actor if actor.is_staff else None
    tags = _apply(contact, fields)
    contact = _save(contact, tags)
    if consents:
        consents_set(
            contact=contact,
            consents=consents,
            source=consent_source,
            actor=actor,
            ip_address=ip_address,
        )
    return contact


@transaction.atomic
def contact_update(
    *,
    contact: Contact,
    actor: User | None = None,
    consents: dict[str, bool] | None = None,
    consent_source: str = Consent.Source.STAFF,
    ip_address: str | None = None,
    **fields: Any,
) -> Contact:
    """Change some fields of a contact; on any error nothing is changed."""
    from crm.services.privacy import contact_refuse_if_erased

    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    contact_refuse_if_erased(contact)
    tags = _apply(contact, fields)
    contact = _save(contact, tags)
    if consents:
        consents_set(
            contact=contact,
            consents=consents,
            source=consent_source,
            actor=actor,
            ip_address=ip_address,
        )
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    """Delete a contact with its interactions and tasks. Contacts with purchases are kept for the books."""
    if contact.purchases.exists():
        raise ValidationError(
            _(
                "This contact has purchases, which the accounts and metrics need. Merge or archive the contact instead."
            )
        )
    contact.delete()


@transaction.atomic
def contacts_bulk_tag(*, contact_ids: Iterable[int], tag_names: Iterable[str]) -> int:
    """Add tags to many contacts at once; returns how many contacts were tagged."""
    ids = list(
        Contact.objects.filter(pk__in=list(contact_ids)).values_list("pk", flat=True)
    )
    tags = tags_get_or_create(names=tag_names)
    if not tags:
        raise ValidationError({"tags": _("Enter at least one tag.")})
    through = Contact.tags.through
    through.objects.bulk_create(
        [through(contact_id=cid, tag_id=tag.pk) for cid in ids for tag in tags],
        ignore_conflicts=True,
    )
    return len(ids)


@transaction.atomic
def contacts_bulk_assign(*, contact_ids: Iterable[int], owner: User) -> int:
    """Make ``owner`` the owner of many contacts at once; returns how many changed."""
    if not owner.is_staff or not owner.is_active:
        raise ValidationError({"owner": _("The owner must be an active staff user.")})
    return Contact.objects.filter(pk__in=list(contact_ids)).update(
        owner=owner, updated_at=timezone.now()
    )


def consents_set(
    *,
    contact: Contact,
    consents: dict[str, bool],
    source: str,
    actor: User | None = None,
    ip_address: str | None = None,
    wording_version: str | None = None,
) -> list[Consent]:
    """Record the current yes/no per purpose, with who changed it, when and from where.

    Every actual change also lands in the consent ledger (``ConsentEvent``, with the version of
    the wording agreed to) and in the audit log, its values sealed under the contact's key.
    """
    purposes = dict(Consent.Purpose.choices)
    errors = {
        f"consents.{purpose}": _("Unknown consent purpose. Use one of: %(choices)s.")
        % {"choices": ", ".join(purposes)}
        for purpose in consents
        if purpose not in purposes
    }
    errors.update(
        {
            f"consents.{p}": _("Give true or false.")
            for p, v in consents.items()
            if p in purposes and not isinstance(v, bool)
        }
    )
    if errors:
        raise ValidationError(errors)
    if source not in dict(Consent.Source.choices):
        raise ValidationError({"source": _("Unknown consent source.")})
    if wording_version is None:
        wording_version = settings.CONSENT_WORDING_VERSION
    now = timezone.now()
    changed = []
    before: dict[str, bool | None] = {}
    with transaction.atomic():
        current = {
            c.purpose: c
            for c in Consent.objects.select_for_update().filter(contact=contact)
        }
        for purpose, granted in consents.items():
            row = current.get(purpose)
            if row is not None and row.granted == granted:
                continue  # unchanged: keep who set it and when
            before[purpose] = None if row is None else row.granted
            row = row or Consent(contact=contact, purpose=purpose)
            row.granted, row.source, row.changed_at = granted, source, now
            row.changed_by = actor if actor and actor.is_authenticated else None
            row.ip_address = ip_address
            row.wording_version = wording_version
            row.save()
            changed.append(row)
        if changed:
            consent_changes_record(
                changes=[(contact, changed, before)],
                actor=actor if actor and actor.is_authenticated else None,
            )
    return changed


def consent_changes_record(
    *,
    changes: list[tuple[Contact, list[Consent], dict[str, bool | None]]],
    actor: User | None,
) -> None:
    """Append stored consent changes to the ledger and, per contact, one sealed audit entry.

    Each item is (contact, the changed ``Consent`` rows as saved, the answer before each
    purpose changed); ``consents_set`` passes one contact, an import batch many.
    """
    ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                contact=contact,
                purpose=row.purpose,
                granted=row.granted,
                source=row.source,
                wording_version=row.wording_version,
                at=row.changed_at,
                actor=row.changed_by,
                ip_address=row.ip_address,
            )
            for contact, rows, _before in changes
            for row in rows
        ]
    )
    audit_record_many(
        [
            {
                "action": AuditEntry.Action.CONSENT_CHANGED,
                "actor": actor,
                "object_type": "crm.contact",
                "object_id": contact.pk,
                "contact_id": contact.pk,
                "changes": {
                    "source": rows[0].source,
                    "wording_version": rows[0].wording_version,
                },
                "sealed": {
                    "consents": {
                        row.purpose: {
                            "before": before.get(row.purpose),
                            "after": row.granted,
                        }
                        for row in rows
                    },
                    "ip_address": rows[0].ip_address,
                },
            }
            for contact, rows, before in changes
            if rows
        ]
    )


@transaction.atomic
def company_create(
    *, name: str, domain: str = "", country: str = "", owner: User | None = None
) -> Company:
    company = Company(
        name=(name or "").strip(),
        domain=(domain or "").strip().lower(),
        country=(country or "").upper(),
        owner=owner,
    )
    company.full_clean()
    company.save()
    return company


@transaction.atomic
def company_update(*, company: Company, **fields: Any) -> Company:
    allowed = {"name", "domain", "country", "owner", "phone"}
    if unknown := set(fields) - allowed:
        raise ValidationError(
            {name: _("This field cannot be set.") for name in sorted(unknown)}
        )
    for name, value in fields.items():
        setattr(company, name, value)
    company.full_clean()
    company.save()
    # Contacts search by company name, so their search text follows a rename.
    if "name" in fields:
        for contact in company.contacts.select_related("company"):
            Contact.objects.filter(pk=contact.pk).update(
                search_text=contact.build_search_text()
            )
    return company


@transaction.atomic
def company_delete(*, company: Company) -> None:
    """Delete a company; its contacts stay, without a company."""
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    company.delete()
    for contact in Contact.objects.filter(pk__in=contact_ids).select_related("company"):
        Contact.objects.filter(pk=contact.pk).update(
            search_text=contact.build_search_text()
        )


def company_get_or_create_by_name(*, name: str) -> Company | None:
    name = (name or "").strip()
    if not name:
        return None
    return Company.objects.filter(name__iexact=name).first() or company_create(
        name=name
    )
