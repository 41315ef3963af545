"""The template editor at /outreach/templates/: list, read-only for agents, saving through the
service, the live preview in the contact's language, and onboarding steps."""

import pytest
from django.urls import reverse
from django.utils import translation

from crm.models import MessageTemplate, OutboundMessage
from crm.services import message_template_get, message_template_list
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

LIST = "/outreach/templates/"
Occasion = MessageTemplate.Occasion


@pytest.fixture(autouse=True)
def _every_template_exists():
    """A transactional test (the browser journeys) flushes the rows the migration made."""
    message_template_list()


def template(occasion: str = "birthday", step: int = 0) -> MessageTemplate:
    found = message_template_get(occasion=occasion, step=step)
    assert found is not None
    return found


def edit_url(found: MessageTemplate) -> str:
    return reverse("crm:message_template", args=[found.pk])


def form_data(found: MessageTemplate, **changes):
    data = {
        "purpose": found.purpose,
        "active": "on" if found.active else "",
        "send_time": found.send_time.strftime("%H:%M"),
        "subject_en": found.subject_en,
        "body_text_en": found.body_text_en,
        "subject_ko": found.subject_ko or "",
        "body_text_ko": found.body_text_ko or "",
    }
    if found.delay_days is not None:
        data["delay_days"] = str(found.delay_days)
    if found.occasion == Occasion.ONBOARDING:
        data["anchor"] = found.anchor
        data["exit_after_purchases"] = found.exit_after_purchases or ""
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_agents_read_the_list_customers_are_refused_anonymous_sign_in(
    client, agent, customer_a
):
    assert client.get(LIST)["Location"] == f"/accounts/login/?next={LIST}"
    client.force_login(customer_a)
    assert client.get(LIST).status_code == 403
    assert client.get(edit_url(template())).status_code == 403
    client.force_login(agent)
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    for occasion in ("Birthday", "Win-back", "Onboarding series, step 1"):
        assert occasion in html
    assert "Add an onboarding step" not in html  # managers only
    assert 'aria-current="page">Templates' in html


def test_the_list_shows_every_occasion_even_one_that_was_deleted(client, manager):
    MessageTemplate.objects.filter(occasion=Occasion.WIN_BACK).delete()
    client.force_login(manager)
    html = client.get(LIST).content.decode()
    assert "Win-back" in html
    assert "Right after the event" in html  # survey invitations have no send time
    assert "Add an onboarding step" in html


def test_the_list_page_has_a_fixed_number_of_queries(
    client, agent, django_assert_max_num_queries
):
    template()
    client.force_login(agent)
    client.get(LIST)
    with django_assert_max_num_queries(4):  # session, user, groups, templates
        assert client.get(LIST).status_code == 200


def test_the_editor_has_a_fixed_number_of_queries(
    client, manager, django_assert_max_num_queries
):
    ContactFactory.create_batch(30)
    found = template()
    client.force_login(manager)
    with django_assert_max_num_queries(7):
        assert client.get(edit_url(found)).status_code == 200


def test_agents_see_the_editor_read_only_and_cannot_save(client, agent):
    found = template()
    client.force_login(agent)
    response = client.get(edit_url(found))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Read only: managers edit templates." in html
    assert "Save changes" not in html
    assert all(field.field.disabled for field in response.context["form"])
    response = client.post(edit_url(found), form_data(found, subject_en="Hacked"))
    assert response.status_code == 403
    found.refresh_from_db()
    assert found.subject_en != "Hacked"


def test_a_manager_saves_both_languages_and_the_win_back_days(client, manager):
    found = template("win_back")
    client.force_login(manager)
    page = client.get(edit_url(found))
    form = page.context["form"]
    assert "delay_days" in form.fields
    assert "anchor" not in form.fields  # onboarding only
    response = client.post(
        edit_url(found),
        form_data(
            found,
            subject_en="We miss you, {{ first_name }}",
            subject_ko="{{ salutation }}, 다시 만나고 싶어요",
            delay_days="120",
            send_time="11:30",
        ),
    )
    assert response.status_code == 302
    found.refresh_from_db()
    assert found.subject_en == "We miss you, {{ first_name }}"
    assert found.subject_ko == "{{ salutation }}, 다시 만나고 싶어요"
    assert found.subject == found.subject_en  # the base column mirrors English
    assert found.delay_days == 120
    assert found.send_time.strftime("%H:%M") == "11:30"


def test_saving_with_the_korean_interface_keeps_the_korean_text(client, manager):
    found = template()
    client.force_login(manager)
    client.cookies["rapport_language"] = "ko"
    with translation.override("ko"):
        response = client.post(
            edit_url(found),
            form_data(found, subject_en="Happy birthday!", subject_ko="생일 축하해요!"),
        )
    assert response.status_code == 302
    found.refresh_from_db()
    assert (found.subject_en, found.subject_ko) == ("Happy birthday!", "생일 축하해요!")


