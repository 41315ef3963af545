"""Realistic international demo data. Deterministic and idempotent: running it twice adds nothing."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from django.db import models, transaction
from django.utils import timezone
from faker import Faker

from crm import hooks
from crm.currencies import quantize
from crm.models import (
    Company,
    Contact,
    MessageTemplate,
    Segment,
    Tag,
    Task,
    User,
)
from crm.roles import Role
from crm.services import consents_set, user_create

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
    currency: str
    typical_order: int  # in the market's currency


# Korea first (the first market), then the other countries the demo business sells to.
MARKETS = (
    Market("ko_KR", "KR", "ko", ("Asia/Seoul",), 35, "KRW", 85_000),
    Market(
        "en_US",
        "US",
        "en",
        ("America/New_York", "America/Chicago", "America/Los_Angeles"),
        20,
        "USD",
        70,
    ),
    Market("ja_JP", "JP", "en", ("Asia/Tokyo",), 15, "JPY", 9_000),
    Market("de_DE", "DE", "en", ("Europe/Berlin",), 15, "EUR", 60),
    Market("pt_BR", "BR", "en", ("America/Sao_Paulo",), 15, "BRL", 300),
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
        contact.full_clean(
            validate_unique=False, validate_constraints=False, exclude=["search_text"]
        )
        contact.search_text = contact.build_search_text()
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
        portal_contact, _created = Contact.objects.update_or_create(
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
        Contact.objects.filter(pk=portal_contact.pk).update(
            search_text=portal_contact.build_search_text()
        )
        new_contacts.append(Contact(email=customer.email))
    return len(new_contacts)


# Approximate US dollars per unit; the demo's exchange rates wobble around these.
USD_PER_UNIT = {
    "USD": Decimal("1"),
    "KRW": Decimal("0.00073"),
    "JPY": Decimal("0.0066"),
    "EUR": Decimal("1.08"),
    "BRL": Decimal("0.18"),
}
RATE_MONTHS = 26
INTERACTION_TEXTS = {
    "ko": [
        (
            "배송 문의",
            "주문한 상품의 배송 일정을 문의하셨습니다. 내일 도착 예정으로 안내했습니다.",
        ),
        ("멤버십 혜택 안내", "골드 등급 혜택과 생일 쿠폰에 대해 설명드렸습니다."),
        ("교환 요청", "사이즈 교환을 요청하셨고 회수 일정을 잡았습니다."),
        ("신제품 추천", "지난 구매 이력을 바탕으로 신제품을 추천해 드렸습니다."),
    ],
    "en": [
        (
            "Delivery question",
            "Asked when the order arrives; confirmed delivery tomorrow.",
        ),
        (
            "Loyalty benefits",
            "Walked through the Gold tier benefits and the birthday reward.",
        ),
        ("Exchange request", "Wants a different size; arranged a pickup."),
        (
            "Product recommendation",
            "Suggested the new collection based on past orders.",
        ),
    ],
}


def _month_starts(now: dt.datetime, months: int) -> list[dt.date]:
    year, month = now.year, now.month
    days = []
    for _ in range(months):
        days.append(dt.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return days


def seed_exchange_rates(now: dt.datetime) -> None:
    """A rate per currency on the first of every month, relative to ``BASE_CURRENCY``."""
    from django.conf import settings

    from crm.services import exchange_rate_set

    base = settings.BASE_CURRENCY
    if base not in USD_PER_UNIT:
        return  # a business with another base currency enters its own rates
    rng = random.Random(7)
    for day in reversed(_month_starts(now, RATE_MONTHS)):
        for currency, usd in USD_PER_UNIT.items():
            wobble = Decimal(str(round(rng.uniform(0.96, 1.04), 4)))
            if currency != base:
                rate = (usd / USD_PER_UNIT[base] * wobble).quantize(
                    Decimal("0.0000000001")
                )
                exchange_rate_set(currency=currency, date=day, rate=rate)


def seed_activity(users: dict[str, User], write: Callable[[str], None]) -> None:
    """Purchases in each market's currency, interactions, tasks and a few duplicates to merge."""
    from crm.services import interaction_log, purchase_record, task_create

    now = timezone.now()
    seed_duplicates(write)  # first, so they get interactions like everyone else
    seed_exchange_rates(now)
    markets = {m.country: m for m in MARKETS}
    purchases = interactions = 0
    contacts = Contact.objects.select_related("owner").order_by("email")
    for contact in contacts:
        rng = random.Random(contact.email)
        market = markets.get(str(contact.country))
        if market is None:
            continue
        if contact.customer_since and not contact.purchases.exists():
            start = contact.customer_since
            moments = sorted(
                [start]
                + [
                    start + (now - start) * rng.random()
                    for _ in range(rng.randrange(0, 5))
                ]
            )
            for n, moment in enumerate(moments):
                amount = Decimal(market.typical_order) * Decimal(
                    str(round(rng.uniform(0.4, 2.2), 2))
                )
                purchase_record(
                    contact=contact,
                    amount=quantize(amount, market.currency),
                    currency=market.currency,
                    occurred_at=min(moment, now - dt.timedelta(minutes=1)),
                    external_id=f"demo:{contact.email}:{n}",
                    actor=contact.owner,
                )
                purchases += 1
        if not contact.interactions.exists():
            texts = INTERACTION_TEXTS["ko" if contact.language == "ko" else "en"]
            for _ in range(rng.randrange(1, 4)):
                subject, body = rng.choice(texts)
                interaction_log(
                    contact=contact,
                    author=contact.owner,
                    kind=rng.choice(
                        ["call", "email", "chat", "meeting", "note", "sms"]
                    ),
                    direction=rng.choice(["inbound", "outbound"]),
                    subject=subject,
                    body=body,
                    occurred_at=now
                    - dt.timedelta(
                        days=rng.randrange(0, 365), minutes=rng.randrange(0, 600)
                    ),
                    duration_seconds=rng.choice([None, 120, 300, 900]),
                )
                interactions += 1
    write(f"  purchases added: {purchases}, interactions added: {interactions}")

    if not Task.objects.exists():
        rng = random.Random(11)
        staff = [users[Role.AGENT.value], users[Role.MANAGER.value]]
        picked = list(contacts[:40])
        for i, offset_hours in enumerate(
            [-50, -26, -3, 1, 3, 5, 20, 30, 52, 75, 100, 160]
        ):
            task_contact: Contact | None = (
                picked[(i * 3) % len(picked)] if picked else None
            )
            task_create(
                title=[
                    "Follow up on the exchange",
                    "Send the Gold tier welcome",
                    "Call about renewal",
                    "Check delivery feedback",
                ][i % 4],
                due_at=now + dt.timedelta(hours=offset_hours),
                assignee=staff[i % 2],
                created_by=staff[(i + 1) % 2],
                contact=task_contact,
                notes=rng.choice(["", "Prefers a call after 6pm local time."]),
            )
        write("  tasks added: 12")


