"""Realistic international demo data. Deterministic and idempotent: running it twice adds nothing."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import phonenumbers
from django.db import transaction
from django.utils import timezone
from faker import Faker

from crm import hooks
from crm.models import Company, Contact, Tag, User
from crm.roles import Role
from crm.services import user_create

DEMO_PASSWORD = (
    "rapport-demo"  # printed by `make run`; demo data only, never production
)


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: Role
    given_name: str
    family_name: str
    language: str = ""


DEMO_USERS = (
    DemoUser("admin@rapport.example", Role.ADMIN, "Alex", "Morgan"),
    DemoUser("manager@rapport.example", Role.MANAGER, "서연", "이", "ko"),
    DemoUser("agent@rapport.example", Role.AGENT, "Lucas", "Silva"),
    DemoUser("customer@rapport.example", Role.CUSTOMER, "지민", "김", "ko"),
)


@dataclass(frozen=True)
class Market:
    locale: str
    country: str
    language: str
    timezones: tuple[str, ...]
    weight: int


# Korea first (the first market), then the other countries the demo business sells to.
MARKETS = (
    Market("ko_KR", "KR", "ko", ("Asia/Seoul",), 35),
    Market(
        "en_US",
        "US",
        "en",
        ("America/New_York", "America/Chicago", "America/Los_Angeles"),
        20,
    ),
    Market("ja_JP", "JP", "en", ("Asia/Tokyo",), 15),
    Market("de_DE", "DE", "en", ("Europe/Berlin",), 15),
    Market("pt_BR", "BR", "en", ("America/Sao_Paulo",), 15),
)
CONTACT_COUNT = 300
COMPANY_COUNT = 30
TAGS = ("vip", "wholesale", "newsletter", "event-2026", "partner")


def _phone(rng: random.Random, region: str) -> str:
    """A valid-looking mobile number for ``region`` in E.164, or '' if none can be made."""
    example = phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.MOBILE
    )
    if example is None:
        return ""
    national = str(example.national_number)
    for _attempt in range(10):
        digits = national[:-4] + f"{rng.randrange(10_000):04d}"
        number = phonenumbers.parse(f"+{example.country_code}{digits}")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164
            )
    return ""


def seed_users(write: Callable[[str], None]) -> dict[str, User]:
    users = {}
    for demo in DEMO_USERS:
        user = User.objects.filter(email__iexact=demo.email).first()
        if user is None:
            user = user_create(
                email=demo.email,
                password=DEMO_PASSWORD,
                role=demo.role,
                given_name=demo.given_name,
                family_name=demo.family_name,
                language=demo.language,
            )
            write(f"  created {demo.role.value.lower()} {demo.email}")
        users[demo.role.value] = user
    return users


def seed_contacts(users: dict[str, User], write: Callable[[str], None]) -> int:
    """Companies, tags and a few hundred contacts across five markets."""
    rng = random.Random(2026)
    fakers = {m.locale: Faker(m.locale) for m in MARKETS}
    for index, faker in enumerate(fakers.values()):
        faker.seed_instance(2026 + index)
    weights = [m.weight for m in MARKETS]
    owners = [users[Role.MANAGER.value], users[Role.AGENT.value]]
    now = timezone.now()

    companies = []
    for i in range(COMPANY_COUNT):
        market = rng.choices(MARKETS, weights)[0]
        name = fakers[market.locale].company()
        company, _created = Company.objects.get_or_create(
            name=name,
            defaults={"country": market.country, "domain": f"company{i + 1}.example"},
        )
        companies.append(company)
    tags = [Tag.objects.get_or_create(name=name)[0] for name in TAGS]

    existing = {
        email.lower() for email in Contact.objects.values_list("email", flat=True)
    }
    new_contacts: list[Contact] = []
    new_tags: list[tuple[int, list[Tag]]] = []
    for i in range(CONTACT_COUNT):
        market = rng.choices(MARKETS, weights)[0]
        faker = fakers[market.locale]
        given, family = faker.first_name(), faker.last_name()
        email = f"contact{i + 1:04d}@{market.country.lower()}.rapport.example"
        stage = rng.choices(list(Contact.LifecycleStage), [10, 25, 10, 45, 7, 3])[0]
        birthday = (
            faker.date_of_birth(minimum_age=18, maximum_age=80)
            if rng.random() < 0.85
            else None
        )
        since = (
            now - dt.timedelta(days=rng.randrange(1, 730))
            if stage == Contact.LifecycleStage.CUSTOMER
            else None
        )
        chosen_tags = rng.sample(tags, k=rng.choice([0, 0, 1, 1, 2]))
        # Every random draw happens before the skip, so each run walks the same sequence.
        contact = Contact(
            given_name=given,
            family_name=family,
            email=email,
            phone=_phone(rng, market.country),
            company=rng.choice(companies) if rng.random() < 0.6 else None,
            country=market.country,
            language=market.language,
            timezone=ZoneInfo(rng.choice(market.timezones))
            if rng.random() < 0.9
            else None,
            birth_year=birthday.year if birthday and rng.random() < 0.8 else None,
            birth_month=birthday.month if birthday else None,
            birth_day=birthday.day if birthday else None,
            owner=rng.choice(owners),
            lifecycle_stage=stage,
            source=rng.choice(list(Contact.Source)),
            customer_since=since,
            attributes={"newsletter": rng.random() < 0.5},
        )
        if email in existing:
            continue
        new_contacts.append(contact)
        new_tags.append((len(new_contacts) - 1, chosen_tags))
    for contact in new_contacts:
        contact.full_clean(validate_unique=False, validate_constraints=False)
    Contact.objects.bulk_create(new_contacts)
    through = Contact.tags.through
    through.objects.bulk_create(
        [
            through(contact_id=new_contacts[i].pk, tag_id=tag.pk)
            for i, chosen in new_tags
            for tag in chosen
        ]
    )

    customer = users[Role.CUSTOMER.value]
    if not Contact.objects.filter(user=customer).exists():
        Contact.objects.update_or_create(
            email=customer.email,
            defaults={
                "given_name": customer.given_name,
                "family_name": customer.family_name,
                "country": "KR",
                "language": "ko",
                "timezone": ZoneInfo("Asia/Seoul"),
                "birth_month": 3,
                "birth_day": 14,
                "lifecycle_stage": Contact.LifecycleStage.CUSTOMER,
                "source": Contact.Source.PORTAL,
                "owner": users[Role.AGENT.value],
                "customer_since": now - dt.timedelta(days=400),
                "user": customer,
            },
        )
        new_contacts.append(Contact(email=customer.email))
    return len(new_contacts)


@transaction.atomic
def seed_demo(*, write: Callable[[str], None] = print) -> None:
    """Load the demo users and data of every app (apps add theirs through ``hooks.demo_seeders``)."""
    users = seed_users(write)
    added = seed_contacts(users, write)
    write(f"  contacts added: {added} (total {Contact.objects.count()})")
    for seeder in hooks.demo_seeders:
        seeder(write=write)