def test_an_unknown_placeholder_is_refused_naming_the_field(client, manager):
    found = template()
    before = found.body_text_ko
    client.force_login(manager)
    response = client.post(
        edit_url(found),
        form_data(found, body_text_ko="{{ salutation }} {{ coupon }}"),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "coupon" in form.errors["body_text_ko"][0]
    assert "Nothing was saved" in response.content.decode()
    found.refresh_from_db()
    assert found.body_text_ko == before


def test_onboarding_needs_its_days(client, manager):
    found = template("onboarding", 1)
    client.force_login(manager)
    response = client.post(edit_url(found), form_data(found, delay_days=""))
    assert response.status_code == 400
    assert "delay_days" in response.context["form"].errors


def preview(client, found, contact, **changes):
    data = form_data(found, **changes)
    data["preview_contact"] = str(contact.pk)
    return client.post(
        reverse("crm:message_template_preview", args=[found.pk]),
        data,
        headers={"HX-Request": "true"},
    )


def test_the_preview_renders_korean_with_the_salutation_for_a_korean_contact(
    client, agent
):
    found = template()
    kim = ContactFactory(given_name="길동", family_name="홍", language="ko")
    client.force_login(agent)  # agents preview too: it writes nothing
    response = preview(client, found, kim, subject_ko="{{ salutation }}, 생일 축하!")
    assert response.status_code == 200
    context = response.context
    assert context["preview_subject"] == "홍길동 고객님, 생일 축하!"
    assert context["preview_language"] == "Korean"
    assert context["preview_salutation"] == "홍길동 고객님"
    assert not context["preview_fallback"]
    assert "홍길동 고객님, 생일 축하!" in response.content.decode()


def test_the_preview_falls_back_to_english_and_says_so(client, manager):
    found = template()
    kim = ContactFactory(given_name="길동", family_name="홍", language="ko")
    client.force_login(manager)
    response = preview(
        client, found, kim, subject_ko="", subject_en="Happy birthday, {{ first_name }}"
    )
    assert response.context["preview_subject"] == "Happy birthday, 길동"
    assert response.context["preview_fallback"]
    assert "The Korean translation is empty" in response.content.decode()
    assert response.context["preview_salutation"] == "Hi 길동"


def test_the_preview_names_the_field_of_an_unknown_placeholder_or_tag(client, manager):
    found = template()
    contact = ContactFactory(language="en")
    client.force_login(manager)
    response = preview(
        client, found, contact, body_text_ko="{% if points %}x{% endif %}"
    )
    html = response.content.decode()
    assert "Text (Korean)" in html
    assert "not template tags" in html
    assert response.context.get("preview_subject") is None
    found.refresh_from_db()
    assert "{% if" not in found.body_text_ko  # a preview never saves


def test_the_editor_page_shows_a_preview_for_the_newest_contact(client, agent):
    found = template()
    ContactFactory(given_name="Old", language="en")
    newest = ContactFactory(given_name="Anna", family_name="Lee", language="en")
    client.force_login(agent)
    response = client.get(edit_url(found))
    assert response.context["preview_contact"] == newest
    assert "Hi Anna" in response.content.decode()


def test_the_preview_contact_search_narrows_the_choice(client, agent):
    ContactFactory(given_name="Anna", family_name="Schmidt")
    ContactFactory(given_name="Sora", family_name="Lee")
    client.force_login(agent)
    response = client.get(reverse("crm:preview_contacts"), {"preview_q": "schm"})
    html = response.content.decode()
    assert "Anna Schmidt" in html
    assert "Sora Lee" not in html
    assert response["HX-Trigger"] == "preview-contacts-loaded"


def test_managers_add_a_step_and_remove_it_after_confirming(client, manager, agent):
    steps = MessageTemplate.objects.filter(occasion=Occasion.ONBOARDING)
    last = steps.order_by("-step").first()
    client.force_login(agent)
    assert client.post(reverse("crm:onboarding_step_add")).status_code == 403
    client.force_login(manager)
    response = client.post(reverse("crm:onboarding_step_add"))
    added = steps.order_by("-step").first()
    assert added.step == last.step + 1
    assert not added.active  # written first, switched on after
    assert added.delay_days == (last.delay_days or 0) + 7
    assert response["Location"] == edit_url(added)

    delete = reverse("crm:onboarding_step_delete", args=[added.pk])
    confirm = client.get(delete)
    assert confirm.status_code == 200
    assert "Remove this onboarding step?" in confirm.content.decode()
    assert steps.filter(pk=added.pk).exists()  # nothing happens before the POST
    assert client.post(delete)["Location"] == LIST
    assert not steps.filter(pk=added.pk).exists()


def test_the_last_onboarding_step_cannot_be_removed(client, manager):
    steps = MessageTemplate.objects.filter(occasion=Occasion.ONBOARDING)
    keep = steps.order_by("step").first()
    steps.exclude(pk=keep.pk).delete()
    client.force_login(manager)
    response = client.post(reverse("crm:onboarding_step_delete", args=[keep.pk]))
    assert response.status_code == 400
    assert "at least one step" in response.content.decode()
    assert steps.filter(pk=keep.pk).exists()


def test_a_new_step_never_reuses_a_number_the_outbox_has_seen(client, manager):
    steps = MessageTemplate.objects.filter(occasion=Occasion.ONBOARDING)
    highest = steps.order_by("-step").first().step
    OutboundMessage.objects.create(
        contact=ContactFactory(),
        occasion="onboarding",
        occurrence=f"step-{highest + 1}",  # a step that was removed since
        scheduled_for="2027-01-01T09:00:00Z",
    )
    client.force_login(manager)
    client.post(reverse("crm:onboarding_step_add"))
    assert steps.order_by("-step").first().step == highest + 2


def test_other_occasions_cannot_be_removed(client, manager):
    client.force_login(manager)
    url = reverse("crm:onboarding_step_delete", args=[template().pk])
    assert client.get(url).status_code == 404
