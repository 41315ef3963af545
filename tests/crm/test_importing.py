"""Reading contact files: encodings, CSV dialects, vCards, vendor headers and row checks."""

import pytest
from django.core.exceptions import ValidationError

from crm.importing import (
    CSV,
    VCARD,
    decode_bytes,
    map_row,
    normalize_birthday,
    normalize_country,
    normalize_language,
    normalize_lifecycle_stage,
    parse_file,
    split_full_name,
    split_tags,
    suggest_mapping,
    validate_mapping,
)

pytestmark = pytest.mark.smoke

NAMES_CSV = (
    "given_name,family_name,email\n"
    "길동,홍,gildong@example.kr\n"
    "太郎,山田,taro@example.jp\n"
    "Jürgen,Groß,juergen@example.de\n"
)


def _rows(parsed):
    return [row.values for row in parsed.rows()]


# --- Encodings -----------------------------------------------------------------------------


def test_utf8_is_detected_and_korean_japanese_and_german_names_survive():
    parsed = parse_file(NAMES_CSV.encode("utf-8"), filename="people.csv")
    assert parsed.encoding == "utf-8"
    assert [r["given_name"] for r in _rows(parsed)] == ["길동", "太郎", "Jürgen"]
    assert [r["family_name"] for r in _rows(parsed)] == ["홍", "山田", "Groß"]


def test_utf8_with_bom_is_reported_and_the_bom_does_not_stick_to_the_first_header():
    parsed = parse_file(NAMES_CSV.encode("utf-8-sig"), filename="people.csv")
    assert parsed.encoding == "utf-8-sig"
    assert parsed.headers[0] == "given_name"
    assert _rows(parsed)[0]["given_name"] == "길동"


def test_cp949_is_detected_including_syllables_outside_euc_kr():
    text = "이름,성,이메일\n길동,홍,gd@example.kr\n똠방,김,kim@example.kr\n"
    parsed = parse_file(text.encode("cp949"), filename="주소록.csv")
    assert parsed.encoding == "cp949"
    assert [r["이름"] for r in _rows(parsed)] == ["길동", "똠방"]


def test_euc_kr_is_read_as_its_superset_cp949():
    text = "이름,성,이메일\n지민,김,jimin@example.kr\n서연,이,seoyeon@example.kr\n"
    parsed = parse_file(text.encode("euc-kr"), filename="list.csv")
    assert parsed.encoding == "cp949"
    assert [r["성"] + r["이름"] for r in _rows(parsed)] == ["김지민", "이서연"]


def test_latin1_german_names_survive_even_where_cp949_could_decode_the_bytes():
    # "Ärger" is valid CP949 byte-wise (Ä + r → one Hangul syllable); it must not be read so.
    text = (
        "Vorname;Nachname;E-Mail\nJürgen;Groß;j@example.de\nÄnne;Ärger;a@example.de\n"
    )
    parsed = parse_file(text.encode("latin-1"), filename="kunden.csv")
    assert parsed.encoding == "latin-1"
    assert _rows(parsed) == [
        {"Vorname": "Jürgen", "Nachname": "Groß", "E-Mail": "j@example.de"},
        {"Vorname": "Änne", "Nachname": "Ärger", "E-Mail": "a@example.de"},
    ]


def test_windows_1252_punctuation_is_detected_as_cp1252():
    text = (
        "Name,Notes\nFrançoise Dupont,“VIP” \u2013 5 €\n"  # curly quotes, en dash, euro
    )
    decoded, encoding = decode_bytes(text.encode("cp1252"))
    assert encoding == "cp1252"
    assert decoded == text


def test_shift_jis_is_detected_by_charset_normalizer():
    text = "姓,名,メール\n山田,太郎,taro@example.jp\n佐藤,花子,hanako@example.jp\n鈴木,一郎,ichiro@example.jp\n"
    parsed = parse_file(text.encode("shift_jis"), filename="連絡先.csv")
    assert parsed.encoding in {"cp932", "shift_jis"}
    assert [r["姓"] for r in _rows(parsed)] == ["山田", "佐藤", "鈴木"]


def test_an_encoding_chosen_by_the_user_wins_over_detection():
    data = "Name\nJürgen\n".encode("latin-1")
    text, encoding = decode_bytes(data, "cp1252")
    assert (text, encoding) == ("Name\nJürgen\n", "cp1252")


