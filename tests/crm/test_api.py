import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.authtoken.models import Token

from config.rest import exception_handler
from crm.roles import Role
from crm.services.users import user_set_role
from tests.crm.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_token_authentication_identifies_the_staff_user(api_client, agent):
    token = Token.objects.create(user=agent)
    response = api_client.get(
        reverse("api:me"), HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == agent.email
    assert body["role"] == "Agent"


def test_a_customers_token_is_refused(api_client, customer_a):
    token = Token.objects.create(user=customer_a)
    response = api_client.get(
        reverse("api:me"), HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 403


def test_a_wrong_token_gets_401_with_a_json_error(api_client):
    response = api_client.get(
        reverse("api:me"), HTTP_AUTHORIZATION="Token not-a-real-token"
    )
    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("role", "superuser"),
    [
        (Role.ADMIN, False),
        (Role.MANAGER, False),
        (Role.AGENT, False),
        (Role.AGENT, True),  # a superuser is an Admin whatever their group
    ],
)
def test_a_token_request_reads_user_and_role_in_one_query(
    api_client, role, superuser, django_assert_num_queries
):
    user = UserFactory(role=role)
    if superuser:
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
    token = Token.objects.create(user=user)
    with django_assert_num_queries(1):  # token, user and deciding role group together
        response = api_client.get(
            reverse("api:me"), HTTP_AUTHORIZATION=f"Token {token.key}"
        )
    assert response.status_code == 200
    assert response.json()["role"] == (Role.ADMIN if superuser else role)


def test_a_token_user_in_several_groups_gets_the_highest_role(api_client):
    user = UserFactory(role=Role.AGENT)
    user.groups.add(Group.objects.get(name=Role.MANAGER))
    token = Token.objects.create(user=user)
    response = api_client.get(
        reverse("api:me"), HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.json()["role"] == "Manager"


def test_a_role_change_applies_to_the_next_token_request(api_client, agent):
    token = Token.objects.create(user=agent)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert api_client.get(reverse("api:me"), **auth).json()["role"] == "Agent"
    user_set_role(user=agent, role=Role.MANAGER)
    assert api_client.get(reverse("api:me"), **auth).json()["role"] == "Manager"


def test_a_deactivated_users_token_gets_401(api_client, agent):
    token = Token.objects.create(user=agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    response = api_client.get(
        reverse("api:me"), HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 401


def test_session_authentication_works_for_the_browser(client, manager):
    client.force_login(manager)
    assert client.get(reverse("api:me")).json()["role"] == "Manager"


def test_me_is_two_queries(api_client, agent, django_assert_num_queries):
    api_client.force_authenticate(agent)
    with django_assert_num_queries(
        1
    ):  # the role's groups; the user comes with authentication
        response = api_client.get(reverse("api:me"))
    assert response.status_code == 200


def test_openapi_schema_is_served_and_documents_me(client, agent):
    client.force_login(agent)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema["paths"]


def test_api_docs_use_local_assets_only(client, agent):
    client.force_login(agent)
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html
    assert "unpkg" not in html


def test_service_validation_errors_become_400_naming_each_field():
    response = exception_handler(
        ValidationError({"email": ["Enter a valid email address."]}), {}
    )
    assert response.status_code == 400
    assert response.data == {"email": ["Enter a valid email address."]}
    response = exception_handler(ValidationError("Not enough points."), {})
    assert response.data == {"detail": ["Not enough points."]}
