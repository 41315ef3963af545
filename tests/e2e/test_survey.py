"""The NPS journey in a real browser: a Korean customer answers a personal survey link on a phone
(in Korean, no sign-in), cannot answer twice, and the contact's owner then finds the response on
the contact's timeline and the detractor follow-up on My tasks, all under the strict CSP."""

import re

import pytest
from playwright.sync_api import expect

from crm.services import contact_create
from feedback.models import Question, Survey
from feedback.services.surveys import (
    DEFAULT_QUESTIONS,
    NPS_REASON,
    invitations_create,
    survey_create,
    survey_public_path,
)
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NPS_QUESTION_KO = DEFAULT_QUESTIONS[Survey.Kind.NPS][0]["text_ko"]
REASON = "배송이 너무 늦었어요."


@pytest.fixture
def phone(browser, live_server):
    """A phone-sized context with a Korean browser, as the customer opens the link."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="ko-KR",
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    yield page
    context.close()


def csp_messages(page):
    return [m for m in page.console_messages if "Content Security Policy" in m]


def test_korean_customer_answers_nps_on_a_phone_and_the_owner_sees_it(
    phone, page, agent, password
):
    contact = contact_create(
        given_name="길동",
        family_name="홍",
        language="ko",
        email="gildong@example.kr",
        country="KR",
        timezone="Asia/Seoul",
        owner=agent,
    )
    survey = survey_create(title="Spring NPS", kind=Survey.Kind.NPS)
    score_question = survey.questions.get(is_score=True)
    reason_question = survey.questions.get(type=Question.Type.FREE_TEXT)
    batch = invitations_create(survey=survey, contacts=[contact])
    (invitation,) = batch.invited
    link = survey_public_path(invitation)

    # The customer: the personal link, in Korean, on a phone (and a stale second tab of it).
    stale = phone.context.new_page()
    stale.console_messages = []
    stale.on("console", lambda message: stale.console_messages.append(message.text))
    assert stale.goto(link).status == 200
    response = phone.goto(link)
    assert response.status == 200
    expect(phone.locator("html")).to_have_attribute("lang", "ko")
    expect(phone.locator(f"#field-q{score_question.pk} legend")).to_contain_text(
        NPS_QUESTION_KO
    )
    expect(phone.locator(f"#field-q{reason_question.pk} legend")).to_contain_text(
        NPS_REASON[1]
    )
    score = phone.locator(
        f"#field-q{score_question.pk} label", has=phone.locator("input[value='3']")
    )
    score.click()
    expect(score.locator("input")).to_be_checked()
    phone.locator(f"textarea[name=q{reason_question.pk}]").fill(REASON)
    with phone.expect_navigation():
        phone.locator("form.feedback-form [type=submit]").click()

    # The thank-you page (after the redirect), still in Korean; the form is gone.
    expect(phone).to_have_url(re.compile(rf"{re.escape(link)}$"))
    expect(phone.locator("html")).to_have_attribute("lang", "ko")
    expect(phone.locator("#thanks-title")).to_be_visible()
    expect(phone.locator("form.feedback-form")).to_have_count(0)
    expect(phone.locator("textarea")).to_have_count(0)

    # A second submit is not possible: the link now only shows the thank-you page.
    response = phone.reload()
    assert response.status == 200
    expect(phone.locator("#thanks-title")).to_be_visible()
    expect(phone.locator("input[type=radio]")).to_have_count(0)
    expect(phone.locator("[type=submit]")).to_have_count(0)
    assert csp_messages(phone) == []

    # Submitting the stale tab's form too keeps the first answers and says so.
    stale.locator(
        f"#field-q{score_question.pk} label", has=stale.locator("input[value='10']")
    ).click()
    with stale.expect_navigation():
        stale.locator("form.feedback-form [type=submit]").click()
    expect(stale.locator("html")).to_have_attribute("lang", "ko")
    expect(stale.locator("#thanks-title")).to_be_visible()
    expect(stale.get_by_role("status")).to_be_visible()
    assert csp_messages(stale) == []

    invitation.refresh_from_db()
    assert invitation.responded_at is not None
    answered = invitation.response
    assert answered.score == 3
    assert answered.language == "ko"
    assert answered.answers.get(question=reason_question).value == REASON
    assert answered.follow_up_task is not None
    assert survey.responses.count() == 1

    # The owner: the response on the contact's timeline…
    sign_in(page, "/accounts/login/", agent.email, password)
    page.goto(f"/contacts/{contact.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("홍길동")
    entry = page.locator("#timeline .timeline__entry--survey")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Spring NPS")
    expect(entry).to_contain_text(re.compile(r"\b3\b"))

    # …and the follow-up task for that contact on My tasks.
    page.goto("/tasks/")
    task = page.locator(
        "li.task", has=page.locator(f"a[href='/contacts/{contact.pk}/']")
    )
    expect(task).to_have_count(1)
    expect(task).to_be_visible()
    expect(task.locator(".task__title")).to_contain_text("홍길동")
    expect(task.locator(".task__title")).to_contain_text(re.compile(r"\b3\b"))
    assert csp_messages(page) == []
