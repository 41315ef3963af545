import factory

from crm.models import Company, Contact, User
from crm.roles import Role
from crm.services import user_create


class UserFactory(factory.django.DjangoModelFactory):
    """Users are made through the ``user_create`` service, so roles are set the real way."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@test.example")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    language = ""
    role = Role.AGENT
    password = "correct-horse-battery-staple"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return user_create(**kwargs)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Faker("company")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@test.example")
    country = "KR"
    language = "ko"
