"""Customers sign in to the portal with an emailed, single-use, expiring link."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import override_settings

from config.celery import app as celery_app
from crm.models import User
from crm.services import contact_create, sign_in_link_request

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fresh_limits_and_eager_tasks(monkeypatch):
    cache.clear()
    # The sign-in email is a Celery task; run it in-process here (a real worker is tested elsewhere).
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


@pytest.fixture
def korean_contact():
    return contact_create(
        given_name="지민",
        family_name="김",
        email="jimin@example.com",
        language="ko",
        country="KR",
    )


def request_link(client, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/portal/login/link/", {"email": email})


def link_in(message) -> str:
    return re.search(
        r"http://testserver/portal/enter/\?sesame=[\w.-]+", message.body
    ).group(0)


def test_a_contact_gets_a_link_in_their_language_and_it_signs_them_in_once(
    client, korean_contact, django_capture_on_commit_callbacks
):
    response = request_link(
        client, "JIMIN@example.com", django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["jimin@example.com"]
    assert "김지민" in message.body
    assert "로그인" in message.subject
    link = link_in(message)

    korean_contact.refresh_from_db()
    assert korean_contact.user.role == "Customer"
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200

    client.logout()
    reused = client.get(link)
    assert reused.status_code == 410  # single use
    assert "_auth_user_id" not in client.session


def test_the_answer_is_the_same_for_unknown_addresses(
    client, django_capture_on_commit_callbacks
):
    response = request_link(
        client, "stranger@example.com", django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    assert b"sign-in link is on its way" in response.content
    assert mail.outbox == []
    assert not User.objects.exists()


def test_a_bad_email_is_refused_naming_the_field(client):
    response = client.post("/portal/login/link/", {"email": "not-an-email"})
    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content


def test_staff_never_get_a_portal_link(
    client, agent, django_capture_on_commit_callbacks
):
    contact_create(given_name="Aron", email=agent.email, user=None)
    request_link(client, agent.email, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_links_per_address_are_limited(
    korean_contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = [
            sign_in_link_request(
                email="jimin@example.com", portal_url="http://testserver/portal/"
            )
            for _ in range(7)
        ]
    assert sent == [True] * 5 + [False] * 2
    assert len(mail.outbox) == 5


@override_settings(SESAME_MAX_AGE=-1)
def test_an_expired_link_shows_a_friendly_page(
    client, korean_contact, django_capture_on_commit_callbacks
):
    request_link(client, "jimin@example.com", django_capture_on_commit_callbacks)
    response = client.get(link_in(mail.outbox[0]))
    assert response.status_code == 410
    assert b"no longer works" in response.content


def test_a_tampered_link_is_refused(
    client, korean_contact, django_capture_on_commit_callbacks
):
    request_link(client, "jimin@example.com", django_capture_on_commit_callbacks)
    response = client.get(link_in(mail.outbox[0])[:-3] + "xyz")
    assert response.status_code == 410
