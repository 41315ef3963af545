"""Our Content-Security-Policy allows no inline scripts or styles: no template may rely on them."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = sorted(Path(settings.BASE_DIR, "templates").rglob("*.html"))
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style[\s>]", re.I), "a <style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on* event attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_there_are_templates():
    assert len(TEMPLATES) > 10


@pytest.mark.smoke
@pytest.mark.parametrize(
    "template", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR))
)
def test_template_has_nothing_the_csp_would_block(template):
    text = re.sub(
        r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}",
        "",
        template.read_text(),
        flags=re.S,
    )
    problems = [label for pattern, label in INLINE if pattern.search(text)]
    assert not problems, f"{template.name} has {', '.join(problems)}"


def test_every_page_is_served_with_the_policy(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_the_standalone_error_pages_render_without_a_request():
    from django.template.loader import render_to_string

    page = render_to_string("500.html")
    assert "Something went wrong" in page
    assert ">500<" in page
    assert 'rel="stylesheet"' in page


@pytest.mark.django_db
def test_a_failed_csrf_check_shows_our_page():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "a@b.c", "password": "x"}
    )
    assert response.status_code == 403
    assert b"This form expired or could not be verified" in response.content
