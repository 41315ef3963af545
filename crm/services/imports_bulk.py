"""One import batch written set-based: a fixed number of queries however many rows it holds.

``import_rows_check`` then ``import_rows_apply`` give the same result as running
``contact_create`` / ``contact_update`` row after row (the per-row path they replace), with the
same checks and the same rejection reasons, but each kind of write is one statement for the
whole batch:

1. every row is checked in Python by ``map_row`` (the contact services' own parsers), without
   the database, so the caller can check the next batch while the database indexes this one;
2. the contacts the batch's emails already name are read, and locked, in ONE query;
3. the rows are replayed in file order in memory: a row whose email names a contact (in the
   database or earlier in the batch) updates it with its non-empty fields, tags only added,
   otherwise it creates one with source "import";
4. companies and tags are found or created by name in bulk, then new contacts are copied in
   (COPY on PostgreSQL) and known ones updated in bulk, tags linked, and consents with their
   ``ConsentEvent`` ledger rows and sealed audit entries written, only for the consents that
   changed.

The caller holds the batch's transaction. The writes run in a savepoint: when a concurrent
writer inserts a contact with one of the batch's new emails between step 2 and the COPY, the
unique email constraint refuses the COPY, the savepoint is rolled back and the batch is
planned again, so that row becomes an update of the contact the other writer made.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Field, JSONField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from crm.importing import ImportRow, MappedRow, describe_errors, map_row
from crm.models import (
    Company,
    Consent,
    Contact,
    ImportJob,
    ImportRejection,
    Tag,
    User,
)
from crm.models.contacts import search_text_from
from crm.services.contacts import consent_changes_record, parse_birthday, parse_phone

EMAIL_UNIQUE_CONSTRAINT = "crm_contact_email_ci_unique"
# A batch planned again this many times because concurrent writers keep inserting its emails
# fails instead (and can be resumed).
_PLAN_ATTEMPTS = 3
# The contact columns an import row can change (plus what the services derive from them).
_UPDATE_FIELDS = (
    "given_name",
    "family_name",
    "email",
    "phone",
    "company",
    "country",
    "language",
    "timezone",
    "birth_year",
    "birth_month",
    "birth_day",
    "lifecycle_stage",
    "search_text",
    "updated_at",
)
_MARKETING = Consent.Purpose.MARKETING_EMAIL.value


@dataclass
class _Draft:
    """A contact as the batch leaves it: a database row to update or a new one to insert."""

    contact: Contact
    new: bool
    company_name: str | None = None  # None: keep the company it has
    phone: str | None = None  # the E.164 text the row gave (None: keep the stored one)
    tags: list[str] = field(default_factory=list)


@dataclass
class _ConsentChange:
    draft: _Draft
    before: bool | None
    after: bool


@dataclass
class _Plan:
    drafts: list[_Draft]
    rejections: list[tuple[ImportRow, str]]
    consent_changes: list[_ConsentChange]
    created: int = 0
    updated: int = 0


@dataclass(frozen=True)
class BatchResult:
    """What a batch did: its rejections (unsaved) and how many rows created or updated."""

    rejections: list[ImportRejection]
    created: int
    updated: int


@dataclass(frozen=True)
class CheckedBatch:
    """A batch after the checks that need no database: its rows in file order, those that
    passed with their contact fields, and those refused with their reason."""

    rows: list[ImportRow]
    passed: list[tuple[ImportRow, MappedRow]]
    refused: list[tuple[ImportRow, str]]


def import_rows_check(
    *, batch: list[ImportRow], mapping: dict[str, str]
) -> CheckedBatch:
    """Check every row as the contact services would: ``map_row``, then what ``full_clean``
    would still say about the email. It reads no database."""
    passed: list[tuple[ImportRow, MappedRow]] = []
    refused: list[tuple[ImportRow, str]] = []
    for row in batch:
        result = None if row.error else map_row(row.values, mapping)
        if result is None or result.errors:
            refused.append((row, row.error if result is None else result.reason()))
        elif reason := _email_field_error(result):
            refused.append((row, reason))
        else:
            passed.append((row, result))
    return CheckedBatch(rows=batch, passed=passed, refused=refused)


def import_rows_apply(
    *,
    job: ImportJob,
    batch: CheckedBatch,
    actor: User | None,
    meanwhile: Callable[[], None],
) -> BatchResult:
    """Upsert a checked batch by email inside the caller's transaction (see the module doc).

    Rejected rows come back as unsaved ``ImportRejection``s with the same reasons as the
    per-row services give; a database error other than a concurrent email insert propagates,
    so the caller's batch transaction leaves nothing half-written. When the batch creates
    contacts, ``meanwhile`` is called (again if the batch is planned again) while the database
    indexes them, so that work of the caller's that needs no database overlaps it.
    """
    checked = batch.passed
    changed_by = actor if actor is not None and actor.is_authenticated else None
    for attempt in range(1, _PLAN_ATTEMPTS + 1):
        existing = _contacts_by_email(
            str(result.fields.get("email", "")) for _row, result in checked
        )
        plan = _plan(checked, existing)
        try:
            with transaction.atomic():
                _write(plan, changed_by, meanwhile)
            break
        except IntegrityError as exc:
            if attempt == _PLAN_ATTEMPTS or not _is_email_clash(exc):
                raise
    lines = {id(row): index for index, row in enumerate(batch.rows)}
    rejected = sorted(
        [*batch.refused, *plan.rejections], key=lambda pair: lines[id(pair[0])]
    )
    return BatchResult(
        rejections=[
            ImportRejection(job=job, line=row.line, reason=reason, data=row.values)
            for row, reason in rejected
        ],
        created=plan.created,
        updated=plan.updated,
    )


# --- Checks and planning (no queries) ------------------------------------------------------


_EMAIL_FIELD = Contact._meta.get_field("email")


def _email_field_error(row: MappedRow) -> str:
    """What ``full_clean`` would still say about the email (its length), as a reason."""
    email = row.fields.get("email", "")
    if not email or len(email) <= _EMAIL_FIELD.max_length:  # type: ignore[operator]
        return ""
    try:
        _EMAIL_FIELD.run_validators(email)
    except ValidationError as exc:
        return describe_errors({"email": exc.messages}, row.columns)
    return ""


def _is_email_clash(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == EMAIL_UNIQUE_CONSTRAINT


def _contacts_by_email(emails: Iterable[str]) -> dict[str, Contact]:
    """The contacts these (lower-cased) emails name, locked: ONE query per batch."""
    wanted = {e for e in emails if e}
    if not wanted:
        return {}
    # PostgreSQL: one array, not a list of literals; it plans a few thousand literals as a
    # scan of the whole table, the rows of an array as probes of the lower(email) index.
    values: set[str] | RawSQL = (
        RawSQL("SELECT unnest(%s::text[])", [list(wanted)])
        if connection.vendor == "postgresql"
        else wanted
    )
    found = (
        Contact.objects.select_for_update(of=("self",))
        .select_related("company")
        .exclude(email="")
        .annotate(email_ci=Lower("email"))
        .filter(email_ci__in=values)
    )
    return {contact.email.lower(): contact for contact in found}


def _plan(
    checked: list[tuple[ImportRow, MappedRow]], existing: dict[str, Contact]
) -> _Plan:
    """Replay the rows in file order, as the per-row services would have, in memory."""
    plan = _Plan(drafts=[], rejections=[], consent_changes=[])
    by_email: dict[str, _Draft] = {}
    consents: dict[
        int, bool | None
    ] = {}  # id(draft) → marketing consent as the batch has it
    written: set[int] = set()  # id() of the drafts in plan.drafts
    new_contact = _new_contacts()
    for row, result in checked:
        fields = dict(result.fields)
        email = str(fields.get("email", ""))
        draft = by_email.get(email) if email else None
        if draft is None and email and (contact := existing.get(email)) is not None:
            draft = _Draft(contact=contact, new=False)
            by_email[email] = draft
            consents[id(draft)] = _UNKNOWN  # read with the consents, if a row sets one
        if draft is not None:
            errors = _update_errors(draft.contact, fields)
            if errors:
                plan.rejections.append((row, describe_errors(errors, result.columns)))
                continue
            if id(draft) not in written:  # a contact no row changed is not written
                written.add(id(draft))
                plan.drafts.append(draft)
            plan.updated += 1
        else:
            draft = _Draft(contact=new_contact(), new=True)
            plan.drafts.append(draft)
            written.add(id(draft))
            consents[id(draft)] = None
            if email:
                by_email[email] = draft
            plan.created += 1
        consent = fields.pop("consent_marketing_email", None)
        _apply(draft, fields)
        if consent is not None:
            plan.consent_changes.append(
                _ConsentChange(draft=draft, before=consents[id(draft)], after=consent)
            )
            consents[id(draft)] = consent
    return plan


_UNKNOWN: Any = object()  # a stored consent not read yet (existing contacts)


def _new_contacts() -> Callable[[], Contact]:
    """A maker of new contacts with source "import" and no owner, from the fields' defaults
    read once. It passes every field positionally: Django's fast constructor, the one rows read
    from the database take, costs a third of the keyword one (a default looked up per field)."""
    fields = Contact._meta.concrete_fields
    values = [f.get_default() for f in fields]
    values[fields.index(Contact._meta.get_field("source"))] = Contact.Source.IMPORT
    # A mutable default (the attributes' dict) is made again for each contact.
    fresh = [f for f in fields if f.has_default() and callable(f.default)]
    positions = [fields.index(f) for f in fresh]

    def new_contact() -> Contact:
        for position, model_field in zip(positions, fresh, strict=True):
            values[position] = model_field.get_default()
        return Contact(*values)

    return new_contact


def _update_errors(contact: Contact, fields: dict[str, Any]) -> dict[str, list[str]]:
    """What ``contact_update`` would refuse that ``map_row`` cannot know: it needs the row."""
    if contact.erased_at is not None:
        return {
            "contact": [
                _("This contact's personal data was erased; nothing can be added.")
            ]
        }
    if "country" in fields and "phone" not in fields and contact.phone:
        # The service reads the stored phone again in the new country.
        try:
            parse_phone(str(contact.phone), country=str(fields["country"]))
        except ValidationError as exc:
            return exc.message_dict
    return {}


def _apply(draft: _Draft, fields: dict[str, Any]) -> None:
    """Set a row's (already checked and normalised) fields, as ``contact_update`` would."""
    contact = draft.contact
    for name, value in fields.items():
        if name == "birthday":
            contact.birth_year, contact.birth_month, contact.birth_day = parse_birthday(
                value
            )
        elif name == "timezone":
            contact.timezone = zoneinfo.ZoneInfo(value)
        elif name == "company":
            draft.company_name = value
        elif name == "phone":
            draft.phone = value
            if not draft.new:  # a new contact's search text reads ``draft.phone``
                contact.phone = value
        elif name == "tags":
            lowered = {t.casefold() for t in draft.tags}
            draft.tags.extend(t for t in value if t.casefold() not in lowered)
        else:  # names, email, phone (E.164), country, language, lifecycle stage
            setattr(contact, name, value)


