import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from crm.models import User, person_name
from crm.roles import Role
from crm.services import (
    api_token_get_or_create,
    user_create,
    user_set_language,
    user_set_role,
)
from tests.crm.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


@pytest.mark.parametrize(
    ("role", "is_staff", "is_superuser", "groups"),
    [
        (Role.ADMIN, True, True, ["Admin"]),
        (Role.MANAGER, True, False, ["Manager"]),
        (Role.AGENT, True, False, ["Agent"]),
        (Role.CUSTOMER, False, False, []),
    ],
)
def test_user_create_puts_the_user_in_exactly_its_role(
    role, is_staff, is_superuser, groups
):
    user = user_create(
        email="New.Person@Example.com", password="s3cret-pass-phrase", role=role
    )
    assert user.email == "new.person@example.com"
    assert (user.is_staff, user.is_superuser) == (is_staff, is_superuser)
    assert sorted(user.groups.values_list("name", flat=True)) == groups
    assert User.objects.get(pk=user.pk).role == role


def test_user_create_refuses_an_email_that_differs_only_in_case():
    user_create(
        email="mina@example.com", password="s3cret-pass-phrase", role=Role.AGENT
    )
    with pytest.raises(ValidationError) as error:
        user_create(
            email="MINA@example.com", password="s3cret-pass-phrase", role=Role.MANAGER
        )
    assert "email" in error.value.message_dict
    assert User.objects.count() == 1


def test_user_create_refuses_an_invalid_email_naming_the_field():
    with pytest.raises(ValidationError) as error:
        user_create(email="not-an-email", password="x", role=Role.AGENT)
    assert "email" in error.value.message_dict
    assert not User.objects.exists()


def test_user_set_role_moves_a_user_between_groups():
    user = UserFactory(role=Role.AGENT)
    user_set_role(user=user, role=Role.MANAGER)
    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == ["Manager"]
    assert User.objects.get(pk=user.pk).role == Role.MANAGER
    user_set_role(user=user, role=Role.CUSTOMER)
    fresh = User.objects.get(pk=user.pk)
    assert fresh.role == Role.CUSTOMER
    assert not fresh.groups.exists()


def test_role_groups_exist_after_migrate_with_their_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Admin",
        "Manager",
        "Agent",
    }
    assert (
        Group.objects.get(name="Agent")
        .permissions.filter(codename="view_contact")
        .exists()
    )
    assert (
        not Group.objects.get(name="Agent")
        .permissions.filter(codename="delete_contact")
        .exists()
    )


def test_user_set_language_refuses_an_unknown_language():
    user = UserFactory()
    with pytest.raises(ValidationError) as error:
        user_set_language(user=user, language="xx")
    assert "language" in error.value.message_dict
    user_set_language(user=user, language="ko")
    user.refresh_from_db()
    assert user.language == "ko"


def test_api_token_is_stable_for_staff_and_refused_for_customers():
    agent = UserFactory(role=Role.AGENT)
    assert (
        api_token_get_or_create(user=agent).key
        == api_token_get_or_create(user=agent).key
    )
    with pytest.raises(ValidationError):
        api_token_get_or_create(user=UserFactory(role=Role.CUSTOMER))


@pytest.mark.parametrize(
    ("given", "family", "language", "expected"),
    [
        ("길동", "홍", "ko", "홍길동"),
        ("太郎", "山田", "ja", "山田 太郎"),
        ("Anna", "Schmidt", "de", "Anna Schmidt"),
        ("Anna", "", "en", "Anna"),
    ],
)
def test_names_follow_the_order_of_the_persons_language(
    given, family, language, expected
):
    assert (
        person_name(given_name=given, family_name=family, language=language) == expected
    )
