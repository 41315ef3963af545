"""The staff survey editor: conditional (“show if”) follow-up questions."""

import pytest
from django.urls import reverse

from feedback.models import Question
from feedback.services import survey_create

pytestmark = pytest.mark.django_db

SURVEY = {
    "title_en": "After your visit",
    "kind": "csat",
    "active": "on",
    "max_reminders": 1,
    "reminder_interval_days": 3,
    "expiry_days": 14,
}


@pytest.fixture
def survey(manager):
    return survey_create(title="After your visit", kind="csat", created_by=manager)


def _post(questions):
    data = dict(SURVEY)
    data.update(
        {
            "questions-TOTAL_FORMS": len(questions),
            "questions-INITIAL_FORMS": 0,
            "questions-MIN_NUM_FORMS": 0,
            "questions-MAX_NUM_FORMS": 1000,
        }
    )
    for index, question in enumerate(questions):
        for key, value in question.items():
            data[f"questions-{index}-{key}"] = value
    return data


SCORE = {"text_en": "How satisfied?", "type": "rating_scale", "min_value": 1}
SCORE_MAX = {**SCORE, "max_value": 5, "is_score": "on"}
CHOICE = {
    "text_en": "Which store?",
    "type": "single_choice",
    "choices_en": "Seoul\nBusan",
}


def test_the_editor_shows_the_show_if_fields(client, manager, survey):
    client.force_login(manager)
    page = client.get(reverse("feedback:survey_edit", args=[survey.pk])).content
    assert b"questions-0-show_if_question" in page
    assert b"questions-0-show_if_values" in page


def test_saving_a_conditional_question_stores_show_if(client, manager, survey):
    client.force_login(manager)
    follow_up = {
        "text_en": "What went wrong?",
        "type": "free_text",
        "show_if_question": 1,
        "show_if_values": "1, 2 ,",
    }
    response = client.post(
        reverse("feedback:survey_edit", args=[survey.pk]),
        _post([SCORE_MAX, follow_up]),
    )
    assert response.status_code == 302
    second = survey.questions.get(order=2)
    assert second.show_if == {"question": 1, "values": ["1", "2"]}
    assert survey.questions.get(order=1).show_if is None
    page = client.get(reverse("feedback:survey_edit", args=[survey.pk])).content
    assert b'value="1, 2"' in page


def test_a_later_or_unknown_question_is_refused_on_the_field(client, manager, survey):
    client.force_login(manager)
    before = list(survey.questions.values_list("pk", flat=True))
    for number in (2, 9):
        follow_up = {
            "text_en": "What went wrong?",
            "type": "free_text",
            "show_if_question": number,
            "show_if_values": "1",
        }
        response = client.post(
            reverse("feedback:survey_edit", args=[survey.pk]),
            _post([SCORE_MAX, follow_up, CHOICE]),
        )
        assert response.status_code == 200
        formset = response.context["formset"]
        errors = formset.forms[1].errors["show_if_question"]
        assert "Question 2" in errors[0]
        assert "show if" in errors[0]
        assert not formset.forms[0].errors
        assert not response.context["form"].non_field_errors()
        assert list(survey.questions.values_list("pk", flat=True)) == before
        assert not Question.objects.filter(text_en="What went wrong?").exists()


def test_values_without_a_question_number_are_refused(client, manager, survey):
    client.force_login(manager)
    follow_up = {"text_en": "Why?", "type": "free_text", "show_if_values": "1"}
    response = client.post(
        reverse("feedback:survey_edit", args=[survey.pk]),
        _post([SCORE_MAX, follow_up]),
    )
    assert response.status_code == 200
    assert "show_if_question" in response.context["formset"].forms[1].errors
    assert not Question.objects.filter(text_en="Why?").exists()