# --- Writing (a fixed number of statements per batch) --------------------------------------


def _write(plan: _Plan, changed_by: User | None, meanwhile: Callable[[], None]) -> None:
    now = timezone.now()
    companies = _companies_by_name(
        d.company_name for d in plan.drafts if d.company_name
    )
    tags = _tags_by_name(t for d in plan.drafts for t in d.tags)
    for draft in plan.drafts:
        if draft.company_name:
            draft.contact.company = companies[draft.company_name.casefold()]
    _contacts_insert([d for d in plan.drafts if d.new], now, meanwhile)
    _contacts_update([d for d in plan.drafts if not d.new], now)
    through = Contact.tags.through
    links = {
        (draft.contact.pk, tags[name.casefold()].pk)
        for draft in plan.drafts
        for name in draft.tags
    }
    if links:
        # Tags are only ever added: links the contact already has are left as they are.
        through.objects.bulk_create(
            [through(contact_id=c, tag_id=t) for c, t in links], ignore_conflicts=True
        )
    if plan.consent_changes:
        _consents_write(plan.consent_changes, changed_by, now)


def _complete(draft: _Draft, now: dt.datetime) -> None:
    """Set what the services derive on the draft's contact: its search text and timestamps."""
    contact = draft.contact
    contact.search_text = (
        _search_text(contact, draft.phone or "")
        if draft.new
        else contact.build_search_text()
    )
    contact.updated_at = now
    if draft.new:
        contact.created_at = now


