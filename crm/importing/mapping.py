"""Which column goes to which contact field, and one row checked as the services would."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.importing.values import (
    country_codes,
    first_value,
    header_key,
    normalize_birthday,
    normalize_bool,
    normalize_country,
    normalize_language,
    normalize_lifecycle_stage,
    normalize_timezone,
    split_full_name,
    split_tags,
)
from crm.models import Contact

# The fields a column can go to, in the order the mapping page offers them ("" = ignore).
FIELDS: dict[str, Promise] = {
    "given_name": gettext_lazy("Given name"),
    "family_name": gettext_lazy("Family name"),
    "full_name": gettext_lazy("Full name"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "company": gettext_lazy("Company"),
    "country": gettext_lazy("Country"),
    "language": gettext_lazy("Preferred language"),
    "timezone": gettext_lazy("Time zone"),
    "birthday": gettext_lazy("Birthday"),
    "tags": gettext_lazy("Tags"),
    "lifecycle_stage": gettext_lazy("Lifecycle stage"),
    "consent_marketing_email": gettext_lazy("Marketing email consent"),
}
NAME_FIELDS = ("given_name", "family_name", "full_name")


@dataclass(frozen=True)
class MappedRow:
    """A row turned into contact fields (non-empty ones only) plus the errors found, per field."""

    fields: dict[str, Any]
    errors: dict[str, str]
    columns: dict[str, str] = field(default_factory=dict)  # field → column it came from

    def reason(self) -> str:
        return describe_errors(self.errors, self.columns)


# --- Column mapping ------------------------------------------------------------------------


# Known headers of HubSpot, Salesforce, Google Contacts (old and new), Outlook, our own export
# and Korean address books, reduced by ``header_key``.
_KNOWN_HEADERS = {
    "given_name": "given_name|First Name|Given Name|Firstname|FirstName|Forename|Vorname"
    "|Prénom|名",
    "family_name": "family_name|Last Name|Family Name|Surname|Lastname|LastName|Nachname"
    "|Nom|성|姓",
    "full_name": "full_name|Name|Full Name|Display Name|Contact Name|Contact|File As|성명"
    "|고객명|氏名|名前",
    "email": "email|E-mail|Email Address|E-mail Address|Work Email|Primary Email|이메일"
    "|메일|이메일 주소|전자우편|メール",
    "phone": "phone|Phone|Phone Number|Mobile|Mobile Phone|Mobile Phone Number|MobilePhone"
    "|Cell|Cell Phone|Business Phone|Home Phone|Primary Phone|Telephone|Work Phone"
    "|전화번호|전화|휴대폰|휴대전화|휴대폰 번호|핸드폰|연락처|電話番号",
    "company": "company|Company|Company Name|Account Name|Account.Name|Organization"
    "|Organisation|Organization Name|Firma|회사|회사명|소속|직장|会社名",
    "country": "country|Country|Country/Region|Mailing Country|MailingCountry"
    "|Business Country/Region|Home Country/Region|Other Country/Region|Land|국가|나라|国",
    "language": "language|Language|Preferred Language|Locale|언어",
    "timezone": "timezone|Time Zone|IANA Time Zone|시간대",
    "birthday": "birthday|Birthday|Birthdate|Date of Birth|DOB|Geburtstag|생일|생년월일"
    "|誕生日",
    "tags": "tags|Tags|Labels|Group Membership|Categories|Groups|태그|그룹",
    "lifecycle_stage": "lifecycle_stage|Lifecycle Stage|Lifecyclestage",
    "consent_marketing_email": "consent_marketing_email|Marketing Email Consent"
    "|Email Consent|Email Marketing Consent|Accepts Marketing|Marketing Opt In|Opted In"
    "|마케팅 수신 동의|마케팅 동의|광고성 정보 수신 동의|이메일 수신 동의",
}
_HEADERS = {
    header_key(name): target
    for target, names in _KNOWN_HEADERS.items()
    for name in names.split("|")
}

# Numbered columns: Google “E-mail 1 - Value”, “Phone 2 - Value”, “Organization 1 - Name”,
# “Address 1 - Country”; Outlook “E-mail 2 Address”, “Business Phone 2”.
_PATTERNS = (
    (re.compile(r"^email\d+(value|address)$"), "email"),
    (re.compile(r"^phone\d+value$"), "phone"),
    (re.compile(r"^(mobile|business|home|other)phone\d*$"), "phone"),
    (re.compile(r"^organization\d+name$"), "company"),
    (re.compile(r"^address\d+country$"), "country"),
)


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """Column → field for each header we recognise, "" (ignore) for the rest.

    A lone “이름” or “Name” is a full name; next to a family-name column it is the given name.
    """
    mapping: dict[str, str] = {}
    for header in headers:
        key = header_key(header)
        target = _HEADERS.get(key, "")
        if not target:
            target = next((f for pattern, f in _PATTERNS if pattern.match(key)), "")
        mapping[header] = target
    has_family = "family_name" in mapping.values()
    for header in headers:
        if header_key(header) == header_key("이름"):
            mapping[header] = "given_name" if has_family else "full_name"
    return mapping


def validate_mapping(mapping: Mapping[str, Any], headers: list[str]) -> dict[str, str]:
    """The mapping with unknown fields and columns refused; at least one name column needed."""
    if not isinstance(mapping, Mapping):
        raise ValidationError(
            {"mapping": _("The mapping must be an object of column names and fields.")}
        )
    errors = []
    unknown_columns = [c for c in mapping if c not in headers]
    if unknown_columns:
        errors.append(
            _("These columns are not in the file: %(columns)s.")
            % {"columns": ", ".join(map(str, unknown_columns))}
        )
    bad_fields = sorted(
        {str(f) for f in mapping.values() if f not in FIELDS and f not in ("", None)}
    )
    if bad_fields:
        errors.append(
            _("Unknown fields: %(fields)s. Use one of: %(choices)s.")
            % {"fields": ", ".join(bad_fields), "choices": ", ".join(FIELDS)}
        )
    if errors:
        raise ValidationError({"mapping": errors})
    cleaned = {column: str(mapping.get(column) or "") for column in headers}
    if not any(f in NAME_FIELDS for f in cleaned.values()):
        raise ValidationError(
            {
                "mapping": _(
                    "Choose the column that holds the name (given name, family name or full name)."
                )
            }
        )
    return cleaned


# --- Rows → contact fields -----------------------------------------------------------------


def map_row(values: Mapping[str, str], mapping: Mapping[str, str]) -> MappedRow:
    """The contact fields of one row under ``mapping``, each checked as the services would.

    When several columns go to one field the first non-empty one wins (tags are combined).
    Only non-empty fields are returned, so an update never blanks what the file left empty.
    """
    # crm.services imports this package, so its parsers are imported when first used.
    from crm.services.contacts import parse_birthday, parse_phone

    raw: dict[str, str] = {}
    columns: dict[str, str] = {}
    tags: list[str] = []
    for column, target in mapping.items():
        value = (values.get(column) or "").strip()
        if not target:
            continue
        if target == "tags":
            tags.extend(t for t in split_tags(value) if t not in tags)
            columns.setdefault("tags", column)
        elif value and target not in raw:
            raw[target], columns[target] = value, column
        else:
            columns.setdefault(target, column)  # so an error can name the column
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}

    if language := normalize_language(raw.get("language", "")):
        if language in dict(settings.LANGUAGES):
            fields["language"] = language
        else:
            errors["language"] = _(
                "“%(value)s” is not a supported language: %(choices)s."
            ) % {
                "value": language,
                "choices": ", ".join(code for code, _name in settings.LANGUAGES),
            }

    given, family = raw.get("given_name", ""), raw.get("family_name", "")
    if not (given or family) and raw.get("full_name"):
        given, family = split_full_name(raw["full_name"], fields.get("language", ""))
        columns.setdefault("given_name", columns["full_name"])
        columns.setdefault("family_name", columns["full_name"])
    for name, value in (("given_name", given), ("family_name", family)):
        if len(value) > 150:
            errors[name] = _("At most 150 characters.")
        elif value:
            fields[name] = value
    if not (given or family):
        key = "full_name" if "full_name" in mapping.values() else "given_name"
        errors[key] = _("Enter a given name or a family name.")

    if email := first_value(raw.get("email", "")).lower():
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = _("Enter a valid email address.")
        else:
            fields["email"] = email

    if country := normalize_country(raw.get("country", "")):
        if country in country_codes():
            fields["country"] = country
        else:
            errors["country"] = _("“%(value)s” is not a country we know.") % {
                "value": country
            }

    if phone := first_value(raw.get("phone", "")):
        try:
            fields["phone"] = parse_phone(phone, country=fields.get("country", ""))
        except ValidationError as exc:
            errors["phone"] = " ".join(exc.messages)

    if company := raw.get("company", ""):
        if len(company) > 200:
            errors["company"] = _("At most 200 characters.")
        else:
            fields["company"] = company

    if tz := normalize_timezone(raw.get("timezone", "")):
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = _(
                "“%(value)s” is not a known IANA time zone, such as Asia/Seoul."
            ) % {"value": tz}
        else:
            fields["timezone"] = tz

    if birthday := normalize_birthday(raw.get("birthday", "")):
        try:
            parse_birthday(birthday)
        except ValidationError as exc:
            errors["birthday"] = " ".join(exc.messages)
        else:
            fields["birthday"] = birthday

    if too_long := [t for t in tags if len(t) > 60]:
        errors["tags"] = _("A tag can be at most 60 characters long: %(tag)s") % {
            "tag": too_long[0][:60] + "…"
        }
    elif tags:
        fields["tags"] = tags

    if stage := normalize_lifecycle_stage(raw.get("lifecycle_stage", "")):
        if stage in dict(Contact.LifecycleStage.choices):
            fields["lifecycle_stage"] = stage
        else:
            errors["lifecycle_stage"] = _(
                "“%(value)s” is not a lifecycle stage. Use one of: %(choices)s."
            ) % {"value": stage, "choices": ", ".join(Contact.LifecycleStage.values)}

    if consent := raw.get("consent_marketing_email", ""):
        try:
            granted = normalize_bool(consent)
        except ValueError:
            errors["consent_marketing_email"] = _("“%(value)s” is not yes or no.") % {
                "value": consent
            }
        else:
            if granted is not None:
                fields["consent_marketing_email"] = granted
    return MappedRow(fields=fields, errors=errors, columns=columns)


# Service error keys that belong to an import field.
_ERROR_FIELDS = {
    "birth_day": "birthday",
    "birth_month": "birthday",
    "birth_year": "birthday",
    "consents.marketing_email": "consent_marketing_email",
}


def describe_errors(errors: Mapping[str, Any], columns: Mapping[str, str]) -> str:
    """One translated sentence per field: “Email (column “E-mail Address”): Enter a valid…”."""
    parts = []
    for key, message in errors.items():
        text = " ".join(message) if isinstance(message, list | tuple) else str(message)
        field_name = _ERROR_FIELDS.get(key, key)
        label = FIELDS.get(field_name)
        if label is None:
            parts.append(text)
        elif column := columns.get(field_name):
            parts.append(
                _("%(field)s (column “%(column)s”): %(message)s")
                % {"field": label, "column": column, "message": text}
            )
        else:
            parts.append(
                _("%(field)s: %(message)s") % {"field": label, "message": text}
            )
    return " ".join(parts)
