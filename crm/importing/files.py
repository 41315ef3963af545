"""Reading contact files: encodings, CSV dialects and vCards, one row at a time."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import charset_normalizer
import vobject
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CSV = "csv"
VCARD = "vcard"
EXTENSIONS = {".csv": CSV, ".txt": CSV, ".vcf": VCARD, ".vcard": VCARD}

# Encodings offered in the upload form; detection may also report others (e.g. cp1251).
ENCODING_CHOICES: list[tuple[str, Promise]] = [
    ("", gettext_lazy("Detect automatically")),
    ("utf-8", gettext_lazy("UTF-8")),
    ("utf-8-sig", gettext_lazy("UTF-8 with BOM")),
    ("cp949", gettext_lazy("Korean (CP949 / EUC-KR)")),
    ("cp932", gettext_lazy("Japanese (Shift_JIS)")),
    ("gb18030", gettext_lazy("Chinese, simplified (GB18030)")),
    ("big5", gettext_lazy("Chinese, traditional (Big5)")),
    ("cp1252", gettext_lazy("Western European (Windows-1252)")),
    ("latin-1", gettext_lazy("Western European (ISO 8859-1, Latin-1)")),
    ("utf-16", gettext_lazy("UTF-16")),
]

# A CSV export we wrote prefixes cells starting with these with a quote (formula injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ImportRow:
    """One record of the file: its first line number, its cells (column → text), a read error."""

    line: int
    values: dict[str, str]
    error: str = ""


# --- Decoding ------------------------------------------------------------------------------

# Guesses of charset-normalizer we trust: multi-byte CJK and the non-Latin single-byte
# families. For short Western text it guesses among similar code pages (cp1250, cp1125…)
# almost at random, so those fall through to cp1252/Latin-1.
# fmt: off
_TRUSTED_GUESSES = {
    "cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004",
    "iso2022_jp", "gb2312", "gbk", "gb18030", "hz", "big5", "big5hkscs", "cp950",
    "euc_kr", "cp949", "johab", "iso2022_kr", "utf_16", "utf_16_le", "utf_16_be",
    "utf_32", "utf_32_le", "utf_32_be", "cp1251", "koi8_r", "koi8_u", "iso8859_5",
    "mac_cyrillic", "cp1253", "iso8859_7", "mac_greek", "cp1255", "iso8859_8", "cp1256",
    "iso8859_6", "cp874", "tis_620", "iso8859_11",
}
# fmt: on


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": message})


def decode_bytes(data: bytes, encoding: str = "") -> tuple[str, str]:
    """Decode ``data`` as ``encoding``, or detect it; returns (text, encoding used).

    Detection tries strict UTF-8 (with or without BOM), then CP949 (a superset of EUC-KR,
    Korean Excel's default), then charset-normalizer's best guess, then Latin-1.
    """
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise ValidationError(
                {
                    "encoding": _("“%(value)s” is not a known encoding.")
                    % {"value": encoding}
                }
            ) from None
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            text = data.decode(name)
        except UnicodeDecodeError as exc:
            raise ValidationError(
                {
                    "encoding": _(
                        "The file is not valid %(encoding)s (byte %(position)s). Choose another encoding or let it be detected."
                    )
                    % {"encoding": encoding, "position": exc.start}
                }
            ) from None
        return text.removeprefix("\ufeff"), encoding
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").removeprefix("\ufeff"), "utf-16"
        except UnicodeDecodeError:
            raise _file_error(_("The file says it is UTF-16 but is not.")) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        pass
    else:
        if _plausible_korean(text):
            return text, "cp949"
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.encoding in _TRUSTED_GUESSES:
        try:
            return data.decode(best.encoding), best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    # Excel on Western Windows writes cp1252, which differs from Latin-1 only in 0x80-0x9F.
    if re.search(rb"[\x80-\x9f]", data):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"


def _plausible_korean(text: str) -> bool:
    """CP949 also decodes many Latin-1 byte pairs (“Ärger” → “훣ger”) and Shift_JIS text, into
    rare syllables of its extension area. Real Korean text is mostly in the common KS X 1001
    (EUC-KR) area, where both bytes are 0xA1 or above, so only then is CP949 trusted."""
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return True
    common = sum(1 for ch in wide if min(ch.encode("cp949")) >= 0xA1)
    return common / len(wide) >= 0.5


# --- Files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedFile:
    """A decoded contact file: its format, the encoding used and its columns."""

    format: str
    encoding: str
    text: str
    headers: list[str]
    delimiter: str = ","

    def rows(self) -> Iterator[ImportRow]:
        """Every non-empty record, in file order (the import's cursor counts these)."""
        if self.format == VCARD:
            return _vcard_rows(self.text)
        return _csv_rows(self.text, self.delimiter, self.headers)

    def count_rows(self) -> int:
        if self.format == VCARD:
            return sum(1 for _line, _chunk in _vcard_chunks(self.text))
        return sum(1 for _record in _csv_records(self.text, self.delimiter))


def parse_file(data: bytes, *, filename: str, encoding: str = "") -> ParsedFile:
    """Check the type of an uploaded file and read its header; errors name ``file``."""
    extension = PurePath(filename or "").suffix.lower()
    if extension not in EXTENSIONS:
        raise _file_error(
            _("Upload a CSV (.csv, .txt) or vCard (.vcf, .vcard) file, not “%(name)s”.")
            % {"name": filename}
        )
    if not data.strip():
        raise _file_error(_("The file is empty."))
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error(
            _(
                "This is a spreadsheet workbook, not a CSV file. Save it as “CSV UTF-8” and upload that."
            )
        )
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in data[:8192] and not utf16 and encoding.lower() not in ("utf-16",):
        raise _file_error(_("This is not a text file. Upload a CSV or vCard file."))
    text, used = decode_bytes(data, encoding)
    if text.lstrip()[:11].upper() == "BEGIN:VCARD":
        return ParsedFile(
            format=VCARD, encoding=used, text=text, headers=list(VCARD_COLUMNS)
        )
    if EXTENSIONS[extension] == VCARD:
        raise _file_error(
            _("This file contains no vCard (it should start with BEGIN:VCARD).")
        )
    delimiter = sniff_delimiter(text)
    headers = _csv_headers(text, delimiter)
    if not any(headers):
        raise _file_error(_("The first line of the file should name its columns."))
    return ParsedFile(
        format=CSV, encoding=used, text=text, headers=headers, delimiter=delimiter
    )


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon (European Excel) or tab; the header line decides when sniffing can't."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    try:
        sniffed = csv.Sniffer().sniff(text[:16384], delimiters=",;\t").delimiter
    except csv.Error:
        sniffed = ""
    if sniffed and counts.get(sniffed, 0) >= max(counts.values()):
        return sniffed
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else (sniffed or ",")


def _csv_reader(text: str, delimiter: str) -> Any:
    return csv.reader(text.splitlines(keepends=True), delimiter=delimiter, strict=False)


def _csv_headers(text: str, delimiter: str) -> list[str]:
    for cells in _csv_reader(text, delimiter):
        if any(cell.strip() for cell in cells):
            return _unique_headers(cells)
    return []


def _unique_headers(cells: list[str]) -> list[str]:
    headers: list[str] = []
    for index, cell in enumerate(cells, start=1):
        name = cell.strip().removeprefix("\ufeff") or f"Column {index}"
        base, n = name, 2
        while name in headers:
            name, n = f"{base} ({n})", n + 1
        headers.append(name)
    return headers


def _unneutralise(value: str) -> str:
    """Undo the quote our export puts before formula-like cells ('+8210… → +8210…)."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def _csv_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of every non-empty record after the header."""
    reader = _csv_reader(text, delimiter)
    header_seen = False
    last_line = 0
    for cells in reader:
        first_line, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if not header_seen:
            header_seen = True
            continue
        yield first_line, cells


def _csv_rows(text: str, delimiter: str, headers: list[str]) -> Iterator[ImportRow]:
    for line, cells in _csv_records(text, delimiter):
        values = {
            header: _unneutralise(cells[i].strip()) if i < len(cells) else ""
            for i, header in enumerate(headers)
        }
        yield ImportRow(line=line, values=values)


# --- vCard ---------------------------------------------------------------------------------

VCARD_COLUMNS = (
    "full_name",
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
)


def _vcard_chunks(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of every BEGIN:VCARD … END:VCARD block."""
    start, lines = 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD":
            start, lines = number, [line]
        elif start:
            lines.append(line)
            if marker == "END:VCARD":
                yield start, "\r\n".join(lines) + "\r\n"
                start, lines = 0, []
    if start:
        yield start, "\r\n".join(lines) + "\r\n"  # unterminated: vobject reports it


def _vcard_rows(text: str) -> Iterator[ImportRow]:
    for line, chunk in _vcard_chunks(text):
        try:
            card = vobject.readOne(chunk, ignoreUnreadable=True)
            values = vcard_values(card)
        except Exception:  # vobject raises many kinds of errors for broken cards
            yield ImportRow(
                line=line,
                values={"vcard": chunk[:2000]},
                error=_("This vCard could not be read."),
            )
            continue
        yield ImportRow(line=line, values=values)


def _first(card: Any, name: str, preferred: tuple[str, ...] = ()) -> Any:
    """The first property ``name`` (one with a preferred TYPE, or PREF, if there is one)."""
    items = card.contents.get(name, [])
    if not items:
        return None

    def rank(item: Any) -> int:
        types = {str(t).lower() for t in item.params.get("TYPE", [])}
        if "pref" in types or item.params.get("PREF"):
            return 0
        return 1 if types & set(preferred) else 2

    return sorted(items, key=rank)[0]


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value if v).strip()
    return str(value or "").strip()


def vcard_values(card: Any) -> dict[str, str]:
    """The columns of one vCard 3.0/4.0 (N/FN, EMAIL, TEL, ORG, BDAY, ADR, LANG, TZ, CATEGORIES)."""
    values = dict.fromkeys(VCARD_COLUMNS, "")
    if (n := _first(card, "n")) is not None:
        values["family_name"] = _text(n.value.family)
        values["given_name"] = _text(n.value.given)
    if (fn := _first(card, "fn")) is not None:
        values["full_name"] = _text(fn.value)
    if (email := _first(card, "email", ("internet", "home"))) is not None:
        values["email"] = _text(email.value)
    if (tel := _first(card, "tel", ("cell", "mobile"))) is not None:
        values["phone"] = _text(tel.value).removeprefix("tel:")
    if (org := _first(card, "org")) is not None:
        org_value = org.value
        values["company"] = _text(
            org_value[0] if isinstance(org_value, list) and org_value else org_value
        )
    if (bday := _first(card, "bday")) is not None:
        values["birthday"] = _text(bday.value)
    if (adr := _first(card, "adr", ("home",))) is not None:
        values["country"] = _text(getattr(adr.value, "country", ""))
    if (lang := _first(card, "lang")) is not None:
        values["language"] = _text(lang.value)
    if (tz := _first(card, "tz")) is not None:
        values["timezone"] = _text(tz.value)
    tags: list[str] = []
    for categories in card.contents.get("categories", []):
        value = categories.value
        tags.extend(value if isinstance(value, list) else str(value).split(","))
    values["tags"] = " ::: ".join(t.strip() for t in tags if t.strip())
    return values