def test_a_chosen_encoding_that_does_not_fit_names_the_encoding_field():
    with pytest.raises(ValidationError) as caught:
        parse_file("이름\n홍길동\n".encode("cp949"), filename="a.csv", encoding="utf-8")
    assert "encoding" in caught.value.message_dict


# --- Files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_csv_delimiter_is_sniffed(delimiter):
    text = delimiter.join(["First Name", "Last Name", "Company"]) + "\n"
    text += delimiter.join(["Anna", "Schmidt", '"Müller, Meier & Co"']) + "\n"
    parsed = parse_file(text.encode(), filename="x.csv")
    assert parsed.delimiter == delimiter
    assert _rows(parsed) == [
        {"First Name": "Anna", "Last Name": "Schmidt", "Company": "Müller, Meier & Co"}
    ]


def test_line_numbers_count_physical_lines_including_multiline_cells_and_blank_lines():
    text = 'name,email\n"Anna\nMaria",anna@example.com\n\nBen,ben@example.com\n'
    rows = list(parse_file(text.encode(), filename="x.csv").rows())
    assert [row.line for row in rows] == [2, 5]


def test_the_row_count_is_the_number_of_rows_read():
    text = (
        '\n , \nname,email\n"Anna\nMaria",a@example.com\n,\n\nBen,b@example.com\nCy\n'
    )
    parsed = parse_file(text.encode(), filename="x.csv")
    assert parsed.count_rows() == len(list(parsed.rows())) == 3


def test_cells_our_export_neutralised_are_read_back_as_they_were():
    text = "given_name,phone\n'=Anna,'+821012345678\n"
    assert _rows(parse_file(text.encode(), filename="x.csv")) == [
        {"given_name": "=Anna", "phone": "+821012345678"}
    ]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("contacts.exe", b"name\nAnna\n"),
        ("contacts.csv", b""),
        ("contacts.csv", b"PK\x03\x04\x14\x00\x06\x00workbook"),
        ("contacts.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("contacts.vcf", b"name,email\nAnna,anna@example.com\n"),
    ],
)
def test_a_file_that_is_not_csv_or_vcard_is_refused_naming_the_file_field(name, data):
    with pytest.raises(ValidationError) as caught:
        parse_file(data, filename=name)
    assert list(caught.value.message_dict) == ["file"]


# --- vCard ---------------------------------------------------------------------------------

VCARD_3 = """BEGIN:VCARD
VERSION:3.0
N:Hong;Gildong;;;
FN:Gildong Hong
EMAIL;TYPE=INTERNET,HOME:gildong@example.kr
TEL;TYPE=WORK:+82 2-312-3456
TEL;TYPE=CELL:+82 10-1234-5678
ORG:Rapport Inc.;Sales
BDAY:1985-03-15
ADR;TYPE=HOME:;;1 Sejong-daero;Seoul;;04524;South Korea
CATEGORIES:vip,wholesale
END:VCARD
"""

VCARD_4 = """BEGIN:VCARD
VERSION:4.0
N:김;지민;;;
FN:김지민
EMAIL:Jimin@Example.kr
TEL;VALUE=uri;TYPE=cell:tel:+82-10-9876-5432
BDAY:--0229
LANG;PREF=1:ko-KR
TZ:Asia/Seoul
ADR:;;;;;;대한민국
CATEGORIES:friends
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Anna Schmidt
BDAY:--12-24
TZ:+01:00
END:VCARD
"""


def _vcard_fields(text):
    parsed = parse_file(text.encode(), filename="contacts.vcf")
    assert parsed.format == VCARD
    mapping = suggest_mapping(parsed.headers)
    return [map_row(row.values, mapping) for row in parsed.rows()]


def test_vcard_3_fields_are_read():
    (row,) = _vcard_fields(VCARD_3)
    assert row.errors == {}
    assert row.fields == {
        "given_name": "Gildong",
        "family_name": "Hong",
        "email": "gildong@example.kr",
        "phone": "+821012345678",  # the cell phone is preferred
        "company": "Rapport Inc.",
        "country": "KR",
        "birthday": "1985-03-15",
        "tags": ["vip", "wholesale"],
    }


