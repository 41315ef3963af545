"""The consent ledger: every change is kept (purpose, answer, source, wording version, time,
actor); the contact page, the portal and the API show the current state and its history."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token

from crm.models import AuditEntry, Consent, ConsentEvent
from crm.services import consents_set, contact_merge, import_job_submit
from crm.services.audit import audit_unseal
from crm.tasks import contact_import_run
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


def url(contact):
    return f"/api/v1/contacts/{contact.pk}/consents/"


def test_each_actual_change_is_one_ledger_event_and_the_current_state_follows(
    agent, settings
):
    settings.CONSENT_WORDING_VERSION = "2026-03"
    contact = ContactFactory()
    consents_set(
        contact=contact,
        consents={"marketing_email": True, "sms": False},
        source="staff",
        actor=agent,
    )
    consents_set(contact=contact, consents={"marketing_email": True}, source="api")
    consents_set(
        contact=contact,
        consents={"marketing_email": False},
        source="unsubscribe",
        wording_version="2026-04",
    )
    events = list(ConsentEvent.objects.filter(contact=contact).order_by("at", "id"))
    assert [(e.purpose, e.granted, e.source, e.wording_version) for e in events] == [
        ("marketing_email", True, "staff", "2026-03"),
        ("sms", False, "staff", "2026-03"),
        ("marketing_email", False, "unsubscribe", "2026-04"),
    ]  # the repeated "yes" through the API changed nothing, so it recorded nothing
    assert events[0].actor == agent
    assert events[2].actor is None
    current = {c.purpose: (c.granted, c.source) for c in contact.consents.all()}
    assert current == {
        "marketing_email": (False, "unsubscribe"),
        "sms": (False, "staff"),
    }
    assert (
        Consent.objects.get(contact=contact, purpose="marketing_email").wording_version
        == "2026-04"
    )


def test_every_change_is_audited_with_its_values_sealed(agent):
    contact = ContactFactory()
    consents_set(contact=contact, consents={"sms": True}, source="staff", actor=agent)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CONSENT_CHANGED)
    assert entry.contact_id == contact.pk
    assert entry.actor_label == agent.email
    assert "sms" not in str(entry.changes)  # the answer itself is sealed
    assert audit_unseal(entry)["consents"] == {"sms": {"before": None, "after": True}}


def test_an_import_and_the_api_record_where_consent_came_from(api_client, agent):
    api_client.force_authenticate(agent)
    response = api_client.post(
        "/api/v1/contacts/",
        {"given_name": "Api", "consents": {"surveys": True}},
        format="json",
    )
    assert response.status_code == 201
    event = ConsentEvent.objects.get(contact_id=response.json()["id"])
    assert (event.purpose, event.source, event.actor) == ("surveys", "api", agent)


def test_an_import_records_its_consent_with_source_import(manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile(
        "people.csv",
        b"First Name,E-mail Address,Marketing Email Consent\nAda,ada@example.com,yes\n",
        content_type="text/csv",
    )
    job = import_job_submit(upload=upload, actor=manager)
    contact_import_run(job.pk)  # what the worker would run
    event = ConsentEvent.objects.get(contact__email="ada@example.com")
    assert (event.purpose, event.granted, event.source) == (
        "marketing_email",
        True,
        "import",
    )
    assert event.actor == manager


def test_a_merge_keeps_the_history_behind_the_answer_it_moves(manager):
    survivor, merged = ContactFactory(), ContactFactory()
    consents_set(contact=survivor, consents={"sms": True}, source="staff")
    consents_set(
        contact=merged, consents={"sms": False, "surveys": True}, source="portal"
    )
    contact_merge(survivor=survivor, merged=merged, actor=manager)
    history = {
        (e.purpose, e.granted) for e in ConsentEvent.objects.filter(contact=survivor)
    }
    assert history == {("sms", True), ("surveys", True)}


# --- API --------------------------------------------------------------------------------------


def test_api_lists_the_history_newest_first(api_client, agent):
    contact = ContactFactory()
    consents_set(contact=contact, consents={"sms": True}, source="staff", actor=agent)
    consents_set(contact=contact, consents={"sms": False}, source="unsubscribe")
    api_client.force_authenticate(agent)
    response = api_client.get(url(contact))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["granted"], r["source"]) for r in results] == [
        (False, "unsubscribe"),
        (True, "staff"),
    ]
    assert results[1]["actor"] == agent.pk
    assert results[1]["actor_name"] == agent.display_name
    assert results[0]["wording_version"] == "1"


def test_api_post_records_a_change_once(api_client, agent):
    contact = ContactFactory()
    token = Token.objects.create(user=agent)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = {"purpose": "marketing_email", "granted": True, "source": "portal"}
    first = api_client.post(url(contact), body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["granted"] is True
    assert first.json()["changed"] is True
    again = api_client.post(url(contact), body, format="json")
    assert again.status_code == 200
    assert again.json()["changed"] is False
    event = ConsentEvent.objects.get(contact=contact)
    assert (event.source, event.actor) == ("portal", agent)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "telepathy", "granted": True, "source": "staff"}, "purpose"),
        ({"purpose": "sms", "granted": True, "source": "carrier pigeon"}, "source"),
        ({"purpose": "sms", "source": "staff"}, "granted"),
        ({"purpose": "sms", "granted": "perhaps", "source": "staff"}, "granted"),
    ],
)
def test_api_bad_input_is_a_400_naming_the_field(api_client, agent, body, field):
    contact = ContactFactory()
    api_client.force_authenticate(agent)
    response = api_client.post(url(contact), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ConsentEvent.objects.exists()


def test_api_consents_are_for_staff_only(api_client, customer_a, manager, admin):
    contact = ContactFactory()
    body = {"purpose": "sms", "granted": True, "source": "staff"}
    assert api_client.get(url(contact)).status_code in (401, 403)
    api_client.force_authenticate(customer_a)
    assert api_client.get(url(contact)).status_code == 403
    assert api_client.post(url(contact), body, format="json").status_code == 403
    for user in (manager, admin):
        api_client.force_authenticate(user)
        assert api_client.get(url(contact)).status_code == 200
    assert not ConsentEvent.objects.exists()
    api_client.force_authenticate(manager)
    assert api_client.get("/api/v1/contacts/999999/consents/").status_code == 404


def test_the_schema_lists_the_consents_route(api_client, agent):
    api_client.force_authenticate(agent)
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/v1/contacts/{id}/consents/"]
    assert {"get", "post"} <= set(operations)


# --- Pages ------------------------------------------------------------------------------------


def test_the_contact_page_shows_the_state_and_the_history(client, agent, settings):
    settings.CONSENT_WORDING_VERSION = "v7-text"
    contact = ContactFactory()
    consents_set(contact=contact, consents={"sms": True}, source="import", actor=agent)
    consents_set(contact=contact, consents={"sms": False}, source="unsubscribe")
    client.force_login(agent)
    page = client.get(reverse("crm:contact", args=[contact.pk])).content.decode()
    history = page[page.index('id="consent-history"') :]
    assert "Consent history" in history
    assert "Granted" in history
    assert "Withdrawn" in history
    assert "Import" in history
    assert "Unsubscribe link" in history
    assert "v7-text" in history
    assert agent.display_name in history


def _portal_contact(user, **fields):
    return ContactFactory(user=user, email=user.email, language="en", **fields)


def test_the_portal_shows_the_customer_their_own_history_only(
    client, customer_a, customer_b
):
    mine = _portal_contact(customer_a)
    theirs = _portal_contact(customer_b)
    consents_set(contact=mine, consents={"surveys": True}, source="portal")
    consents_set(
        contact=theirs,
        consents={"sms": True},
        source="staff",
        wording_version="theirs-v9",
    )
    client.force_login(customer_a)
    page = client.get("/portal/preferences/").content.decode()
    assert "consent-history" in page
    history = page[page.index('id="consent-history-title"') :]
    assert "Portal" in history or "포털" in history
    assert "theirs-v9" not in page
    assert "SMS" not in history


def test_saving_portal_preferences_lands_in_the_ledger_as_portal(client, customer_b):
    contact = _portal_contact(customer_b)
    client.force_login(customer_b)
    response = client.post(
        "/portal/preferences/",
        {
            "language": "en",
            "timezone": "Europe/Berlin",
            "consent_marketing_email": "on",
        },
    )
    assert response.status_code == 302
    event = ConsentEvent.objects.get(contact=contact, purpose="marketing_email")
    assert (event.granted, event.source, event.actor) == (True, "portal", customer_b)


def test_a_portal_box_left_as_shown_records_no_answer(client, customer_b):
    """Saving the page with unticked purposes never chosen records only what was ticked;
    unticking a given consent is a withdrawal."""
    contact = _portal_contact(customer_b)
    consents_set(contact=contact, consents={"sms": True}, source="staff")
    client.force_login(customer_b)
    response = client.post(
        "/portal/preferences/",
        {"language": "en", "timezone": "", "consent_surveys": "on"},
    )
    assert response.status_code == 302
    portal = ConsentEvent.objects.filter(contact=contact, source="portal")
    assert sorted(portal.values_list("purpose", "granted")) == [
        ("sms", False),
        ("surveys", True),
    ]
    assert not contact.consents.filter(purpose__in=["profiling", "marketing_email"])