def _db_values(draft: _Draft, conversions: Sequence[_Conversion]) -> list[Any]:
    """The database values of the fields of ``conversions`` for the draft's (completed)
    contact."""
    # The values as the instance holds them, past the fields' descriptors (a country field's
    # is its code, not a Country object built on each read).
    state = vars(draft.contact)
    phone = draft.phone
    values = []
    for attname, model_field, always in conversions:
        if phone is not None and attname == "phone":
            # Already E.164 text: spares phonenumbers a parse and a validation per row.
            values.append(phone)
            continue
        value = state[attname]
        # Text, numbers, ids and aware datetimes go to the driver as they are; the rest
        # (phone numbers, time zones, JSON) through the field's own conversion.
        if always or not isinstance(value, _PLAIN):
            value = model_field.get_db_prep_save(value, connection)
        values.append(value)
    return values


_Conversion: TypeAlias = "tuple[str, Field[Any, Any], bool]"


def _conversions(fields: Sequence[Field[Any, Any]]) -> list[_Conversion]:
    """Per field: its attribute, itself, and whether its value always goes through its own
    conversion (JSON does; other values only when they are not plain): worked out once per
    batch, not per row."""
    return [(f.attname, f, isinstance(f, JSONField)) for f in fields]


_PLAIN = (str, int, dt.datetime, type(None))