def test_vcard_4_reads_lang_tz_and_birthdays_without_a_year():
    jimin, anna = _vcard_fields(VCARD_4)
    assert jimin.errors == {}
    assert jimin.fields == {
        "given_name": "지민",
        "family_name": "김",
        "email": "jimin@example.kr",
        "phone": "+821098765432",
        "country": "KR",
        "language": "ko",
        "timezone": "Asia/Seoul",
        "birthday": "--02-29",
        "tags": ["friends"],
    }
    # No N: the FN is split; a UTC offset becomes the matching Etc zone.
    assert anna.fields["given_name"] == "Anna"
    assert anna.fields["family_name"] == "Schmidt"
    assert anna.fields["birthday"] == "--12-24"
    assert anna.fields["timezone"] == "Etc/GMT-1"


def test_each_vcard_row_carries_the_line_where_it_begins():
    parsed = parse_file(VCARD_4.encode(), filename="c.vcf")
    assert [row.line for row in parsed.rows()] == [1, 13]
    assert parsed.count_rows() == 2


def test_a_broken_vcard_becomes_a_row_with_a_read_error_not_a_crash():
    text = VCARD_3 + "BEGIN:VCARD\nVERSION:3.0\nN:;;\nBDAY;VALUE=date:\n:::bad\n"
    rows = list(parse_file(text.encode(), filename="c.vcf").rows())
    assert len(rows) == 2
    assert rows[0].error == ""
    assert rows[1].error


# --- Column mapping ------------------------------------------------------------------------

VENDOR_HEADERS = {
    "hubspot": (
        [
            "Record ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone Number",
            "Mobile Phone Number",
            "Company Name",
            "Country/Region",
            "Preferred language",
            "Lifecycle Stage",
            "Contact owner",
        ],
        {
            "Record ID": "",
            "First Name": "given_name",
            "Last Name": "family_name",
            "Email": "email",
            "Phone Number": "phone",
            "Mobile Phone Number": "phone",
            "Company Name": "company",
            "Country/Region": "country",
            "Preferred language": "language",
            "Lifecycle Stage": "lifecycle_stage",
            "Contact owner": "",
        },
    ),
    "salesforce": (
        [
            "Salutation",
            "First Name",
            "Last Name",
            "Email",
            "Phone",
            "Mobile",
            "Account Name",
            "Mailing Country",
            "Birthdate",
            "Email Opt Out",
        ],
        {
            "Salutation": "",
            "First Name": "given_name",
            "Last Name": "family_name",
            "Email": "email",
            "Phone": "phone",
            "Mobile": "phone",
            "Account Name": "company",
            "Mailing Country": "country",
            "Birthdate": "birthday",
            "Email Opt Out": "",  # the opposite of consent: never mapped by guess
        },
    ),
    "salesforce_api": (
        [
            "FirstName",
            "LastName",
            "Email",
            "MobilePhone",
            "MailingCountry",
            "Birthdate",
        ],
        {
            "FirstName": "given_name",
            "LastName": "family_name",
            "Email": "email",
            "MobilePhone": "phone",
            "MailingCountry": "country",
            "Birthdate": "birthday",
        },
    ),
    "google_old": (
        [
            "Name",
            "Given Name",
            "Additional Name",
            "Family Name",
            "Birthday",
            "Group Membership",
            "E-mail 1 - Type",
            "E-mail 1 - Value",
            "E-mail 2 - Value",
            "Phone 1 - Type",
            "Phone 1 - Value",
            "Organization 1 - Name",
            "Organization 1 - Title",
            "Address 1 - Country",
        ],
        {
            "Name": "full_name",
            "Given Name": "given_name",
            "Additional Name": "",
            "Family Name": "family_name",
            "Birthday": "birthday",
            "Group Membership": "tags",
            "E-mail 1 - Type": "",
            "E-mail 1 - Value": "email",
            "E-mail 2 - Value": "email",
            "Phone 1 - Type": "",
            "Phone 1 - Value": "phone",
            "Organization 1 - Name": "company",
            "Organization 1 - Title": "",
            "Address 1 - Country": "country",
        },
    ),
    "google_new": (
        [
            "First Name",
            "Middle Name",
            "Last Name",
            "Organization Name",
            "Birthday",
            "Labels",
            "E-mail 1 - Label",
            "E-mail 1 - Value",
            "Phone 1 - Label",
            "Phone 1 - Value",
        ],
        {
            "First Name": "given_name",
            "Middle Name": "",
            "Last Name": "family_name",
            "Organization Name": "company",
            "Birthday": "birthday",
            "Labels": "tags",
            "E-mail 1 - Label": "",
            "E-mail 1 - Value": "email",
            "Phone 1 - Label": "",
            "Phone 1 - Value": "phone",
        },
    ),
    "outlook": (
        [
            "Title",
            "First Name",
            "Middle Name",
            "Last Name",
            "Company",
            "Job Title",
            "Business Phone",
            "Home Phone",
            "Mobile Phone",
            "E-mail Address",
            "E-mail 2 Address",
            "Business Country/Region",
            "Birthday",
            "Categories",
        ],
        {
            "Title": "",
            "First Name": "given_name",
            "Middle Name": "",
            "Last Name": "family_name",
            "Company": "company",
            "Job Title": "",
            "Business Phone": "phone",
            "Home Phone": "phone",
            "Mobile Phone": "phone",
            "E-mail Address": "email",
            "E-mail 2 Address": "email",
            "Business Country/Region": "country",
            "Birthday": "birthday",
            "Categories": "tags",
        },
    ),
    "rapport": (
        [
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
        ],
        {
            "given_name": "given_name",
            "family_name": "family_name",
            "email": "email",
            "phone": "phone",
            "company": "company",
            "country": "country",
            "language": "language",
            "timezone": "timezone",
            "birthday": "birthday",
            "tags": "tags",
            "lifecycle_stage": "lifecycle_stage",
            "consent_marketing_email": "consent_marketing_email",
            "owner": "",
            "source": "",
            "created_at": "",
        },
    ),
    "korean": (
        ["이름", "성", "이메일", "전화번호", "회사", "국가", "생일", "메모"],
        {
            "이름": "given_name",
            "성": "family_name",
            "이메일": "email",
            "전화번호": "phone",
            "회사": "company",
            "국가": "country",
            "생일": "birthday",
            "메모": "",
        },
    ),
}


