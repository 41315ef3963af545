"""The audit log: an entry for every sign-in, refusal, contact view, export, import, merge,
points adjustment and admin change; append-only in the database and in the app; whatever it
says about a contact sealed so that erasure leaves the fact without the values."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.sites import site
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from sesame.utils import get_query_string

from crm.admin_audit import AuditedAdminMixin
from crm.models import AuditEntry, Contact, ContactKey, Tag
from crm.services import consents_set, contact_merge, import_job_submit
from crm.services.audit import (
    audit_record,
    audit_unseal,
    contact_keys,
    contact_keys_destroy,
)
from crm.services.audit_events import email_digest
from loyalty.models import Tier
from loyalty.services import contact_points_adjust, points_adjust
from tests.crm.factories import ContactFactory
from tests.loyalty.factories import key, member

pytestmark = pytest.mark.django_db

A = AuditEntry.Action
AUDIT_URL = "/api/v1/audit/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def clear_text(entry):
    """Everything an entry keeps in clear, as one string."""
    return " ".join(
        str(v)
        for v in (
            entry.actor_label,
            entry.ip_address,
            entry.path,
            entry.object_type,
            entry.object_id,
            entry.changes,
        )
    )


def portal_contact(user, **fields):
    return ContactFactory(user=user, email=user.email, language="en", **fields)


# --- Sign-in, sign-out --------------------------------------------------------------------------


def test_staff_sign_in_success_failure_and_sign_out_are_recorded(
    client, agent, password
):
    client.post(
        "/accounts/login/",
        {"username": agent.email, "password": "wrong"},
        REMOTE_ADDR="10.1.2.3",
    )
    client.post(
        "/accounts/login/",
        {"username": agent.email, "password": password},
        REMOTE_ADDR="10.1.2.3",
    )
    client.post("/accounts/logout/", REMOTE_ADDR="10.1.2.3")
    [failed] = entries(A.SIGN_IN_FAILED)
    assert failed.actor_id is None
    assert failed.object_id == str(agent.pk)  # a staff account, named by id
    assert failed.ip_address == "10.1.2.3"
    assert agent.email not in clear_text(failed)
    [signed_in] = entries(A.SIGN_IN)
    assert (signed_in.actor_id, signed_in.actor_label) == (agent.pk, agent.email)
    assert signed_in.ip_address == "10.1.2.3"
    assert signed_in.changes == {"method": "password"}
    [signed_out] = entries(A.SIGN_OUT)
    assert signed_out.actor_id == agent.pk


def test_a_failed_sign_in_with_a_contacts_email_seals_it_under_that_contact(
    client, customer_a
):
    contact = portal_contact(customer_a)
    client.post(
        "/portal/login/",
        {"username": customer_a.email.upper(), "password": "wrong"},
        REMOTE_ADDR="10.9.9.9",
    )
    [failed] = entries(A.SIGN_IN_FAILED)
    assert failed.contact_id == contact.pk
    assert (
        failed.ip_address is None
    )  # someone acting on a contact: the address is sealed
    assert audit_unseal(failed) == {
        "email": customer_a.email.upper(),
        "ip_address": "10.9.9.9",
    }
    contact_keys_destroy(contact_id=contact.pk)
    assert audit_unseal(failed) is None


def test_a_failed_sign_in_with_an_unknown_email_keeps_only_a_keyed_hash(client):
    client.post(
        "/accounts/login/",
        {"username": "Nobody.Here@example.com", "password": "x"},
    )
    [failed] = entries(A.SIGN_IN_FAILED)
    assert failed.changes["email_hmac"] == email_digest("nobody.here@example.com")
    assert failed.contact_id is None
    assert failed.sealed is None
    assert "nobody" not in clear_text(failed).lower()


def test_no_contact_email_appears_in_clear_in_any_audit_row_after_failed_sign_ins(
    client, customer_a, agent
):
    portal_contact(customer_a)
    plain = ContactFactory(email="plain.contact@example.com")
    for email in (customer_a.email, plain.email, "stranger@example.com"):
        for url in ("/accounts/login/", "/portal/login/"):
            client.post(url, {"username": email, "password": "wrong"})
    assert len(entries(A.SIGN_IN_FAILED)) == 6
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM crm_auditentry")
        dump = repr(cursor.fetchall()).lower()
    for email in (customer_a.email, plain.email, "stranger@example.com"):
        assert email.lower() not in dump
        assert email.split("@")[0].lower() not in dump


def test_portal_password_and_link_sign_ins_are_recorded_for_the_contact(
    client, customer_b
):
    contact = portal_contact(customer_b)
    client.post(
        "/portal/login/",
        {"username": customer_b.email, "password": "correct-horse-battery-staple"},
        REMOTE_ADDR="10.0.0.7",
    )
    client.logout()
    customer_b.refresh_from_db()  # the one-time link is bound to the last sign-in time
    response = client.get("/portal/enter/" + get_query_string(customer_b))
    assert response.status_code == 302
    password_in, link_in = entries(A.SIGN_IN)
    assert password_in.changes == {"method": "password"}
    assert link_in.changes == {"method": "link"}
    for entry in (password_in, link_in):
        assert (entry.actor_id, entry.actor_label) == (customer_b.pk, "")
        assert entry.contact_id == contact.pk
        assert entry.ip_address is None
    assert audit_unseal(password_in) == {"ip_address": "10.0.0.7"}
    assert len(entries(A.SIGN_OUT)) == 1


def test_a_spent_or_forged_link_is_a_failed_sign_in_without_the_token(client):
    client.get("/portal/enter/?sesame=forged-token-value")
    [failed] = entries(A.SIGN_IN_FAILED)
    assert failed.changes == {"method": "link"}
    assert "forged" not in clear_text(failed)


# --- Refusals, views, exports, imports, merges, adjustments ------------------------------------


def test_a_403_in_the_ui_the_api_and_admin_is_recorded(
    client, api_client, agent, manager
):
    client.force_login(agent)
    assert client.get(reverse("crm:duplicates")).status_code == 403
    contact = ContactFactory()
    token = Token.objects.create(user=agent)
    response = api_client.delete(
        f"/api/v1/contacts/{contact.pk}/", HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 403
    client.force_login(manager)
    assert client.get("/admin/crm/auditentry/").status_code == 403
    denied = entries(A.PERMISSION_DENIED)
    assert [(e.actor_id, e.path, e.changes["method"]) for e in denied] == [
        (agent.pk, reverse("crm:duplicates"), "GET"),
        (agent.pk, f"/api/v1/contacts/{contact.pk}/", "DELETE"),
        (manager.pk, "/admin/crm/auditentry/", "GET"),
    ]


def test_an_anonymous_403_outside_the_api_is_not_recorded(client, customer_a):
    client.get("/contacts/")  # a redirect to sign in, not a refusal
    assert not entries(A.PERMISSION_DENIED)
    client.force_login(customer_a)
    assert client.get("/contacts/").status_code == 403
    assert len(entries(A.PERMISSION_DENIED)) == 1


def test_staff_views_of_a_contact_are_recorded_in_the_ui_and_the_api(
    client, api_client, agent
):
    contact = ContactFactory()
    client.force_login(agent)
    client.get(reverse("crm:contact", args=[contact.pk]))
    api_client.force_authenticate(agent)
    api_client.get(f"/api/v1/contacts/{contact.pk}/")
    api_client.get("/api/v1/contacts/")  # a list is not a view of one contact
    viewed = entries(A.CONTACT_VIEWED)
    assert [(e.actor_id, e.contact_id, e.object_id) for e in viewed] == [
        (agent.pk, contact.pk, str(contact.pk)),
        (agent.pk, contact.pk, str(contact.pk)),
    ]


def test_contact_exports_are_recorded_without_the_search_text(
    client, api_client, manager
):
    ContactFactory(email="findme@example.com")
    client.force_login(manager)
    client.get(reverse("crm:export_csv"), {"q": "findme", "country": "KR"})
    client.get(reverse("crm:export_vcard"))
    api_client.force_authenticate(manager)
    response = api_client.get("/api/v1/contacts-export/", {"search": "findme"})
    assert response.status_code == 200
    exports = entries(A.EXPORT)
    assert [(e.object_type, e.changes["format"]) for e in exports] == [
        ("crm.contact", "csv"),
        ("crm.contact", "vcard"),
        ("crm.contact", "csv"),
    ]
    assert exports[0].changes["filters"] == {"q": True, "country": ["KR"]}
    assert all("findme" not in clear_text(e) for e in exports)


def test_dashboard_and_survey_exports_are_recorded(client, manager):
    from feedback.models import Survey

    client.force_login(manager)
    client.get(reverse("analytics:export-csv", args=["revenue"]))
    client.get(reverse("analytics:cohorts-csv"))
    survey = Survey.objects.create(title="After purchase", kind="nps")
    client.get(reverse("feedback:survey_export", args=[survey.pk]))
    exports = entries(A.EXPORT)
    assert [e.object_type for e in exports] == [
        "analytics.revenue",
        "analytics.cohorts",
        "feedback.response",
    ]
    assert exports[2].changes["filters"] == {"survey": [str(survey.pk)]}
    assert all(e.actor_id == manager.pk for e in exports)


def test_starting_an_import_is_recorded(manager):
    upload = SimpleUploadedFile(
        "people.csv",
        b"First Name,Last Name,E-mail Address\nAda,Lovelace,ada@example.com\n",
        content_type="text/csv",
    )
    job = import_job_submit(upload=upload, actor=manager)
    [entry] = entries(A.IMPORT)
    assert (entry.actor_id, entry.object_id) == (manager.pk, str(job.pk))
    assert entry.changes == {"file": "people.csv", "format": "csv", "rows": 1}


def test_a_merge_is_recorded_with_the_merged_profile_sealed(manager):
    survivor = ContactFactory()
    merged = ContactFactory(email="gone@example.com")
    merged_id = merged.pk
    contact_merge(survivor=survivor, merged=merged, actor=manager)
    [entry] = entries(A.MERGE)
    assert entry.contact_id == survivor.pk
    assert entry.changes == {"merged_contact_id": merged_id}
    assert audit_unseal(entry)["merged"]["email"] == "gone@example.com"
    assert "gone@" not in clear_text(entry)


def test_a_points_adjustment_is_recorded_once_per_key(manager):
    account = member(100)
    once = key()
    for _ in range(2):
        points_adjust(
            account=account,
            points=-30,
            reason="Damaged parcel",
            actor=manager,
            key=once,
        )
    [entry] = entries(A.LEDGER_ADJUSTMENT)
    assert entry.actor_id == manager.pk
    assert entry.contact_id == account.contact_id
    assert entry.changes == {"account_id": account.pk, "points": -30}
    assert audit_unseal(entry) == {"reason": "Damaged parcel"}


def test_an_adjustment_seals_with_the_contacts_key_or_makes_one(manager):
    account, fresh = member(100), member(100)
    (kept,) = contact_keys({account.contact_id}).values()
    points_adjust(
        account=account, points=-30, reason="Parcel", actor=manager, key=key()
    )
    contact_points_adjust(
        contact_id=account.contact_id,
        points=5,
        reason="Sorry",
        actor=manager,
        key=key(),
    )
    assert not ContactKey.objects.filter(contact_id=fresh.contact_id).exists()
    contact_points_adjust(
        contact_id=fresh.contact_id, points=-1, reason="Typo", actor=manager, key=key()
    )
    assert [
        (entry.contact_id, audit_unseal(entry))
        for entry in entries(A.LEDGER_ADJUSTMENT)
    ] == [
        (account.contact_id, {"reason": "Parcel"}),
        (account.contact_id, {"reason": "Sorry"}),
        (fresh.contact_id, {"reason": "Typo"}),
    ]
    assert ContactKey.objects.filter(contact_id=account.contact_id).count() == 1
    assert ContactKey.objects.filter(contact_id=fresh.contact_id).count() == 1
    reasons = sorted(
        kept.decrypt(bytes(entry.sealed)).decode()
        for entry in entries(A.LEDGER_ADJUSTMENT)
        if entry.contact_id == account.contact_id
    )
    assert reasons == ['{"reason": "Parcel"}', '{"reason": "Sorry"}']


# --- Admin changes ---------------------------------------------------------------------------


def test_every_model_admin_of_every_app_records_its_changes():
    apps = {model._meta.app_label for model in site._registry}
    assert {"crm", "loyalty", "feedback"} <= apps
    unaudited = [
        type(model_admin).__name__
        for model_admin in site._registry.values()
        if not isinstance(model_admin, AuditedAdminMixin)
    ]
    assert unaudited == []
    assert admin.site is site


def test_admin_add_change_and_delete_record_before_and_after(client, admin):
    client.force_login(admin)
    client.post("/admin/crm/tag/add/", {"name": "vip"})
    tag = Tag.objects.get(name="vip")
    client.post(f"/admin/crm/tag/{tag.pk}/change/", {"name": "VIP gold"})
    client.post(f"/admin/crm/tag/{tag.pk}/delete/", {"post": "yes"})
    assert not Tag.objects.exists()
    [added] = entries(A.ADMIN_ADD)
    [changed] = entries(A.ADMIN_CHANGE)
    [deleted] = entries(A.ADMIN_DELETE)
    assert added.changes["fields"] == {"name": {"before": None, "after": "vip"}}
    assert changed.changes["fields"] == {"name": {"before": "vip", "after": "VIP gold"}}
    assert (changed.object_type, changed.object_id) == ("crm.tag", str(tag.pk))
    assert changed.actor_label == admin.email
    assert deleted.changes["fields"]["name"] == {"before": "VIP gold", "after": None}
    assert deleted.object_id == str(tag.pk)


def test_an_admin_change_to_programme_settings_is_kept_in_clear(client, admin):
    silver = Tier.objects.create(
        name_en="Silver", threshold=Decimal(500), multiplier=Decimal("1.5")
    )
    client.force_login(admin)
    page = client.get(f"/admin/loyalty/tier/{silver.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    data["threshold"] = "12345"
    response = client.post(f"/admin/loyalty/tier/{silver.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    [changed] = entries(A.ADMIN_CHANGE)
    assert changed.contact_id is None
    assert changed.changes["fields"]["threshold"]["after"] == "12345"
    assert Tier.objects.get(pk=silver.pk).threshold == 12345


def test_an_admin_change_to_a_contact_is_sealed(client, admin):
    contact = ContactFactory(given_name="Old", family_name="Name", language="ko")
    client.force_login(admin)
    response = client.post(
        f"/admin/crm/contact/{contact.pk}/change/",
        {
            "given_name": "Secretive",
            "family_name": "Name",
            "email": contact.email,
            "country": "KR",
            "language": "ko",
            "lifecycle_stage": "lead",
            "source": "manual",
            "attributes": "{}",
            "consent_events-TOTAL_FORMS": "0",
            "consent_events-INITIAL_FORMS": "0",
            "consent_events-MIN_NUM_FORMS": "0",
            "consent_events-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    [changed] = entries(A.ADMIN_CHANGE)
    assert changed.contact_id == contact.pk
    assert "given_name" in changed.changes["fields"]  # names only, in clear
    assert "Secretive" not in clear_text(changed)
    assert audit_unseal(changed)["fields"]["given_name"] == {
        "before": "Old",
        "after": "Secretive",
    }
    contact_keys_destroy(contact_id=contact.pk)
    assert audit_unseal(changed) is None


def test_admin_bulk_delete_records_each_row(client, admin):
    tags = [Tag.objects.create(name=f"t{i}") for i in range(3)]
    client.force_login(admin)
    response = client.post(
        "/admin/crm/tag/",
        {
            "action": "delete_selected",
            "_selected_action": [t.pk for t in tags],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert sorted(e.object_id for e in entries(A.ADMIN_DELETE)) == sorted(
        str(t.pk) for t in tags
    )


def test_passwords_are_masked_when_admin_creates_a_user(client, admin):
    client.force_login(admin)
    response = client.post(
        "/admin/crm/user/add/",
        {
            "email": "new.staff@test.example",
            "password1": "Very-secret-pass-123",
            "password2": "Very-secret-pass-123",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes FROM crm_auditentry")
        dump = repr(cursor.fetchall())
    assert "Very-secret-pass-123" not in dump
    assert "pbkdf2" not in dump
    assert "md5$" not in dump


# --- The log is read-only ----------------------------------------------------------------------


def test_postgresql_refuses_to_update_or_delete_an_entry(agent):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    entry = audit_record(action=A.EXPORT, actor=agent, changes={"format": "csv"})
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action=A.IMPORT)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == A.EXPORT


def test_admin_browses_the_log_unsealed_and_nobody_can_change_it(client, admin):
    contact = ContactFactory()
    consents_set(contact=contact, consents={"sms": True}, source="staff", actor=admin)
    entry = AuditEntry.objects.get(action=A.CONSENT_CHANGED)
    other = ContactFactory()
    consents_set(contact=other, consents={"surveys": True}, source="import")
    contact_keys_destroy(contact_id=other.pk)
    erased = AuditEntry.objects.get(action=A.CONSENT_CHANGED, contact_id=other.pk)
    client.force_login(admin)
    listing = client.get("/admin/crm/auditentry/", {"action__exact": "consent_changed"})
    assert listing.status_code == 200
    by_contact = client.get("/admin/crm/auditentry/", {"q": str(contact.pk)})
    assert entry in by_contact.context["cl"].result_list
    assert erased not in by_contact.context["cl"].result_list
    by_actor = client.get("/admin/crm/auditentry/", {"q": admin.email})
    assert entry in by_actor.context["cl"].result_list
    detail = client.get(f"/admin/crm/auditentry/{entry.pk}/change/")
    assert detail.status_code == 200
    assert "&quot;after&quot;: true" in detail.content.decode()
    assert (
        "erased"
        in client.get(f"/admin/crm/auditentry/{erased.pk}/change/").content.decode()
    )
    assert client.get("/admin/crm/auditentry/add/").status_code == 403
    assert (
        client.post(
            f"/admin/crm/auditentry/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    client.post(f"/admin/crm/auditentry/{entry.pk}/change/", {"action": "import"})
    entry.refresh_from_db()
    assert entry.action == A.CONSENT_CHANGED


def test_managers_do_not_see_the_audit_log_in_admin(client, manager):
    client.force_login(manager)
    index = client.get("/admin/").content.decode()
    assert "/admin/crm/auditentry/" not in index
    assert client.get("/admin/crm/auditentry/").status_code == 403


# --- API ---------------------------------------------------------------------------------------


def test_the_api_is_for_admins_only_and_read_only(
    api_client, admin, manager, agent, customer_a
):
    entry = audit_record(action=A.EXPORT, actor=admin)
    for user in (manager, agent, customer_a):
        api_client.force_authenticate(user)
        assert api_client.get(AUDIT_URL).status_code == 403
    api_client.force_authenticate(admin)
    assert api_client.get(AUDIT_URL).status_code == 200
    assert api_client.get(f"{AUDIT_URL}{entry.pk}/").status_code == 200
    assert api_client.post(AUDIT_URL, {}, format="json").status_code == 405
    detail = f"{AUDIT_URL}{entry.pk}/"
    assert api_client.put(detail, {}, format="json").status_code == 405
    assert api_client.patch(detail, {}, format="json").status_code == 405
    assert api_client.delete(detail).status_code == 405
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_api_filters_and_unseals(api_client, admin, agent):
    contact = ContactFactory()
    consents_set(contact=contact, consents={"sms": True}, source="staff", actor=agent)
    gone = ContactFactory()
    consents_set(contact=gone, consents={"sms": False}, source="staff", actor=agent)
    contact_keys_destroy(contact_id=gone.pk)
    audit_record(action=A.EXPORT, actor=admin)
    api_client.force_authenticate(admin)
    rows = api_client.get(AUDIT_URL, {"action": "consent_changed"}).json()["results"]
    assert {r["contact_id"] for r in rows} == {contact.pk, gone.pk}
    by_contact = {r["contact_id"]: r for r in rows}
    assert by_contact[contact.pk]["sealed"]["consents"]["sms"]["after"] is True
    assert by_contact[contact.pk]["erased"] is False
    assert by_contact[gone.pk]["sealed"] is None
    assert by_contact[gone.pk]["erased"] is True
    assert [
        r["contact_id"]
        for r in api_client.get(AUDIT_URL, {"contact": contact.pk}).json()["results"]
    ] == [contact.pk]
    actor_rows = api_client.get(AUDIT_URL, {"actor": admin.pk}).json()["results"]
    assert {r["action"] for r in actor_rows} == {"export"}
    today = timezone.localdate()
    assert len(api_client.get(AUDIT_URL, {"since": str(today)}).json()["results"]) == 3
    yesterday = str(today - dt.timedelta(days=1))
    assert api_client.get(AUDIT_URL, {"until": yesterday}).json()["results"] == []
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert api_client.get(AUDIT_URL, {"since": later}).json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "teleport"}, "action"),
        ({"actor": "me"}, "actor"),
        ({"contact": "x"}, "contact"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45"}, "until"),
    ],
)
def test_bad_api_filters_are_a_400_naming_the_filter(api_client, admin, params, field):
    api_client.force_authenticate(admin)
    response = api_client.get(AUDIT_URL, params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("count", [3, 30])
def test_the_api_list_is_a_fixed_number_of_queries(
    api_client, admin, count, django_assert_num_queries
):
    for _ in range(count):
        contact = ContactFactory()
        consents_set(contact=contact, consents={"sms": True}, source="staff")
    token = Token.objects.create(user=admin)
    # token with user and role, the page, the contacts' keys
    with django_assert_num_queries(3):
        response = api_client.get(AUDIT_URL, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert len(response.json()["results"]) == count
    assert all(r["sealed"] for r in response.json()["results"])


def test_cursor_pages_walk_the_whole_log(api_client, admin):
    for _ in range(55):
        audit_record(action=A.EXPORT, actor=admin)
    api_client.force_authenticate(admin)
    first = api_client.get(AUDIT_URL).json()
    second = api_client.get(first["next"]).json()
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 55
    assert second["next"] is None


def test_the_schema_lists_the_audit_route(api_client, agent):
    api_client.force_authenticate(agent)
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert set(schema["paths"]["/api/v1/audit/"]) == {"get"}


def test_contact_keys_are_not_in_the_sealed_rows(agent):
    contact = ContactFactory()
    consents_set(contact=contact, consents={"sms": True}, source="staff", actor=agent)
    assert ContactKey.objects.filter(contact_id=contact.pk).count() == 1
    contact_keys_destroy(contact_id=contact.pk)
    entry = AuditEntry.objects.get(action=A.CONSENT_CHANGED)
    assert entry.sealed  # the fact stays...
    assert audit_unseal(entry) is None  # ...the values do not
    assert Contact.objects.filter(pk=contact.pk).exists()
