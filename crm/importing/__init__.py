"""Reading contact files for import: pure functions, no database writes.

``files`` decodes an upload (detecting its encoding) and reads CSV or vCard rows; ``mapping``
suggests which column goes to which contact field and checks one row as the services would;
``values`` turns cell text into contact values (names, countries, languages, birthdays).
``crm.services.imports`` stores what they return.
"""

from crm.importing.files import (
    CSV,
    ENCODING_CHOICES,
    FORMULA_PREFIXES,
    VCARD,
    ImportRow,
    ParsedFile,
    decode_bytes,
    parse_file,
    sniff_delimiter,
    vcard_values,
)
from crm.importing.mapping import (
    FIELDS,
    NAME_FIELDS,
    MappedRow,
    describe_errors,
    map_row,
    suggest_mapping,
    validate_mapping,
)
from crm.importing.values import (
    normalize_birthday,
    normalize_bool,
    normalize_country,
    normalize_language,
    normalize_lifecycle_stage,
    normalize_timezone,
    split_full_name,
    split_tags,
)

__all__ = [
    "CSV",
    "ENCODING_CHOICES",
    "FIELDS",
    "FORMULA_PREFIXES",
    "NAME_FIELDS",
    "VCARD",
    "ImportRow",
    "MappedRow",
    "ParsedFile",
    "decode_bytes",
    "describe_errors",
    "map_row",
    "normalize_birthday",
    "normalize_bool",
    "normalize_country",
    "normalize_language",
    "normalize_lifecycle_stage",
    "normalize_timezone",
    "parse_file",
    "sniff_delimiter",
    "split_full_name",
    "split_tags",
    "suggest_mapping",
    "validate_mapping",
    "vcard_values",
]