@pytest.mark.parametrize("vendor", list(VENDOR_HEADERS))
def test_the_export_headers_of_each_vendor_are_mapped(vendor):
    headers, expected = VENDOR_HEADERS[vendor]
    assert suggest_mapping(headers) == expected


def test_a_lone_korean_name_column_is_a_full_name():
    assert suggest_mapping(["이름", "이메일"]) == {
        "이름": "full_name",
        "이메일": "email",
    }


def test_a_mapping_without_a_name_column_or_with_unknown_fields_names_the_mapping():
    with pytest.raises(ValidationError) as caught:
        validate_mapping({"E-mail": "email"}, ["E-mail"])
    assert "mapping" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        validate_mapping({"Name": "nickname"}, ["Name"])
    assert "nickname" in caught.value.message_dict["mapping"][0]
    with pytest.raises(ValidationError):
        validate_mapping({"Missing": "full_name"}, ["Name"])


def test_validate_mapping_fills_unmentioned_columns_with_ignore():
    assert validate_mapping({"Name": "full_name"}, ["Name", "Notes"]) == {
        "Name": "full_name",
        "Notes": "",
    }


# --- Values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "language", "expected"),
    [
        ("홍길동", "", ("길동", "홍")),
        ("남궁민수", "", ("민수", "남궁")),
        ("홍 길동", "", ("길동", "홍")),
        ("山田 太郎", "", ("太郎", "山田")),
        ("Anna Schmidt", "", ("Anna", "Schmidt")),
        ("Ludwig van Beethoven", "", ("Ludwig", "van Beethoven")),
        ("Schmidt, Anna", "", ("Anna", "Schmidt")),
        ("Nguyễn Văn An", "vi", ("Văn An", "Nguyễn")),
        ("Madonna", "", ("Madonna", "")),
    ],
)
def test_a_full_name_is_split_by_script_and_language(name, language, expected):
    assert split_full_name(name, language) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("KR", "KR"),
        ("kr", "KR"),
        ("KOR", "KR"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("대한민국", "KR"),
        ("한국", "KR"),
        ("Deutschland", "DE"),
        ("日本", "JP"),
        ("United States", "US"),
        ("Narnia", "Narnia"),
    ],
)
def test_countries_are_read_from_codes_and_names_in_several_languages(value, code):
    assert normalize_country(value) == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19850315", "1985-03-15"),
        ("1985-03-15", "1985-03-15"),
        ("--0315", "--03-15"),
        ("--03-15", "--03-15"),
        ("1985.03.15", "1985-03-15"),
        ("1985. 3. 15.", "1985-03-15"),
        ("1985년 3월 15일", "1985-03-15"),
        ("3월 15일", "--03-15"),
        ("3/15/1985", "1985-03-15"),
        ("15/3/1985", "1985-03-15"),
        ("15.03.1985", "1985-03-15"),
        ("0/0/00", ""),
    ],
)
def test_birthdays_are_read_in_the_forms_exports_use(value, expected):
    assert normalize_birthday(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("en_US", "en"),
        ("Korean", "ko"),
        ("한국어", "ko"),
    ],
)
def test_languages_are_read_from_tags_and_names(value, code):
    assert normalize_language(value) == code


