"""Turning the text of a cell into a contact value: names, countries, languages, dates…

Each ``normalize_*`` returns the canonical value, or the input unchanged when it can't, so the
row check (``crm.importing.mapping.map_row``) can name the value it refused.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from babel import Locale
from django.conf import settings
from django.utils import translation
from django_countries import countries

from crm.models import FAMILY_NAME_FIRST, Contact


def header_key(header: str) -> str:
    """A header reduced to lower-case letters and digits: “E-mail 1 - Value” → “email1value”."""
    folded = unicodedata.normalize("NFKC", header).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


# --- Names, places, dates --------------------------------------------------------------------------------

_HANGUL = re.compile(r"^[\uac00-\ud7a3]+$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]")
# fmt: off
_KOREAN_DOUBLE_SURNAMES = {
    "남궁", "황보", "제갈", "사공", "선우", "서문", "독고", "동방", "어금", "망절", "무본",
}
# fmt: on
# fmt: off
_PARTICLES = {
    "van", "von", "de", "da", "di", "del", "della", "der", "den", "du", "la", "le",
    "ter", "ten", "dos", "das", "zu", "af", "bin", "ibn", "al",
}
# fmt: on


def split_full_name(name: str, language: str = "") -> tuple[str, str]:
    """(given, family) from a full name, by script and language.

    Korean “홍길동” → (길동, 홍), “남궁민수” → (민수, 남궁); names written with a space in a
    family-name-first script or language (山田 太郎, Nguyễn Văn An in ``vi``) take the first
    word as the family name; “Schmidt, Anna” and “Ludwig van Beethoven” split the Western way.
    """
    name = " ".join((name or "").split())
    if not name:
        return "", ""
    if "," in name:
        family, _sep, given = name.partition(",")
        return given.strip(), family.strip()
    words = name.split(" ")
    if len(words) == 1:
        if _HANGUL.match(name) and 2 <= len(name) <= 5:
            cut = 2 if len(name) >= 3 and name[:2] in _KOREAN_DOUBLE_SURNAMES else 1
            return name[cut:], name[:cut]
        if _CJK.search(name):
            return (
                "",
                name,
            )  # 山田太郎: no reliable split, keep it whole as the family name
        return name, ""
    if _CJK.search(name) or language in FAMILY_NAME_FIRST:
        return " ".join(words[1:]), words[0]
    family_start = len(words) - 1
    while family_start > 1 and words[family_start - 1].lower() in _PARTICLES:
        family_start -= 1
    return " ".join(words[:family_start]), " ".join(words[family_start:])


_COUNTRY_ALIASES = {
    "korea": "KR",
    "republic of korea": "KR",
    "korea, republic of": "KR",
    "korea (south)": "KR",
    "korea south": "KR",
    "rok": "KR",
    "한국": "KR",
    "남한": "KR",
    "north korea": "KP",
    "북한": "KP",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "america": "US",
    "united states": "US",
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "great britain": "GB",
    "britain": "GB",
    "영국": "GB",
    "미국": "US",
    "일본": "JP",
    "중국": "CN",
    "독일": "DE",
    "프랑스": "FR",
}
# fmt: off
_TERRITORY_LOCALES = (
    "en", "ko", "ja", "zh_Hans", "zh_Hant", "de", "fr", "es", "it", "pt", "nl", "vi",
    "th", "id", "ru",
)
# fmt: on


@cache
def _country_names() -> dict[str, str]:
    codes = {code for code, _name in countries}
    names: dict[str, str] = {}
    for locale in _TERRITORY_LOCALES:
        for code, name in Locale.parse(locale).territories.items():
            if code in codes:
                names.setdefault(name.casefold(), code)
    for code, name in countries:
        names.setdefault(str(name).casefold(), code)
    names.update(_COUNTRY_ALIASES)
    return names


@cache
def country_codes() -> frozenset[str]:
    """The ISO 3166 codes we know (read once: an import checks one per row)."""
    return frozenset(code for code, _name in countries)


def normalize_country(value: str) -> str:
    """An ISO 3166 code from a code (“kr”, “KOR”) or a name (“South Korea”, “대한민국”);
    unknown values come back unchanged so the check can name them."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) == 2 and value.upper() in country_codes():
        return value.upper()
    if (
        len(value) == 3
        and value.isalpha()
        and (code := countries.alpha2(value.upper()))
    ):
        return str(code)
    return _country_names().get(value.casefold(), value)


@cache
def _language_names() -> dict[str, str]:
    names: dict[str, str] = {}
    codes = [code for code, _name in settings.LANGUAGES]
    for code in codes:
        names[code.casefold()] = code
        try:
            locale = Locale.parse(code.replace("-", "_"))
        except (ValueError, LookupError):
            continue
        for display in {"en", "ko", code, *codes}:
            try:
                if name := locale.get_display_name(display.replace("-", "_")):
                    names.setdefault(name.casefold(), code)
            except (ValueError, LookupError):
                continue
    return names


