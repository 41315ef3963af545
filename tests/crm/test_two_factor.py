"""Two-factor sign-in for staff: enrolment with a real TOTP code, the code after the password,
wrong codes, turning it off, the admin requirement, and API tokens left alone."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from crm.models import AuditEntry
from crm.services.two_factor import two_factor_enrol_confirm, two_factor_enrol_start

pytestmark = pytest.mark.django_db


def code(device: TOTPDevice, *, offset: int = 0) -> str:
    """The code the person's authenticator app shows now (``offset`` steps away)."""
    step = device.step
    return f"{totp(device.bin_key, step, device.t0, device.digits, device.drift + offset):06d}"


def next_code(device: TOTPDevice) -> str:
    """A code not used yet: enrolment spent this step's, and each is accepted only once;
    the app's next code is inside the tolerated drift of one step."""
    return code(device, offset=1)


def enrolled(user) -> TOTPDevice:
    device = two_factor_enrol_start(user=user)
    return two_factor_enrol_confirm(user=user, token=code(device))


def sign_in(client, user, password, next_url="/contacts/"):
    return client.post(
        reverse("login") + f"?next={next_url}",
        {"username": user.email, "password": password, "next": next_url},
    )


def wrong(device: TOTPDevice) -> str:
    right = code(device)
    return next(
        candidate
        for candidate in ("000000", "111111", "222222")
        if candidate != right
        and candidate != code(device, offset=-1)
        and candidate != code(device, offset=1)
    )


# --- Enrolment -------------------------------------------------------------------------------


def test_a_staff_member_enrols_with_a_qr_code_and_a_code_from_the_app(client, agent):
    client.force_login(agent)
    page = client.get(reverse("account_security"))
    assert page.status_code == 200
    assert b"Set up two-factor sign-in" in page.content

    client.post(reverse("account_security"), {"action": "start"})
    device = TOTPDevice.objects.get(user=agent)
    assert not device.confirmed
    setup = client.get(reverse("account_security"))
    assert b"<svg" in setup.content  # the QR code, inline
    assert setup.context["secret"].replace(" ", "")  # and the key for typing in

    client.post(
        reverse("account_security"), {"action": "confirm", "token": code(device)}
    )
    device.refresh_from_db()
    assert device.confirmed
    entry = AuditEntry.objects.filter(action="two_factor").latest("pk")
    assert entry.changes == {"enabled": True}
    # The session that proved the code stays usable.
    assert client.get("/contacts/").status_code == 200


def test_a_wrong_code_does_not_turn_it_on_and_names_the_field(client, agent):
    client.force_login(agent)
    client.post(reverse("account_security"), {"action": "start"})
    device = TOTPDevice.objects.get(user=agent)
    response = client.post(
        reverse("account_security"), {"action": "confirm", "token": wrong(device)}
    )
    assert response.context["form"].errors.keys() == {"token"}
    device.refresh_from_db()
    assert not device.confirmed
    assert not AuditEntry.objects.filter(action="two_factor").exists()


def test_customers_cannot_enrol(client, customer_a):
    client.force_login(customer_a)
    assert client.get(reverse("account_security")).status_code == 403


# --- Signing in -----------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(client, agent, password):
    device = enrolled(agent)
    response = sign_in(client, agent, password)
    assert response.status_code == 302
    # Every staff page, admin and the API over the session wait for the code.
    held = client.get("/contacts/")
    assert held.status_code == 302
    assert held["Location"].startswith(reverse("login_verify"))
    assert client.get("/api/v1/me/").status_code == 403
    assert client.get("/admin/").status_code == 302

    verify = client.get(held["Location"])
    assert verify.status_code == 200
    done = client.post(
        reverse("login_verify"), {"token": next_code(device), "next": "/contacts/"}
    )
    assert done.status_code == 302
    assert done["Location"] == "/contacts/"
    assert client.get("/contacts/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200


def test_a_wrong_code_is_refused_naming_the_field(client, agent, password):
    device = enrolled(agent)
    sign_in(client, agent, password)
    response = client.post(reverse("login_verify"), {"token": wrong(device)})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "token": ["This code is not right. Enter the current 6-digit code."]
    }
    assert client.get("/contacts/").status_code == 302


def test_wrong_codes_slow_down_and_then_sign_the_session_out(
    client, agent, password, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    device = enrolled(agent)
    sign_in(client, agent, password)
    bad = wrong(device)
    client.post(reverse("login_verify"), {"token": bad})
    # django-otp now throttles: even the right code waits a moment.
    throttled = client.post(reverse("login_verify"), {"token": code(device)})
    assert "token" in throttled.context["form"].errors
    last = client.post(reverse("login_verify"), {"token": bad})
    assert last.status_code == 302
    assert last["Location"] == reverse("login")
    assert client.get("/contacts/").status_code == 302  # signed out: the password again


def test_a_staff_member_without_a_device_signs_in_with_the_password_only(
    client, agent, password
):
    sign_in(client, agent, password)
    assert client.get("/contacts/").status_code == 200


# --- Turning it off -------------------------------------------------------------------------


def test_turning_it_off_needs_a_current_code_and_is_audited(client, agent):
    device = enrolled(agent)
    client.force_login(agent)
    client.post(reverse("login_verify"), {"token": next_code(device)})
    refused = client.post(
        reverse("account_security"), {"action": "disable", "token": wrong(device)}
    )
    assert refused.context["form"].errors.keys() == {"token"}
    assert TOTPDevice.objects.filter(user=agent).exists()

    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    device.refresh_from_db()
    client.post(
        reverse("account_security"), {"action": "disable", "token": code(device)}
    )
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert AuditEntry.objects.filter(action="two_factor").latest("pk").changes == {
        "enabled": False,
        "device": device.name,
    }


# --- Admins ---------------------------------------------------------------------------------


def test_admins_are_sent_to_set_it_up_when_required(client, admin, agent, settings):
    settings.STAFF_2FA_REQUIRED_FOR_ADMINS = True
    client.force_login(admin)
    response = client.get("/contacts/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_security")
    assert client.get("/admin/").status_code == 302
    assert client.get("/api/v1/me/").status_code == 403
    page = client.get(reverse("account_security"))
    assert page.status_code == 200
    assert page.context["required"]
    # Agents are not required to.
    client.force_login(agent)
    assert client.get("/contacts/").status_code == 200


def test_admins_are_free_without_it_when_not_required(client, admin, settings):
    settings.STAFF_2FA_REQUIRED_FOR_ADMINS = False
    client.force_login(admin)
    assert client.get("/contacts/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_django_admin_needs_the_verified_session(client, admin):
    device = enrolled(admin)
    client.force_login(admin)
    assert client.get("/admin/").status_code == 302
    client.post(reverse("login_verify"), {"token": next_code(device)})
    assert client.get("/admin/").status_code == 200


def test_api_tokens_are_not_affected(api_client, admin, settings):
    """A token is its own credential for integrations; the code guards browser sessions."""
    settings.STAFF_2FA_REQUIRED_FOR_ADMINS = True
    enrolled(admin)
    token = Token.objects.create(user=admin)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/v1/me/").status_code == 200
