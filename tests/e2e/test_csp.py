"""The browser's view of the CSP: pages work under it, and the page fixture catches a breach."""

import pytest

from tests.e2e.conftest import csp_errors, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_inline_script_is_blocked_and_reported(page, agent, password):
    sign_in(page, "/accounts/login/", agent.email, password)
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__ran = true";
          document.body.appendChild(script);
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__ran === undefined")
    assert any("script-src" in error for error in csp_errors(page))
    page.csp_violations.clear()  # seen: the fixture need not fail this test
    page.console_messages.clear()


@pytest.mark.parametrize(
    "path", ["/", "/contacts/", "/tickets/", "/surveys/", "/outreach/", "/dashboard/"]
)
def test_staff_pages_load_their_scripts_without_violations(
    page, manager, password, path
):
    sign_in(page, "/accounts/login/", manager.email, password)
    response = page.goto(path)
    assert response is not None
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => typeof window.htmx") == "object"
    assert csp_errors(page) == []