def normalize_language(value: str) -> str:
    """One of ``LANGUAGES`` from a tag (“ko-KR”, “en_US”) or a name (“Korean”, “한국어”)."""
    value = (value or "").strip()
    if not value:
        return ""
    supported = {code for code, _name in settings.LANGUAGES}
    tag = value.replace("_", "-").lower()
    if tag in supported:
        return tag
    if (primary := tag.split("-")[0]) in supported:
        return primary
    return _language_names().get(value.casefold(), value)


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def normalize_timezone(value: str) -> str:
    """An IANA name; a whole-hour UTC offset (vCard “+09:00”) becomes ``Etc/GMT-9``."""
    value = (value or "").strip()
    if value.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    if match := _OFFSET.match(value):
        sign, hours, minutes = match[1], int(match[2]), int(match[3] or 0)
        if minutes == 0 and hours <= 14:
            if hours == 0:
                return "UTC"
            return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"  # POSIX signs are inverted
    return value


_ISO_BIRTHDAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?$")
_YEARLESS = re.compile(r"^--(\d{2})-?(\d{2})$")
_DOTTED = re.compile(r"^(\d{4})\s*[./]\s*(\d{1,2})\s*[./]\s*(\d{1,2})\.?$")
_SLASHED = re.compile(r"^(\d{1,2})\s*([./])\s*(\d{1,2})\s*[./]\s*(\d{4})$")
_KOREAN_DATE = re.compile(r"^(?:(\d{4})\s*년\s*)?(\d{1,2})\s*월\s*(\d{1,2})\s*일?$")
_EMPTY_DATES = {"0/0/00", "00/00/0000", "0000-00-00", "--00-00"}


def normalize_birthday(value: str) -> str:
    """``YYYY-MM-DD`` or ``--MM-DD`` from the forms exports use: ISO and vCard (19850315,
    --0315, --03-15), 1985.03.15, 1985년 3월 15일, Outlook's 3/15/1985 (month first unless the
    first number is over 12) and 15.03.1985. Anything else comes back unchanged."""
    value = (value or "").strip()
    if not value or value in _EMPTY_DATES:
        return ""
    if match := _ISO_BIRTHDAY.match(value):
        return f"{match[1]}-{match[2]}-{match[3]}"
    if match := _YEARLESS.match(value):
        return f"--{match[1]}-{match[2]}"
    if match := _DOTTED.match(value):
        return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}"
    if match := _KOREAN_DATE.match(value):
        month, day = int(match[2]), int(match[3])
        return (
            f"{match[1]}-{month:02d}-{day:02d}"
            if match[1]
            else f"--{month:02d}-{day:02d}"
        )
    if match := _SLASHED.match(value):
        first, separator, second, year = (
            int(match[1]),
            match[2],
            int(match[3]),
            match[4],
        )
        if separator == "." or first > 12:
            day, month = first, second
        else:
            month, day = first, second
        return f"{year}-{month:02d}-{day:02d}"
    return value


# fmt: off
_TRUE = {
    "yes", "y", "true", "t", "1", "on", "opted in", "opt-in", "subscribed", "granted",
    "예", "네", "동의", "o", "✓",
}
# fmt: on
# fmt: off
_FALSE = {
    "no", "n", "false", "f", "0", "off", "opted out", "opt-out", "unsubscribed",
    "denied", "아니오", "아니요", "거부", "미동의", "비동의", "x", "-",
}
# fmt: on


def normalize_bool(value: str) -> bool | None:
    """True/False from yes/no, true/false, 1/0, 예/아니오, 동의/거부; None when empty."""
    key = (value or "").strip().casefold()
    if not key:
        return None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(value)


_HUBSPOT_STAGES = {
    "marketingqualifiedlead": "lead",
    "salesqualifiedlead": "lead",
    "mql": "lead",
    "sql": "lead",
}


def normalize_lifecycle_stage(value: str) -> str:
    """A ``Contact.LifecycleStage`` value from its value, its label (in any of our languages)
    or HubSpot's stage names; unknown values come back unchanged."""
    key = header_key(value or "")
    if not key:
        return ""
    choices = dict(Contact.LifecycleStage.choices)
    for stage in choices:
        if key == header_key(stage):
            return stage
    if key in _HUBSPOT_STAGES:
        return _HUBSPOT_STAGES[key]
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for stage, label in choices.items():
                if key == header_key(str(label)):
                    return stage
    return value.strip()


def split_tags(value: str) -> list[str]:
    """Tags from “vip, wholesale”, “a; b”, Google's “* myContacts ::: Friends” (system groups
    starting with * are dropped)."""
    # Google's separator, when present, is the only one: tags may then hold commas.
    parts = re.split(r":::" if ":::" in (value or "") else r"[,;|]", value or "")
    tags: list[str] = []
    for part in parts:
        tag = part.strip()
        if (
            tag
            and not tag.startswith("*")
            and tag.casefold() not in {t.casefold() for t in tags}
        ):
            tags.append(tag)
    return tags


def first_value(value: str) -> str:
    """Google puts several values in one cell: “a@x.kr ::: b@y.kr”."""
    return (value or "").split(":::")[0].strip()
