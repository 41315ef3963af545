"""Browser journeys: Playwright drives Debian's Chromium (/usr/bin/chromium) against the live server."""

import os
from pathlib import Path

import pytest

os.environ.setdefault(
    "DJANGO_ALLOW_ASYNC_UNSAFE", "true"
)  # the live server and Playwright share the thread

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# Reports every Content-Security-Policy violation of every page the journey opens.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__rapportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`
  );
});
"""


def csp_errors(page) -> list[str]:
    """The CSP violations seen so far: the events, and Chromium's console reports of them."""
    console = [
        text
        for text in page.console_messages
        if "Content Security Policy" in text or "Content-Security-Policy" in text
    ]
    return [*page.csp_violations, *console]


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page; the test fails if any page it opened broke the CSP."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_messages = []
    page.csp_violations = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    context.expose_function(
        "__rapportCspViolation", lambda text: page.csp_violations.append(text)
    )
    context.add_init_script(CSP_LISTENER)
    yield page
    errors = csp_errors(page)
    context.close()
    if errors:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(errors))


def sign_in(page, path, email, password):
    page.goto(path)
    if not page.locator("input[name=password]").is_visible():
        page.locator(
            "details.auth__alt > summary"
        ).click()  # the portal folds its password form
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_load_state()
