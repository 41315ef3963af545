"""Sign-in: clear errors, throttling per account and address, session rotation, role doors."""

import pytest
from django.test import override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

LOGIN = "/accounts/login/"


def sign_in(client, email, password, address="127.0.0.1"):
    return client.post(
        LOGIN,
        {"username": email, "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_staff_signs_in_with_email_in_any_case(client, agent, password):
    response = sign_in(client, "AGENT@Test.Example", password)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_wrong_password_shows_a_clear_error_and_keeps_the_email(client, agent):
    response = sign_in(client, agent.email, "wrong-password")
    assert response.status_code == 200
    assert b"Please enter a correct email address and password" in response.content
    assert f'value="{agent.email}"'.encode() in response.content


def test_wrong_password_error_is_translated_to_korean(client, agent):
    response = client.post(
        LOGIN, {"username": agent.email, "password": "nope"}, HTTP_ACCEPT_LANGUAGE="ko"
    )
    assert "올바른".encode() in response.content


def test_five_wrong_passwords_lock_that_account_from_that_address(
    client, agent, password
):
    for _ in range(4):
        assert sign_in(client, agent.email, "wrong-password").status_code == 200
    assert (
        sign_in(client, agent.email, "wrong-password").status_code == 429
    )  # the fifth locks
    locked = sign_in(
        client, agent.email, password
    )  # even the right password is refused now
    assert locked.status_code == 429
    assert b"too many" in locked.content.lower()
    assert "_auth_user_id" not in client.session


def test_lockout_does_not_spill_to_other_addresses_or_accounts(
    client, agent, manager, password
):
    for _ in range(5):
        sign_in(client, agent.email, "wrong-password", address="10.0.0.1")
    assert sign_in(client, agent.email, password, address="10.0.0.2").status_code == 302
    client.logout()
    assert (
        sign_in(client, manager.email, password, address="10.0.0.1").status_code == 302
    )


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_failure_limit_is_configurable(client, agent, password):
    assert sign_in(client, agent.email, "wrong-password").status_code == 200
    assert sign_in(client, agent.email, "wrong-password").status_code == 429
    assert sign_in(client, agent.email, password).status_code == 429


def test_session_key_rotates_on_sign_in(client, agent, password):
    session = client.session
    session["probe"] = "before"
    session.save()
    before = session.session_key
    sign_in(client, agent.email, password)
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(agent.pk)


def test_customer_cannot_use_the_staff_sign_in(client, customer_a, password):
    response = sign_in(client, customer_a.email, password)
    assert response.status_code == 200
    assert b"Customers sign in at the loyalty portal" in response.content
    assert "_auth_user_id" not in client.session


def test_customer_signs_in_at_the_portal(client, customer_a, password):
    response = client.post(
        "/portal/login/", {"username": customer_a.email, "password": password}
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_staff_cannot_use_the_portal_sign_in(client, agent, password):
    response = client.post(
        "/portal/login/",
        {"username": agent.email, "password": password},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert b"Staff accounts cannot sign in to the customer portal" in response.content


def test_sign_out_is_a_post_and_ends_the_session(client, agent):
    client.force_login(agent)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to sign-in