def seed_duplicates(write: Callable[[str], None]) -> None:
    """Three pairs the Duplicates page will find: same phone, a +tag mailbox, same name at one company."""
    from crm.services import contact_create

    original = (
        Contact.objects.filter(country="KR").exclude(phone="").order_by("email").first()
    )
    company = Company.objects.order_by("name").first()
    if (
        original is None
        or company is None
        or Contact.objects.filter(email__startswith="dup").exists()
    ):
        return
    contact_create(
        given_name=original.given_name,
        family_name=original.family_name,
        email="dup.phone@kr.rapport.example",
        phone=str(original.phone),
        country="KR",
        language="ko",
        source=Contact.Source.IMPORT,
    )
    local, _sep, domain = original.email.partition("@")
    contact_create(
        given_name=original.given_name,
        family_name=original.family_name,
        email=f"{local}+shop@{domain}",
        country="KR",
        language="ko",
        source=Contact.Source.WEBSITE,
    )
    for email in ("dup.anna.1@de.rapport.example", "dup.anna.2@de.rapport.example"):
        contact_create(
            given_name="Anna",
            family_name="Schneider",
            email=email,
            country="DE",
            company=company,
        )
    write("  duplicates to merge added: 3 pairs")


OUTREACH_HISTORY_DAYS = 45


