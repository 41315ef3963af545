"""Schemathesis against our own OpenAPI schema: no request may get a 5xx, and no response may
contradict the schema. Fixed seed and a few examples per operation, so it runs in the normal
suite in about a minute and a failure reproduces. Anything it found is pinned by a regression
test beside the endpoint's other tests (see the report of issue 8 / README "Hardening")."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application
from crm.roles import Role
from tests.crm.factories import ContactFactory, UserFactory

CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def _keep_the_test_connection() -> Any:
    """Calling the WSGI app directly fires request_started/finished, whose handler closes the
    database connection, and with it the test's transaction; Django's test client detaches
    that handler the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, settings: Any, _keep_the_test_connection: None) -> Any:
    """The schema as the API serves it, with an Admin's token on every generated request."""
    settings.ALLOWED_HOSTS = ["*"]  # schemathesis' WSGI client calls itself "localhost"
    admin = UserFactory(role=Role.ADMIN, email="fuzz.admin@test.example")
    token, _created = Token.objects.get_or_create(user=admin)
    ContactFactory(owner=admin)  # something for the list and detail endpoints to show
    headers = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/", application, headers=headers
    )
    schema.fuzz_headers = headers  # type: ignore[attr-defined]
    return schema


def test_the_api_never_fails_and_keeps_to_its_schema(api_schema: Any) -> None:
    """Every operation of /api/schema/, five generated requests each (DELETE included: each
    runs against the one contact of this test's transaction and may remove it)."""
    # (schemathesis' pytest loaders need a private pytest attribute pytest 9 dropped, so the
    # operations are walked here; each is still a Hypothesis test with schemathesis' cases.)
    failures: list[str] = []
    headers = api_schema.fuzz_headers
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=5,
            derandomize=True,  # the fixed seed: the same cases on every run
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as failure:  # collected, reported below
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