def test_lifecycle_stages_accept_values_labels_and_hubspot_names():
    assert normalize_lifecycle_stage("Customer") == "customer"
    assert normalize_lifecycle_stage("marketingqualifiedlead") == "lead"
    assert normalize_lifecycle_stage("Partner") == "Partner"


def test_google_labels_drop_system_groups():
    assert split_tags("* myContacts ::: VIP ::: Friends") == ["VIP", "Friends"]
    assert split_tags("vip; wholesale, VIP") == ["vip", "wholesale"]


# --- Rows ----------------------------------------------------------------------------------


def test_a_row_is_checked_field_by_field_and_errors_name_field_and_column():
    mapping = {
        "Name": "full_name",
        "E-mail": "email",
        "Tel": "phone",
        "DOB": "birthday",
    }
    row = map_row(
        {"Name": "홍길동", "E-mail": "not-an-email", "Tel": "12", "DOB": "1985-02-30"},
        mapping,
    )
    assert set(row.errors) == {"email", "phone", "birthday"}
    assert row.fields == {"given_name": "길동", "family_name": "홍"}
    reason = row.reason()
    assert "Email (column “E-mail”)" in reason
    assert "Phone (column “Tel”)" in reason
    assert "Birthday (column “DOB”)" in reason


def test_a_row_without_any_name_is_refused_naming_the_name_column():
    row = map_row(
        {"Name": "", "E-mail": "a@example.com"},
        {"Name": "full_name", "E-mail": "email"},
    )
    assert set(row.errors) == {"full_name"}
    assert "column “Name”" in row.reason()


def test_the_first_non_empty_of_several_columns_wins_and_tags_are_combined():
    mapping = {
        "Work": "phone",
        "Mobile": "phone",
        "First": "given_name",
        "A": "tags",
        "B": "tags",
    }
    row = map_row(
        {
            "Work": "",
            "Mobile": "010-1234-5678",
            "First": "Mina",
            "A": "vip",
            "B": "vip, new",
        },
        {**mapping, "Country": "country"},
    )
    assert row.fields["tags"] == ["vip", "new"]
    # Without a country, a national number has no country code to go by.
    assert "phone" in row.errors
    row = map_row(
        {"Work": "", "Mobile": "010-1234-5678", "First": "Mina", "Country": "대한민국"},
        {**mapping, "Country": "country"},
    )
    assert row.fields["phone"] == "+821012345678"
    assert row.fields["country"] == "KR"


def test_consent_columns_understand_yes_no_in_english_and_korean():
    mapping = {"n": "given_name", "c": "consent_marketing_email"}
    assert (
        map_row({"n": "A", "c": "예"}, mapping).fields["consent_marketing_email"]
        is True
    )
    assert (
        map_row({"n": "A", "c": "no"}, mapping).fields["consent_marketing_email"]
        is False
    )
    assert (
        "consent_marketing_email" in map_row({"n": "A", "c": "maybe"}, mapping).errors
    )


def test_csv_format_constant_is_reported_for_csv_files():
    assert parse_file(b"Name\nA\n", filename="a.txt").format == CSV
