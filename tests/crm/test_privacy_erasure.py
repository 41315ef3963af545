"""Erasure: after erasing a contact populated in every app, a dump of the whole database and
the media files hold none of their email, phone, names or note text; money and the points
ledger still add up; planned outreach is cancelled; the fact is recorded without the values.
Also the staff page, the API, the portal's email-confirmed self-service, and the roles."""

import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail, signing
from django.db import connection
from django.db.models import Sum
from django.urls import reverse

from crm.models import (
    AuditEntry,
    Contact,
    ContactKey,
    DataExport,
    Erasure,
    Interaction,
    OutboundMessage,
    Purchase,
    User,
)
from crm.services import interaction_log
from crm.services.audit import audit_unseal
from crm.services.privacy import contact_erase, erasure_token_make
from feedback.models import Review, TicketMessage
from loyalty.models import LoyaltyAccount
from loyalty.services import loyalty_verify
from tests.crm.factories import ContactFactory
from tests.crm.privacy_world import populate


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BASE_CURRENCY = "USD"


def _pg_dump() -> str:
    db = connection.settings_dict
    command = ["pg_dump", "--no-owner", "--data-only", "-d", db["NAME"]]
    if db.get("HOST"):
        command += ["-h", db["HOST"]]
    if db.get("PORT"):
        command += ["-p", str(db["PORT"])]
    if db.get("USER"):
        command += ["-U", db["USER"]]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    result = subprocess.run(
        command, capture_output=True, check=True, env=env, timeout=120
    )
    return result.stdout.decode("utf-8", errors="replace")


def _media_text(root: Path) -> str:
    return "\n".join(
        path.read_bytes().decode("utf-8", errors="replace")
        for path in root.rglob("*")
        if path.is_file()
    )


def _revenue() -> Decimal:
    return Purchase.objects.aggregate(total=Sum("amount_base"))["total"]


@pytest.mark.django_db(transaction=True)
def test_after_erasure_a_database_dump_and_the_media_hold_none_of_their_data(
    manager, agent, settings
):
    world = populate(manager=manager, agent=agent)
    contact = world.contact
    dump_before = _pg_dump()
    for value in (world.email, world.given_name, world.family_name, world.note):
        assert value in dump_before, value  # the search would find them
    assert world.email in _media_text(Path(settings.MEDIA_ROOT))
    revenue = _revenue()
    balance = LoyaltyAccount.objects.get(contact=contact).balance

    erasure = contact_erase(
        contact=contact, actor=manager, reason="Asked by email", via="staff"
    )

    dump = _pg_dump()
    media = _media_text(Path(settings.MEDIA_ROOT))
    found = [v for v in world.needles if v in dump or v.lower() in dump.lower()]
    assert not found, f"still in the database dump: {found}"
    found = [v for v in world.needles if v.lower() in media.lower()]
    assert not found, f"still in media files: {found}"
    assert "keep@example.net" in media  # other people's rows in the import file stay

    # Figures stay: revenue, the ledger, the account's balance.
    assert _revenue() == revenue
    assert loyalty_verify() == []
    assert LoyaltyAccount.objects.get(contact=contact).balance == balance
    # Planned outreach is cancelled.
    planned = OutboundMessage.objects.get(pk=world.planned_message_id)
    assert planned.status == OutboundMessage.Status.SKIPPED
    assert planned.skip_reason == OutboundMessage.SkipReason.CANCELLED
    # The portal account is gone; reviews deleted; ticket thread blanked.
    assert not User.objects.filter(pk=world.user.pk).exists()
    assert not Review.objects.filter(contact=contact).exists()
    assert set(
        TicketMessage.objects.filter(ticket__contact=contact).values_list(
            "body", flat=True
        )
    ) == {""}
    assert not DataExport.objects.filter(contact=contact).exclude(file="").exists()
    # The fact is recorded, without the values; the old sealed values are unreadable.
    contact.refresh_from_db()
    assert contact.erased_at is not None
    assert erasure.counts["crm.interactions"] >= 1
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ERASURE)
    assert entry.contact_id == contact.pk
    assert entry.sealed is None
    assert entry.actor_label == manager.email
    assert not ContactKey.objects.filter(contact_id=contact.pk).exists()
    failed = AuditEntry.objects.get(action=AuditEntry.Action.SIGN_IN_FAILED)
    assert failed.sealed is not None
    assert audit_unseal(failed) is None


@pytest.mark.django_db
def test_an_erased_contact_cannot_be_erased_again_and_takes_no_new_data(manager):
    contact = ContactFactory()
    contact_erase(contact=contact, actor=manager, reason="Asked", via="staff")
    with pytest.raises(Exception, match="already erased"):
        contact_erase(contact=contact, actor=manager, reason="Again", via="staff")
    contact.refresh_from_db()
    with pytest.raises(Exception, match="was erased"):
        interaction_log(contact=contact, author=manager, kind="note", body="New")
    assert not Interaction.objects.filter(contact=contact).exists()
    assert Erasure.objects.filter(contact_id=contact.pk).count() == 1


