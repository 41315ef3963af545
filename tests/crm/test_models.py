import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from crm.models import Contact
from tests.crm.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_a_birthday_without_a_year_is_kept_as_month_and_day():
    contact = ContactFactory(birth_month=2, birth_day=29)
    contact.full_clean()
    assert contact.birthday.month == 2
    assert contact.birthday.day == 29


@pytest.mark.parametrize(
    ("year", "month", "day"), [(None, 2, 30), (2023, 2, 29), (None, 4, 31)]
)
def test_an_impossible_birthday_is_refused_naming_the_field(year, month, day):
    contact = ContactFactory.build(birth_year=year, birth_month=month, birth_day=day)
    with pytest.raises(ValidationError) as error:
        contact.full_clean()
    assert "birth_day" in error.value.message_dict


def test_a_contact_needs_a_name():
    with pytest.raises(ValidationError) as error:
        ContactFactory.build(given_name="", family_name=" ").full_clean()
    assert "given_name" in error.value.message_dict


def test_contact_email_is_unique_regardless_of_case_in_the_database():
    ContactFactory(email="Jimin@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(email="jimin@example.com")


def test_many_contacts_may_have_no_email():
    ContactFactory(email="")
    ContactFactory(email="")
    assert Contact.objects.filter(email="").count() == 2


def test_a_half_birthday_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(birth_month=5, birth_day=None)
