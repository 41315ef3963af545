"""Contact exports: CSV (UTF-8 with BOM, formula cells neutralised) and vCard 4.0, streamed.

Both read the queryset with ``.iterator(chunk_size=2000)`` and per-chunk prefetches, so memory
stays flat however many contacts there are; both read back through the importer unchanged.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import translation
from django_countries import countries

from crm.importing import FORMULA_PREFIXES
from crm.models import Consent, Contact

# Our export's columns: the importable fields first (their names are what the mapping
# recognises), then read-only facts.
EXPORT_COLUMNS = (
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
    "owner",
    "source",
    "created_at",
)


class _Echo:
    """A file-like object whose ``write`` returns the line, for streaming ``csv.writer`` rows."""

    def write(self, value: str) -> str:
        return value


def neutralise_cell(value: Any) -> str:
    """Text for a CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """UTF-8 with a BOM so Excel reads Korean; ~200 rows per chunk keeps the stream cheap."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([neutralise_cell(v) for v in header])
    rows_iter = iter(rows)
    while chunk := list(itertools.islice(rows_iter, 200)):
        yield "".join(writer.writerow([neutralise_cell(v) for v in r]) for r in chunk)


def _export_queryset(queryset: QuerySet[Contact]) -> Iterator[Contact]:
    if not queryset.ordered:
        queryset = queryset.order_by("pk")
    return (
        queryset.select_related("company", "owner")
        .prefetch_related(None)  # drop a list page's prefetches: ours replace them
        .prefetch_related(
            "tags",
            Prefetch(
                "consents",
                queryset=Consent.objects.filter(
                    purpose=Consent.Purpose.MARKETING_EMAIL
                ),
                to_attr="marketing_consents",
            ),
        )
        .iterator(chunk_size=2000)
    )


def _marketing_consent(contact: Contact) -> bool | None:
    consents = getattr(contact, "marketing_consents", [])
    return consents[0].granted if consents else None


def _tags_cell(contact: Contact) -> str:
    """“vip, wholesale”; Google's “ ::: ” when a tag holds a comma, so it reads back whole."""
    names = sorted(tag.name for tag in contact.tags.all())
    separator = " ::: " if any("," in n or ";" in n for n in names) else ", "
    return separator.join(names)


def contacts_export_csv(*, queryset: QuerySet[Contact]) -> Iterator[str]:
    """Stream contacts as CSV (UTF-8 with BOM, our field names as the header) that the
    importer reads back; cells that look like formulas get a leading quote."""

    def rows() -> Iterator[list[Any]]:
        for contact in _export_queryset(queryset):
            consent = _marketing_consent(contact)
            yield [
                contact.given_name,
                contact.family_name,
                contact.email,
                contact.phone.as_e164 if contact.phone else "",
                contact.company.name if contact.company else "",
                str(contact.country or ""),
                contact.language,
                str(contact.timezone) if contact.timezone else "",
                contact.birthday_iso or "",
                _tags_cell(contact),
                contact.lifecycle_stage,
                "" if consent is None else ("yes" if consent else "no"),
                contact.owner.email if contact.owner else "",
                contact.source,
                contact.created_at.isoformat(),
            ]

    return csv_lines(EXPORT_COLUMNS, rows())


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """RFC 6350 §3.2: lines longer than 75 octets continue on lines starting with a space,
    never splitting a UTF-8 character."""
    parts, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            parts.append(current)
            current, size = " ", 1
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts) + "\r\n"


def contact_vcard(contact: Contact) -> str:
    """One contact as a vCard 4.0 (BDAY ``--MMDD`` when the year is unknown)."""
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:" + _escape(contact.display_name),
        f"N:{_escape(contact.family_name)};{_escape(contact.given_name)};;;",
    ]
    if contact.email:
        lines.append("EMAIL:" + _escape(contact.email))
    if contact.phone:
        lines.append(f"TEL;VALUE=uri;TYPE=cell:tel:{contact.phone.as_e164}")
    if contact.company:
        lines.append("ORG:" + _escape(contact.company.name))
    if contact.birth_month and contact.birth_day:
        year = f"{contact.birth_year:04d}" if contact.birth_year else "--"
        lines.append(f"BDAY:{year}{contact.birth_month:02d}{contact.birth_day:02d}")
    if contact.country:
        code = str(contact.country)
        with translation.override("en"):
            name = str(dict(countries).get(code, code))
        lines.append(f"ADR:;;;;;;{_escape(name)}")
    if contact.language:
        lines.append("LANG:" + contact.language)
    if contact.timezone:
        lines.append(f"TZ:{contact.timezone}")
    if tags := sorted(tag.name for tag in contact.tags.all()):
        lines.append("CATEGORIES:" + ",".join(_escape(tag) for tag in tags))
    lines.append("END:VCARD")
    return "".join(_fold(line) for line in lines)


def contacts_export_vcard(*, queryset: QuerySet[Contact]) -> Iterator[str]:
    """Stream contacts as vCard 4.0, one card per contact."""
    contacts = _export_queryset(queryset)
    while chunk := list(itertools.islice(contacts, 200)):
        yield "".join(contact_vcard(contact) for contact in chunk)
