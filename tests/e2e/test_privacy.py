"""Privacy journeys in a real browser, under the strict CSP: a manager exports a contact's
personal data (the progress bar polls by itself until the archive is ready), downloads it, then
erases the contact; an agent turns on two-factor sign-in from the QR page and signs in with it."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from crm.models import Contact, DataExport, Interaction
from crm.services import contact_create, interaction_log
from crm.services.privacy import data_export_run
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_exports_then_erases_a_contact(
    page, manager, password, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    contact = contact_create(
        given_name="Journey",
        family_name="Quillfeather",
        email="quillfeather.journey@example.org",
        language="en",
    )
    interaction_log(
        contact=contact,
        kind="note",
        subject="Prefers calls",
        body="Allergic to gluten",
        author=manager,
    )

    sign_in(page, "/accounts/login/", manager.email, password)
    page.goto(f"/contacts/{contact.pk}/")
    page.wait_for_load_state()
    panel = page.locator("#privacy-panel")
    panel.get_by_role("button", name="Export personal data").click()
    page.wait_for_load_state()
    # No worker runs in this journey: the bar waits at 0% and asks again every second.
    expect(page.locator("#privacy-panel progress")).to_be_visible()
    export = DataExport.objects.get(contact=contact)
    data_export_run(export_id=export.pk)
    # The next poll swaps the bar for the download link without reloading the page.
    link = page.locator("#privacy-panel").get_by_role(
        "link", name="Download the archive (ZIP)"
    )
    expect(link).to_be_visible(timeout=10_000)
    with page.expect_download() as download:
        link.click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    data = json.loads(archive.read("data.json"))
    text = json.dumps(data, ensure_ascii=False)
    assert "quillfeather.journey@example.org" in text
    assert "Allergic to gluten" in text

    page.locator("#privacy-panel").get_by_role(
        "link", name="Erase personal data"
    ).click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Erase")
    page.get_by_role("button", name="Erase for good").click()
    page.wait_for_load_state()
    # Without a reason nothing happens, and the field says why.
    expect(page.locator("main form")).to_contain_text("This field is required")
    assert Contact.objects.get(pk=contact.pk).erased_at is None
    page.locator("textarea[name=reason], input[name=reason]").fill("Asked by email")
    page.get_by_role("button", name="Erase for good").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(rf"/contacts/{contact.pk}/$"))
    expect(page.locator("#privacy-panel")).to_contain_text("Erased")
    expect(page.locator("main")).not_to_contain_text("Quillfeather")
    erased = Contact.objects.get(pk=contact.pk)
    assert erased.erased_at is not None
    assert "quillfeather" not in erased.email
    assert not Interaction.objects.filter(body__contains="gluten").exists()


def _code(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset):06d}"


def test_an_agent_turns_on_two_factor_sign_in_and_signs_in_with_a_code(
    page, agent, password
):
    sign_in(page, "/accounts/login/", agent.email, password)
    page.get_by_role("link", name="Security").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    page.wait_for_load_state()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    assert secret
    device = TOTPDevice.objects.get(user=agent)
    page.get_by_label("6-digit code").fill(
        "000000" if _code(device) != "000000" else "111111"
    )
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text("not right")
    page.wait_for_timeout(1500)  # a wrong code makes the next try wait a second
    page.get_by_label("6-digit code").fill(_code(device))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text("Your sign-ins ask for a code")

    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.wait_for_load_state()
    sign_in(page, "/accounts/login/", agent.email, password)
    expect(page).to_have_url(re.compile(r"/accounts/login/verify/"))
    page.goto("/contacts/")  # staff pages wait for the code
    expect(page).to_have_url(re.compile(r"/accounts/login/verify/"))
    device.refresh_from_db()
    page.get_by_label("6-digit code").fill(_code(device, offset=1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    page.goto("/contacts/")
    expect(page).to_have_url(re.compile(r"/contacts/$"))
