"""Message templates over the REST API: staff list, read and preview; managers change them;
an unknown placeholder is a 400 naming the field; fixed query counts."""

import pytest
from django.db import connection

from crm.models import MessageTemplate
from crm.services import message_template_get, message_template_list
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/outreach/templates/"


def base_subject(template: MessageTemplate) -> str:
    """The untranslated ``subject`` column (modeltranslation reroutes the attribute)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT subject FROM crm_messagetemplate WHERE id = %s", [template.pk]
        )
        return cursor.fetchone()[0]


@pytest.fixture
def birthday() -> MessageTemplate:
    found = message_template_get(occasion="birthday")
    assert found is not None
    return found


def test_anonymous_is_401_customers_403_agents_read_only(
    api_client, agent, customer_a, birthday
):
    detail = f"{URL}{birthday.pk}/"
    assert api_client.get(URL).status_code == 401
    api_client.force_authenticate(customer_a)
    assert api_client.get(URL).status_code == 403
    assert api_client.get(detail).status_code == 403
    api_client.force_authenticate(agent)
    assert api_client.get(detail).status_code == 200
    response = api_client.patch(detail, {"subject_en": "Hacked"}, format="json")
    assert response.status_code == 403
    birthday.refresh_from_db()
    assert birthday.subject_en != "Hacked"


def test_the_list_has_every_template_in_occasion_order(api_client, agent, birthday):
    message_template_list()  # recreates any a flushing test removed
    api_client.force_authenticate(agent)
    results = api_client.get(URL).json()["results"]
    keys = [(row["occasion"], row["step"]) for row in results]
    assert keys == sorted(keys)
    assert ("birthday", 0) in keys
    assert ("onboarding", 1) in keys
    row = next(row for row in results if row["occasion"] == "birthday")
    assert set(row) >= {
        "purpose",
        "active",
        "send_time",
        "delay_days",
        "subject_en",
        "subject_ko",
        "body_text_en",
        "body_text_ko",
    }


def test_a_manager_changes_texts_and_timing(api_client, manager):
    win_back = message_template_get(occasion="win_back")
    api_client.force_authenticate(manager)
    response = api_client.patch(
        f"{URL}{win_back.pk}/",
        {
            "subject_ko": "{{ salutation }}, 보고 싶어요",
            "delay_days": 90,
            "active": True,
            "send_time": "11:00",
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["subject_ko"] == "{{ salutation }}, 보고 싶어요"
    win_back.refresh_from_db()
    assert win_back.delay_days == 90
    assert win_back.subject_en != win_back.subject_ko
    # The base column mirrors English, whatever the caller's language.
    assert base_subject(win_back) == win_back.subject_en


def test_an_unknown_placeholder_is_a_400_naming_the_field(
    api_client, manager, birthday
):
    api_client.force_authenticate(manager)
    response = api_client.patch(
        f"{URL}{birthday.pk}/",
        {"body_text_ko": "{{ salutation }} {{ coupon }}"},
        format="json",
    )
    assert response.status_code == 400
    assert "coupon" in response.json()["body_text_ko"][0]
    response = api_client.patch(
        f"{URL}{birthday.pk}/", {"subject_en": "{% now 'Y' %}"}, format="json"
    )
    assert "subject_en" in response.json()
    response = api_client.patch(
        f"{URL}{birthday.pk}/", {"subject_en": ""}, format="json"
    )
    assert "subject_en" in response.json()


def test_win_back_needs_its_days(api_client, manager):
    win_back = message_template_get(occasion="win_back")
    api_client.force_authenticate(manager)
    response = api_client.patch(
        f"{URL}{win_back.pk}/", {"delay_days": None}, format="json"
    )
    assert response.status_code == 400
    assert "delay_days" in response.json()


def test_the_preview_is_in_korean_with_the_salutation(api_client, agent, birthday):
    kim = ContactFactory(given_name="길동", family_name="홍", language="ko")
    api_client.force_authenticate(agent)
    response = api_client.post(
        f"{URL}{birthday.pk}/preview/", {"contact": kim.pk}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "ko"
    assert body["subject"].startswith("홍길동 고객님")
    assert body["text"].startswith("홍길동 고객님")


def test_the_preview_falls_back_to_english_for_an_empty_translation(
    api_client, agent, birthday
):
    kim = ContactFactory(given_name="길동", family_name="홍", language="ko")
    api_client.force_authenticate(agent)
    response = api_client.post(
        f"{URL}{birthday.pk}/preview/",
        {"contact": kim.pk, "subject_ko": "", "subject_en": "Hello {{ first_name }}"},
        format="json",
    )
    assert response.json()["language"] == "en"
    assert response.json()["subject"] == "Hello 길동"
    birthday.refresh_from_db()
    assert birthday.subject_ko  # a preview never saves


def test_the_preview_checks_unsaved_texts_and_needs_a_contact(
    api_client, agent, birthday
):
    api_client.force_authenticate(agent)
    response = api_client.post(
        f"{URL}{birthday.pk}/preview/",
        {"contact": ContactFactory().pk, "body_text_en": "{{ coupon }}"},
        format="json",
    )
    assert response.status_code == 400
    assert "body_text_en" in response.json()
    response = api_client.post(
        f"{URL}{birthday.pk}/preview/", {"contact": 999999}, format="json"
    )
    assert response.status_code == 400
    assert "contact" in response.json()


def test_list_and_detail_have_fixed_query_counts(
    api_client, agent, birthday, django_assert_num_queries
):
    api_client.force_authenticate(agent)
    with django_assert_num_queries(2):  # the caller's role, the templates
        assert api_client.get(URL).status_code == 200
    with django_assert_num_queries(1):
        assert api_client.get(f"{URL}{birthday.pk}/").status_code == 200


def test_send_times_are_described_as_a_wall_clock_pattern_not_an_offset_time(
    api_client, agent
):
    """Found by the API fuzzer: "09:00:00" broke the schema's `format: time` (which needs an
    offset); the schema now gives the pattern the API really answers with."""
    import re

    message_template_list()  # the shipped templates, whatever the test database holds
    api_client.force_authenticate(agent)
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    field = schema["components"]["schemas"]["MessageTemplateOutput"]["properties"][
        "send_time"
    ]
    assert "format" not in field
    sent = api_client.get("/api/v1/outreach/templates/").json()["results"][0]
    assert re.fullmatch(field["pattern"], sent["send_time"])