def _search_text(contact: Contact, phone: str) -> str:
    """``Contact.build_search_text`` for a new contact whose phone is E.164 text, without
    parsing the number again (its national number is what follows the country code)."""
    national = ""
    digits = phone.lstrip("+")
    for size in (1, 2, 3):
        if int(digits[:size] or 0) in COUNTRY_CODE_TO_REGION_CODE:
            national = str(int(digits[size:] or 0) or "")
            break
    return search_text_from(
        given_name=contact.given_name,
        family_name=contact.family_name,
        email=contact.email,
        phone_digits=digits,
        national_number=national,
        company_name=contact.company.name
        if contact.company_id and contact.company
        else "",
    )


def _with_phone(draft: _Draft) -> Contact:
    """The draft's contact with the row's phone set on it (the bulk SQL passes it apart)."""
    if draft.phone is not None:
        draft.contact.phone = draft.phone
    return draft.contact


def _contacts_insert(
    drafts: list[_Draft], now: dt.datetime, meanwhile: Callable[[], None]
) -> None:
    """COPY the new contacts in (PostgreSQL): each row is completed while the database takes
    the ones before it, and ``meanwhile`` runs while it indexes the last ones. Other databases
    (SQLite) use ``bulk_create``.

    The ids are drawn from the table's sequence first, so each draft knows its row.
    """
    if not drafts:
        return
    if connection.vendor != "postgresql":
        for draft in drafts:
            _complete(draft, now)
        Contact.objects.bulk_create([_with_phone(d) for d in drafts])
        return
    table = Contact._meta.db_table
    with connection.cursor() as cursor:
        # The sequence is looked up once, not once per id.
        cursor.execute(
            "WITH s AS MATERIALIZED "
            "(SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) "
            "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
            [table, len(drafts)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    for draft, pk in zip(drafts, ids, strict=True):
        draft.contact.pk = pk
    fields = Contact._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    conversions = _conversions(fields)
    # COPY is not run through execute(): its errors are made Django's here, so that a
    # concurrent insert of one of the emails is the IntegrityError the caller plans again on.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for draft in drafts:
            _complete(draft, now)
            copy.write_row(_db_values(draft, conversions))
        meanwhile()  # the rows are sent: the database indexes them meanwhile
    for draft in drafts:
        draft.contact._state.adding = False


def _contacts_update(drafts: list[_Draft], now: dt.datetime) -> None:
    """UPDATE the changed contacts in one statement (joined to unnest of one array per
    column: its size does not depend on the batch's); other databases (SQLite) use
    ``bulk_update``."""
    if not drafts:
        return
    for draft in drafts:
        _complete(draft, now)
    if connection.vendor != "postgresql":
        Contact.objects.bulk_update(
            [_with_phone(d) for d in drafts], list(_UPDATE_FIELDS)
        )
        return
    by_name = {f.name: f for f in Contact._meta.concrete_fields}
    fields = [by_name[name] for name in _UPDATE_FIELDS]
    conversions = _conversions(fields)
    rows = [_db_values(draft, conversions) for draft in drafts]
    quote = connection.ops.quote_name
    table = Contact._meta.db_table
    sets = ", ".join(
        f"{quote(str(f.column))} = v.{quote(str(f.column))}" for f in fields
    )
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    aliases = ", ".join(quote(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM unnest(%s::bigint[], {arrays}) "
            f"AS v(import_pk, {aliases}) WHERE {table}.id = v.import_pk",
            [[d.contact.pk for d in drafts], *map(list, zip(*rows, strict=True))],
        )


def _companies_by_name(names: Iterable[str]) -> dict[str, Company]:
    """casefold(name) → company: the first existing one of that name (any case) or a new one."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(name.casefold(), name)
    if not wanted:
        return {}
    found: dict[str, Company] = {}
    for company in (
        Company.objects.annotate(name_ci=Lower("name"))
        .filter(name_ci__in={n.lower() for n in wanted.values()})
        .order_by("name", "id")
    ):
        found.setdefault(company.name.casefold(), company)
    missing = [Company(name=name) for key, name in wanted.items() if key not in found]
    for created in Company.objects.bulk_create(missing):
        found[created.name.casefold()] = created
    return found


def _tags_by_name(names: Iterable[str]) -> dict[str, Tag]:
    """casefold(name) → tag, creating the missing ones (a concurrent creator wins the name)."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(name.casefold(), name)
    if not wanted:
        return {}

    def lookup() -> dict[str, Tag]:
        tags = Tag.objects.annotate(name_ci=Lower("name")).filter(
            name_ci__in={n.lower() for n in wanted.values()}
        )
        return {tag.name.casefold(): tag for tag in tags}

    found = lookup()
    missing = [Tag(name=name) for key, name in wanted.items() if key not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        found = lookup()
    return found


def _consents_write(
    changes: list[_ConsentChange], changed_by: User | None, now: Any
) -> None:
    """Marketing consents as ``consents_set`` records them: only real changes, each one in the
    ledger (``ConsentEvent``) and in a sealed audit entry, with the source "import"."""
    version = settings.CONSENT_WORDING_VERSION
    stored = {
        c.contact_id: c
        for c in Consent.objects.select_for_update().filter(
            purpose=_MARKETING,
            contact_id__in=[c.draft.contact.pk for c in changes if not c.draft.new],
        )
    }
    rows: dict[int, Consent] = {}
    actual: list[tuple[_ConsentChange, bool | None]] = []
    for change in changes:
        contact = change.draft.contact
        row = rows.get(contact.pk) or stored.get(contact.pk)
        before = None if row is None else row.granted
        if change.before is not _UNKNOWN:
            before = change.before
        if before is not None and before == change.after:
            continue  # unchanged: keep who set it and when
        row = row or Consent(contact=contact, purpose=_MARKETING)
        row.granted, row.source, row.changed_at = (
            change.after,
            Consent.Source.IMPORT,
            now,
        )
        row.changed_by, row.ip_address, row.wording_version = changed_by, None, version
        rows[contact.pk] = row
        actual.append((change, before))
    if not actual:
        return
    updated = [r for r in rows.values() if r.pk is not None]
    Consent.objects.bulk_create([r for r in rows.values() if r.pk is None])
    if updated:
        Consent.objects.bulk_update(
            updated,
            [
                "granted",
                "source",
                "changed_at",
                "changed_by",
                "ip_address",
                "wording_version",
            ],
        )
    # Each change as it happened (a file may change one contact's answer twice).
    consent_changes_record(
        changes=[
            (
                change.draft.contact,
                [
                    Consent(
                        contact=change.draft.contact,
                        purpose=_MARKETING,
                        granted=change.after,
                        source=Consent.Source.IMPORT,
                        changed_at=now,
                        changed_by=changed_by,
                        ip_address=None,
                        wording_version=version,
                    )
                ],
                {_MARKETING: before},
            )
            for change, before in actual
        ],
        actor=changed_by,
    )