@pytest.mark.django_db
def test_erasure_needs_a_reason(manager):
    contact = ContactFactory()
    with pytest.raises(Exception, match="reason") as error:
        contact_erase(contact=contact, actor=manager, reason="  ", via="staff")
    assert "reason" in error.value.message_dict
    contact.refresh_from_db()
    assert contact.erased_at is None


# --- staff page ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_erases_from_the_confirmation_page(client, manager):
    contact = ContactFactory(given_name="Hyejin", family_name="Park")
    client.force_login(manager)
    page = client.get(reverse("crm:privacy_erase", args=[contact.pk]))
    assert page.status_code == 200
    assert b"cannot be undone" in page.content
    missing = client.post(reverse("crm:privacy_erase", args=[contact.pk]), {})
    assert missing.status_code == 400
    contact.refresh_from_db()
    assert contact.erased_at is None
    response = client.post(
        reverse("crm:privacy_erase", args=[contact.pk]),
        {"reason": "Customer asked by phone"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == contact.get_absolute_url()
    assert b"was erased" in response.content
    assert b"Erased" in response.content
    assert b"Hyejin" not in response.content
    listing = client.get(reverse("crm:contacts"))
    assert b"Erased" in listing.content
    assert b"Hyejin" not in listing.content


@pytest.mark.django_db
def test_agents_cannot_erase(client, api_client, agent):
    contact = ContactFactory()
    client.force_login(agent)
    assert (
        client.get(reverse("crm:privacy_erase", args=[contact.pk])).status_code == 403
    )
    assert (
        client.post(
            reverse("crm:privacy_erase", args=[contact.pk]), {"reason": "x"}
        ).status_code
        == 403
    )
    api_client.force_authenticate(agent)
    response = api_client.post(
        f"/api/v1/contacts/{contact.pk}/erase/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.erased_at is None


# --- API -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_erases_with_a_reason_and_refuses_a_second_time(api_client, manager):
    contact = ContactFactory()
    api_client.force_authenticate(manager)
    url = f"/api/v1/contacts/{contact.pk}/erase/"
    missing = api_client.post(url, {}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()
    response = api_client.post(url, {"reason": "Asked by email"}, format="json")
    assert response.status_code == 200
    assert response.json()["contact_id"] == contact.pk
    assert response.json()["via"] == "api"
    again = api_client.post(url, {"reason": "Again"}, format="json")
    assert again.status_code == 409
    contact.refresh_from_db()
    assert contact.erased_at is not None
    assert contact.email == f"erased-{contact.pk}@invalid"


# --- portal self-service -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_erases_their_account_through_the_emailed_link(
    client, customer_a, django_capture_on_commit_callbacks, eager_celery
):
    contact = ContactFactory(user=customer_a, email=customer_a.email, language="en")
    client.force_login(customer_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:erase_request"))
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.erased_at is None  # nothing before the link is followed
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [customer_a.email]
    link = re.search(r"https?://\S+/my-data/erase/\S+/", mail.outbox[0].body).group(0)
    page = client.get(link)
    assert page.status_code == 200
    contact.refresh_from_db()
    assert contact.erased_at is None  # a GET never erases
    done = client.post(link)
    assert done.status_code == 200
    contact.refresh_from_db()
    assert contact.erased_at is not None
    erasure = Erasure.objects.get(contact_id=contact.pk)
    assert erasure.via == Erasure.Via.PORTAL
    assert not User.objects.filter(pk=customer_a.pk).exists()
    assert "_auth_user_id" not in client.session
    assert client.post(link).status_code == 400  # the link is spent


@pytest.mark.django_db
def test_an_old_or_forged_confirmation_link_erases_nothing(
    client, customer_a, monkeypatch
):
    contact = ContactFactory(user=customer_a, email=customer_a.email)
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 25 * 3600)
    old = erasure_token_make(contact=contact)
    monkeypatch.setattr(signing.time, "time", real_time)
    for token in (old, erasure_token_make(contact=contact) + "x"):
        response = client.post(reverse("portal:erase_confirm", args=[token]))
        assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.erased_at is None
    assert Contact.objects.filter(pk=contact.pk, erased_at__isnull=True).exists()


@pytest.mark.django_db
def test_erasure_forgets_stored_api_replays_that_name_the_contact(api_client, manager):
    """An Idempotency-Key replay holds the API's answer: the contact's email or id in clear."""
    from crm.models import IdempotencyRecord

    api_client.force_authenticate(manager)
    contact = ContactFactory(email="replay.x7@example.org")
    bought = api_client.post(
        "/api/v1/purchases/",
        {
            "contact": contact.pk,
            "amount": "10.00",
            "currency": "USD",
            "occurred_at": "2026-01-05T10:00:00Z",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="purchase-1",
    )
    assert bought.status_code == 201, bought.content
    other = ContactFactory()
    kept = api_client.post(
        "/api/v1/purchases/",
        {
            "contact": other.pk,
            "amount": "12.00",
            "currency": "USD",
            "occurred_at": "2026-01-05T10:00:00Z",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="purchase-2",
    )
    assert kept.status_code == 201, kept.content
    assert IdempotencyRecord.objects.count() == 2

    contact_erase(contact=contact, actor=manager, reason="Asked", via="staff")

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [
        "purchase-2"
    ]