def seed_outreach(users: dict[str, User], write: Callable[[str], None]) -> None:
    """Consents, the occasions switched on, two campaigns and six weeks of outbox history.

    The history is what the real planners put in the outbox on each past day; the past rows
    are then marked as the worker would have left them (mostly sent, a few refused or lost).
    """
    from crm.models import Campaign, Consent, OutboundMessage
    from crm.services import campaign_create, campaign_schedule, outreach_plan

    rng = random.Random(2027)
    now = timezone.now()
    answered = set(Consent.objects.values_list("contact_id", flat=True))
    for contact in Contact.objects.exclude(pk__in=answered).order_by("pk"):
        consents_set(
            contact=contact,
            consents={
                "marketing_email": rng.random() < 0.8,
                "surveys": rng.random() < 0.9,
            },
            source=Consent.Source.IMPORT,
        )
    MessageTemplate.objects.filter(occasion__in=["anniversary", "win_back"]).update(
        active=True
    )
    manager = users[Role.MANAGER.value]
    korea, _created = Segment.objects.get_or_create(
        name="Korea",
        defaults={
            "filters": {"country": ["KR"]},
            "description": "Every contact in Korea",
            "created_by": manager,
        },
    )
    texts = {
        "subject_en": "Thank you for a wonderful spring, {{ first_name }}",
        "body_text_en": (
            "{{ salutation }},\n\nThank you for shopping with us this spring. "
            "Your loyalty means a great deal to us.\n\n--\nUnsubscribe: "
            "{{ unsubscribe_link }}\n"
        ),
        "subject_ko": "{{ salutation }}, 따뜻한 봄 감사했습니다",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n올봄에도 저희와 함께해 주셔서 "
            "진심으로 감사드립니다.\n\n--\n수신 거부: {{ unsubscribe_link }}\n"
        ),
    }
    past_day = (now - dt.timedelta(days=20)).date()
    if not Campaign.objects.filter(name="Spring thank-you").exists():
        spring = campaign_create(
            actor=manager,
            name="Spring thank-you",
            segment=korea,
            send_on=past_day,
            send_time=dt.time(10, 0),
            **texts,
        )
        campaign_schedule(
            campaign=spring, actor=manager, now=now - dt.timedelta(days=25)
        )
    if not Campaign.objects.filter(name="Chuseok greetings").exists():
        chuseok = campaign_create(
            actor=manager,
            name="Chuseok greetings",
            segment=korea,
            send_on=(now + dt.timedelta(days=7)).date(),
            send_time=dt.time(10, 0),
            subject_en="Happy Chuseok, {{ first_name }}",
            body_text_en=(
                "{{ salutation }},\n\nWe wish you and your family a bountiful "
                "Chuseok.\n\n--\nUnsubscribe: {{ unsubscribe_link }}\n"
            ),
            subject_ko="{{ salutation }}, 풍성한 한가위 보내세요",
            body_text_ko=(
                "{{ salutation }}, 안녕하세요.\n\n가족과 함께 풍성하고 행복한 한가위 "
                "보내시길 바랍니다.\n\n--\n수신 거부: {{ unsubscribe_link }}\n"
            ),
        )
        campaign_schedule(campaign=chuseok, actor=manager, now=now)
    # Each past day, at 02:00 and 20:00 UTC: every zone's send time has passed at one of them.
    for days_ago in range(OUTREACH_HISTORY_DAYS, 0, -1):
        day = (now - dt.timedelta(days=days_ago)).date()
        for hour in (2, 20):
            outreach_plan(now=dt.datetime.combine(day, dt.time(hour), dt.UTC))
    Status = OutboundMessage.Status
    past = OutboundMessage.objects.filter(
        status=Status.PLANNED, scheduled_for__lt=now - dt.timedelta(hours=1)
    )
    for message in past.order_by("pk"):
        roll = rng.random()
        if roll < 0.03:
            message.status = Status.FAILED
            message.error = (
                "550 5.1.1 The email account that you tried to reach does not exist"
            )
        elif roll < 0.04:
            message.status = Status.UNKNOWN
            message.error = "Connection unexpectedly closed"
        else:
            message.status = Status.SENT
            message.sent_at = message.scheduled_for + dt.timedelta(
                seconds=rng.randint(5, 90)
            )
        message.attempts = 1
        message.save(update_fields=["status", "error", "sent_at", "attempts"])
    counts = dict(
        OutboundMessage.objects.order_by()
        .values_list("status")
        .annotate(n=models.Count("pk"))
        .values_list("status", "n")
    )
    write(f"  outbox history: {counts}")


@transaction.atomic
def seed_demo(*, write: Callable[[str], None] = print) -> None:
    """Load the demo users and data of every app (apps add theirs through ``hooks.demo_seeders``)."""
    users = seed_users(write)
    added = seed_contacts(users, write)
    write(f"  contacts added: {added} (total {Contact.objects.count()})")
    seed_activity(users, write)
    seed_outreach(users, write)
    for seeder in hooks.demo_seeders:
        seeder(write=write)
