"""Shared fixtures: one user per role (healthchecks' alice/bob/charlie idea) and an API client."""

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from crm.roles import Role
from tests.crm.factories import UserFactory

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _each_test_starts_in_english():
    """A request in Korean leaves Korean active in the thread; no test may inherit it."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def admin(db):
    return UserFactory(role=Role.ADMIN, email="admin@test.example", given_name="Ada")


@pytest.fixture
def manager(db):
    return UserFactory(
        role=Role.MANAGER, email="manager@test.example", given_name="Mina"
    )


@pytest.fixture
def agent(db):
    return UserFactory(role=Role.AGENT, email="agent@test.example", given_name="Aron")


@pytest.fixture
def customer_a(db):
    return UserFactory(
        role=Role.CUSTOMER,
        email="customer.a@test.example",
        given_name="지민",
        family_name="김",
        language="ko",
    )


@pytest.fixture
def customer_b(db):
    return UserFactory(
        role=Role.CUSTOMER, email="customer.b@test.example", given_name="Bea"
    )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
