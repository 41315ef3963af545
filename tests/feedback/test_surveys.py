"""Surveys: default questions, formulas, links, cap, reminders, closing the loop, pages, API."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from crm import hooks
from crm.models import Segment, Task
from crm.services import contact_merge
from crm.timeline import contact_timeline
from feedback.models import Invitation, Question, Response, Survey
from feedback.selectors.surveys import score_metric, survey_export_csv, survey_results
from feedback.services import (
    SurveyLinkError,
    invitation_reminders_send,
    invitations_create,
    invitations_send_due,
    response_submit,
    survey_create,
)
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    seen: list[dict] = []

    def listen(*, contact_id, event, data):
        seen.append({"contact_id": contact_id, "event": event, "data": data})

    hooks.contact_events.register(listen)
    yield seen
    hooks.contact_events.unregister(listen)


@pytest.fixture
def nps(manager):
    return survey_create(title="How are we doing?", kind="nps", created_by=manager)


def _score_q(survey):
    return survey.questions.get(is_score=True)


def _answer(survey, contact, score, reason="", now=None):
    batch = invitations_create(survey=survey, contacts=[contact], now=now)
    invitation = batch.invited[0]
    questions = list(survey.questions.order_by("order"))
    answers = {str(questions[0].pk): score}
    if len(questions) > 1:
        answers[str(questions[1].pk)] = reason
    return response_submit(
        token=invitation.token, answers=answers, language="en", now=now
    )


# --- building ------------------------------------------------------------------------------


def test_an_nps_survey_gets_the_0_to_10_question_and_the_reason_in_english_and_korean(
    nps,
):
    score, reason = nps.questions.order_by("order")
    assert (score.min_value, score.max_value, score.is_score) == (0, 10, True)
    assert reason.text_en == "What is the main reason for your score?"
    assert reason.text_ko
    assert reason.type == Question.Type.FREE_TEXT


@pytest.mark.parametrize(("kind", "low", "high"), [("csat", 1, 5), ("ces", 1, 7)])
def test_csat_and_ces_get_their_scales(kind, low, high):
    survey = survey_create(title="t", kind=kind)
    question = survey.questions.get(is_score=True)
    assert (question.min_value, question.max_value) == (low, high)


# --- formulas ------------------------------------------------------------------------------


def test_nps_is_percent_promoters_minus_percent_detractors():
    # 3 promoters (9,10,10), 2 passives (7,8), 5 detractors (0,3,6,6,6): 30% - 50% = -20
    metric = score_metric("nps", {9: 1, 10: 2, 7: 1, 8: 1, 0: 1, 3: 1, 6: 3})
    assert metric.value == Decimal("-20.0")
    assert metric.inputs == {
        "promoters": 3,
        "passives": 2,
        "detractors": 5,
        "responses": 10,
    }


def test_csat_is_the_share_of_4_and_5():
    metric = score_metric("csat", {5: 1, 4: 1, 3: 1})  # 2 of 3 = 66.7 %
    assert metric.value == Decimal("66.7")


def test_ces_is_the_mean_effort():
    metric = score_metric("ces", {2: 1, 7: 2})  # (2 + 14) / 3 = 5.33
    assert metric.value == Decimal("5.33")


@pytest.mark.parametrize("kind", ["nps", "csat", "ces"])
def test_a_metric_without_answers_is_not_available_rather_than_zero(kind):
    assert score_metric(kind, {}).value is None


def test_results_count_the_response_rate_and_distribution(nps):
    contacts = ContactFactory.create_batch(4)
    for contact, score in zip(contacts[:3], [10, 9, 2], strict=True):
        _answer(nps, contact, score)
    invitations_create(survey=nps, contacts=[contacts[3]])
    results = survey_results(survey=nps)
    assert results["response_rate"]["value"] == "75.0"
    assert results["response_rate"]["inputs"] == {"answered": 3, "sent": 4}
    assert results["score"]["value"] == str(Decimal("33.3"))  # (2 - 1) / 3
    assert {r["score"]: r["count"] for r in results["distribution"]}[10] == 1
    assert len(results["distribution"]) == 11


def test_results_of_a_survey_never_sent_have_no_rate_and_no_score(nps):
    results = survey_results(survey=nps)
    assert results["response_rate"]["value"] is None
    assert results["score"]["value"] is None


def test_the_csv_export_neutralises_formulas(nps):
    _answer(nps, ContactFactory(), 8, reason="=HYPERLINK(1)")
    text = "".join(survey_export_csv(survey=nps))
    assert "'=HYPERLINK(1)" in text


# --- links ---------------------------------------------------------------------------------


def test_tokens_are_long_unique_and_random(nps):
    batch = invitations_create(survey=nps, contacts=ContactFactory.create_batch(3))
    tokens = {i.token for i in batch.invited}
    assert len(tokens) == 3
    assert all(len(t) >= 40 for t in tokens)


def test_an_unknown_or_tampered_token_is_refused(nps):
    invitation = invitations_create(survey=nps, contacts=[ContactFactory()]).invited[0]
    with pytest.raises(SurveyLinkError) as error:
        response_submit(token=invitation.token[:-1] + "x", answers={}, language="en")
    assert error.value.reason == "unknown"


def test_an_expired_link_is_refused(nps):
    invitation = invitations_create(survey=nps, contacts=[ContactFactory()]).invited[0]
    later = invitation.expires_at + dt.timedelta(seconds=1)
    with pytest.raises(SurveyLinkError) as error:
        response_submit(token=invitation.token, answers={}, language="en", now=later)
    assert error.value.reason == "expired"


def test_a_second_submit_keeps_the_first_answers(nps):
    contact = ContactFactory()
    first = _answer(nps, contact, 9)
    invitation = first.response.invitation
    again = response_submit(
        token=invitation.token, answers={str(_score_q(nps).pk): 0}, language="en"
    )
    assert again.created is False
    assert again.response.pk == first.response.pk
    assert Response.objects.get().score == 9


def test_required_and_out_of_range_errors_name_the_question(nps):
    invitation = invitations_create(survey=nps, contacts=[ContactFactory()]).invited[0]
    question = _score_q(nps)
    with pytest.raises(ValidationError) as missing:
        response_submit(token=invitation.token, answers={}, language="en")
    assert question.text in missing.value.message_dict[f"q{question.pk}"][0]
    with pytest.raises(ValidationError) as out:
        response_submit(
            token=invitation.token, answers={str(question.pk): 11}, language="en"
        )
    assert "0 to 10" in out.value.message_dict[f"q{question.pk}"][0]
    assert question.text in out.value.message_dict[f"q{question.pk}"][0]


def test_a_choice_not_offered_is_refused_and_hidden_conditional_answers_are_dropped():
    survey = survey_create(
        title="Custom",
        kind="custom",
        questions=[
            {"type": "single_choice", "text": "Did you buy?", "choices": ["yes", "no"]},
            {
                "type": "free_text",
                "text": "Why not?",
                "required": True,
                "show_if": {"question": 1, "values": ["no"]},
            },
        ],
    )
    buy, why = survey.questions.order_by("order")
    token = (
        invitations_create(survey=survey, contacts=[ContactFactory()]).invited[0].token
    )
    with pytest.raises(ValidationError) as error:
        response_submit(token=token, answers={str(buy.pk): "maybe"}, language="en")
    assert "Did you buy?" in error.value.message_dict[f"q{buy.pk}"][0]
    with pytest.raises(ValidationError) as error:  # shown, so required
        response_submit(token=token, answers={str(buy.pk): "no"}, language="en")
    assert f"q{why.pk}" in error.value.message_dict
    result = response_submit(
        token=token, answers={str(buy.pk): "yes", str(why.pk): "ignored"}, language="en"
    )
    assert [a.question_id for a in result.response.answers.all()] == [buy.pk]


# --- cap and reminders ---------------------------------------------------------------------


def test_no_contact_is_invited_twice_within_the_cap_and_skips_are_reported(
    nps, settings
):
    settings.SURVEY_CONTACT_CAP_DAYS = 30
    contact, other = ContactFactory.create_batch(2)
    now = timezone.now()
    invitations_create(survey=nps, contacts=[contact], now=now)
    csat = survey_create(title="CSAT", kind="csat")
    batch = invitations_create(
        survey=csat, contacts=[contact, other], now=now + dt.timedelta(days=29)
    )
    assert [i.contact for i in batch.invited] == [other]
    assert [c for c, _reason in batch.skipped] == [contact]
    batch = invitations_create(
        survey=csat, contacts=[contact], now=now + dt.timedelta(days=31)
    )
    assert len(batch.invited) == 1


def test_a_segment_is_invited_with_counts(nps):
    ContactFactory.create_batch(2, country="KR")
    ContactFactory(country="US")
    segment = Segment.objects.create(name="Korea", filters={"country": ["KR"]})
    batch = invitations_create(survey=nps, segment=segment)
    assert len(batch.invited) == 2
    assert {i.source for i in batch.invited} == {Invitation.Source.SEGMENT}


def test_invitations_are_emitted_with_their_public_url(nps, events):
    invitation = invitations_create(survey=nps, contacts=[ContactFactory()]).invited[0]
    assert events[0]["event"] == "survey_invited"
    assert events[0]["data"]["url"].endswith(f"/s/{invitation.token}/")


def test_reminders_respect_the_maximum_and_the_interval(events):
    survey = survey_create(
        title="t", kind="nps", max_reminders=2, reminder_interval_days=3
    )
    start = timezone.now()
    answered_contact = ContactFactory()
    invitations_create(survey=survey, contacts=[ContactFactory()], now=start)
    _answer(survey, answered_contact, 10, now=start)
    events.clear()
    assert invitation_reminders_send(now=start + dt.timedelta(days=2)) == 0
    assert invitation_reminders_send(now=start + dt.timedelta(days=3)) == 1
    assert invitation_reminders_send(now=start + dt.timedelta(days=3)) == 0  # re-run
    assert invitation_reminders_send(now=start + dt.timedelta(days=5)) == 0
    assert invitation_reminders_send(now=start + dt.timedelta(days=6)) == 1
    assert invitation_reminders_send(now=start + dt.timedelta(days=12)) == 0  # max 2
    assert [e["event"] for e in events] == ["survey_reminder", "survey_reminder"]


def test_no_reminder_for_an_expired_link():
    survey = survey_create(
        title="t", kind="nps", expiry_days=2, reminder_interval_days=3
    )
    start = timezone.now()
    invitations_create(survey=survey, contacts=[ContactFactory()], now=start)
    assert invitation_reminders_send(now=start + dt.timedelta(days=3)) == 0


def test_a_purchase_schedules_the_after_purchase_survey(events):
    from crm.services import purchase_record

    survey = survey_create(title="After", kind="csat", days_after_purchase=3)
    contact = ContactFactory()
    bought = timezone.now()
    purchase_record(contact=contact, amount="10", currency="USD", occurred_at=bought)
    invitation = Invitation.objects.get(survey=survey)
    assert invitation.source == Invitation.Source.TRIGGER
    assert invitation.sent_at is None
    assert invitations_send_due(now=bought + dt.timedelta(days=2)) == 0
    assert invitations_send_due(now=bought + dt.timedelta(days=3)) == 1
    assert invitations_send_due(now=bought + dt.timedelta(days=3)) == 0
    assert [e["event"] for e in events] == ["survey_invited"]


# --- closing the loop ----------------------------------------------------------------------


def test_a_detractor_becomes_a_task_for_the_owner_within_48_hours(nps, agent):
    contact = ContactFactory(owner=agent)
    now = timezone.now()
    result = _answer(nps, contact, 3, reason="Slow", now=now)
    task = Task.objects.get()
    assert task.assignee == agent
    assert task.contact == contact
    assert task.due_at == now + dt.timedelta(hours=48)
    assert result.response.follow_up_task == task


def test_a_contact_without_owner_goes_to_the_default_assignee(nps, manager, settings):
    settings.FEEDBACK_DEFAULT_ASSIGNEE = manager.email
    _answer(nps, ContactFactory(owner=None), 6)
    assert Task.objects.get().assignee == manager


def test_promoters_passives_and_good_csat_make_no_task(agent):
    nps = survey_create(title="n", kind="nps")
    csat = survey_create(title="c", kind="csat")
    _answer(nps, ContactFactory(owner=agent), 7)
    _answer(csat, ContactFactory(owner=agent), 3)
    assert not Task.objects.exists()
    _answer(csat, ContactFactory(owner=agent), 2)
    assert Task.objects.count() == 1


# --- timeline and merge --------------------------------------------------------------------


def test_a_response_is_on_the_contact_timeline(nps):
    contact = ContactFactory()
    _answer(nps, contact, 8)
    entries = contact_timeline(contact_id=contact.pk, kinds={"survey"})
    assert entries[0].kind == "survey"
    assert entries[0].data["score"] == 8


def test_merging_moves_invitations_and_responses(nps, manager):
    survivor, merged = ContactFactory.create_batch(2)
    _answer(nps, merged, 9)
    contact_merge(survivor=survivor, merged=merged, actor=manager)
    assert Response.objects.get().contact == survivor
    assert Invitation.objects.get().contact == survivor


# --- public page ---------------------------------------------------------------------------


def test_the_public_page_is_in_the_contacts_language(client, nps):
    contact = ContactFactory(language="ko")
    token = invitations_create(survey=nps, contacts=[contact]).invited[0].token
    response = client.get(reverse("feedback:public_survey", args=[token]))
    assert response.status_code == 200
    assert "가장 큰 이유" in response.content.decode()
    assert 'lang="ko"' in response.content.decode()


def test_unknown_and_expired_links_get_friendly_4xx(client, nps):
    assert client.get("/s/not-a-real-token/").status_code == 404
    invitation = invitations_create(survey=nps, contacts=[ContactFactory()]).invited[0]
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    response = client.get(f"/s/{invitation.token}/")
    assert response.status_code == 410
    assert client.post(f"/s/{invitation.token}/", {}).status_code == 410


def test_submitting_the_public_page_then_reusing_the_link(client, nps):
    contact = ContactFactory(language="en")
    token = invitations_create(survey=nps, contacts=[contact]).invited[0].token
    question = _score_q(nps)
    bad = client.post(f"/s/{token}/", {f"q{question.pk}": "12"})
    assert bad.status_code == 400
    assert question.text in bad.content.decode()
    ok = client.post(f"/s/{token}/", {f"q{question.pk}": "10"})
    assert ok.status_code == 302
    thanks = client.get(f"/s/{token}/")
    assert "Thank you" in thanks.content.decode()
    assert (
        "Leave a review" in thanks.content.decode()
    )  # a promoter is asked for a review
    again = client.post(f"/s/{token}/", {f"q{question.pk}": "0"})
    assert "already answered" in again.content.decode()
    assert Response.objects.get().score == 10


# --- staff pages and API -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["feedback:surveys", "feedback:survey_new", "feedback:reviews"]
)
def test_customers_get_403_on_staff_pages(client, customer_a, name):
    client.force_login(customer_a)
    assert client.get(reverse(name)).status_code == 403


def test_staff_pages_render(client, manager, nps):
    _answer(nps, ContactFactory(), 4, reason="meh")
    client.force_login(manager)
    assert client.get(reverse("feedback:surveys")).status_code == 200
    page = client.get(reverse("feedback:survey", args=[nps.pk]))
    assert page.status_code == 200
    assert "NPS = " in page.content.decode()
    assert client.get(reverse("feedback:survey_edit", args=[nps.pk])).status_code == 200
    preview = client.get(reverse("feedback:survey_preview", args=[nps.pk, "ko"]))
    assert "가장 큰 이유" in preview.content.decode()
    assert (
        client.get(reverse("feedback:survey_export", args=[nps.pk])).status_code == 200
    )


def test_a_manager_creates_and_sends_from_the_pages(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("feedback:survey_new"),
        {
            "title_en": "Q3",
            "kind": "csat",
            "active": "on",
            "max_reminders": 1,
            "reminder_interval_days": 3,
            "expiry_days": 14,
        },
    )
    survey = Survey.objects.get(title_en="Q3")
    assert response.status_code == 302
    assert survey.questions.count() == 2
    contact = ContactFactory()
    client.post(
        reverse("feedback:survey_send", args=[survey.pk]), {"contact": contact.pk}
    )
    client.post(
        reverse("feedback:survey_send", args=[survey.pk]), {"contact": contact.pk}
    )
    assert Invitation.objects.count() == 1


def test_agents_read_but_cannot_build_or_send(client, agent, nps):
    client.force_login(agent)
    assert client.get(reverse("feedback:survey", args=[nps.pk])).status_code == 200
    assert client.get(reverse("feedback:survey_new")).status_code == 403
    send = client.post(reverse("feedback:survey_send", args=[nps.pk]), {"contact": 1})
    assert send.status_code == 403


def test_api_permissions_per_role(api_client, customer_a, agent, manager):
    api_client.force_authenticate(customer_a)
    assert api_client.get("/api/v1/surveys/").status_code == 403
    assert api_client.get("/api/v1/responses/").status_code == 403
    api_client.force_authenticate(agent)
    assert api_client.get("/api/v1/surveys/").status_code == 200
    assert (
        api_client.post(
            "/api/v1/surveys/", {"title_en": "x", "kind": "nps"}
        ).status_code
        == 403
    )
    api_client.force_authenticate(manager)
    created = api_client.post(
        "/api/v1/surveys/", {"title_en": "x", "kind": "nps"}, format="json"
    )
    assert created.status_code == 201
    assert len(created.json()["questions"]) == 2


def test_api_invitations_carry_their_url_and_report_skips(api_client, manager, nps):
    api_client.force_authenticate(manager)
    contact = ContactFactory()
    body = {"survey": nps.pk, "contacts": [contact.pk]}
    first = api_client.post("/api/v1/invitations/", body, format="json")
    assert first.status_code == 201
    assert "/s/" in first.json()["invited"][0]["url"]
    second = api_client.post("/api/v1/invitations/", body, format="json").json()
    assert second["invited"] == []
    assert second["skipped"][0]["contact"] == contact.pk


def test_api_results_have_formulas_and_null_for_no_data(api_client, agent, nps):
    api_client.force_authenticate(agent)
    body = api_client.get(f"/api/v1/surveys/{nps.pk}/results/").json()
    assert body["score"]["value"] is None
    assert "promoters" in body["score"]["formula"]


def test_api_lists_have_pinned_query_counts(
    api_client, agent, django_assert_num_queries
):
    for i in range(3):
        survey = survey_create(title=f"s{i}", kind="nps")
        for contact in ContactFactory.create_batch(2):
            _answer(survey, contact, 5 + i)
    api_client.force_authenticate(agent)
    with django_assert_num_queries(3):  # role (then cached), surveys, questions
        results = api_client.get("/api/v1/surveys/").json()["results"]
    assert len(results) == Survey.objects.count() >= 3  # ours and any shipped survey
    with django_assert_num_queries(2):  # responses, answers
        assert len(api_client.get("/api/v1/responses/").json()["results"]) == 6
    with django_assert_num_queries(1):  # invitations
        assert len(api_client.get("/api/v1/invitations/").json()["results"]) == 6
