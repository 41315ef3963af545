"""``python -m bench.generate --scale small|medium|large``: load a realistic data set with COPY.

Runs ``migrate`` first. The scale is recorded in a marker row (table ``bench_dataset``): a second
run at the same scale reuses the data, another scale truncates and rebuilds it. Values are
deterministic (seeded): names in Hangul, Latin, Kanji, Cyrillic and Greek, many countries and
IANA time zones, en/ko, birthdays over the whole year (some 29 February), unique lower-cased
emails and ``search_text`` built by ``Contact.build_search_text`` (what the contact services
store). Loyalty balances equal the sum of their entries; earn lots keep what is unspent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import psycopg

from bench.common import (
    AGENT_EMAILS,
    MANAGER_EMAIL,
    MARKER_TABLE,
    Scale,
    connect,
    ensure_database,
    manage,
    progress,
    read_marker,
    scale_named,
    setup_django,
)

SEED = 20270101
CHUNK = 10_000
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
HISTORY_DAYS = 3 * 365
START = NOW - dt.timedelta(days=HISTORY_DAYS)
BASE_CURRENCY = "USD"
# Base-currency units per unit, around which the daily rates wander.
CURRENCIES = {
    "USD": Decimal(1),
    "KRW": Decimal("0.00075"),
    "EUR": Decimal("1.08"),
    "JPY": Decimal("0.0067"),
    "GBP": Decimal("1.27"),
}
Q4 = Decimal("0.0001")

# (country, time zone, language, phone country code, national prefix, script, currency)
PLACES: list[tuple[str, str, str, str, str, str, str]] = [
    ("KR", "Asia/Seoul", "ko", "82", "10", "hangul", "KRW"),
    ("KR", "Asia/Seoul", "ko", "82", "10", "hangul", "KRW"),
    ("KR", "Asia/Seoul", "ko", "82", "10", "hangul", "KRW"),
    ("US", "America/New_York", "en", "1", "212", "latin", "USD"),
    ("US", "America/Los_Angeles", "en", "1", "415", "latin", "USD"),
    ("US", "America/Chicago", "en", "1", "312", "latin", "USD"),
    ("US", "Pacific/Honolulu", "en", "1", "808", "latin", "USD"),
    ("CA", "America/Toronto", "en", "1", "416", "latin", "USD"),
    ("GB", "Europe/London", "en", "44", "7700", "latin", "GBP"),
    ("DE", "Europe/Berlin", "en", "49", "151", "latin", "EUR"),
    ("FR", "Europe/Paris", "en", "33", "6", "latin", "EUR"),
    ("ES", "Europe/Madrid", "en", "34", "6", "latin", "EUR"),
    ("JP", "Asia/Tokyo", "en", "81", "90", "kanji", "JPY"),
    ("RU", "Europe/Moscow", "en", "7", "912", "cyrillic", "USD"),
    ("GR", "Europe/Athens", "en", "30", "69", "greek", "EUR"),
    ("AU", "Australia/Sydney", "en", "61", "4", "latin", "USD"),
    ("NZ", "Pacific/Auckland", "en", "64", "21", "latin", "USD"),
    ("BR", "America/Sao_Paulo", "en", "55", "11", "latin", "USD"),
    ("MX", "America/Mexico_City", "en", "52", "55", "latin", "USD"),
    ("IN", "Asia/Kolkata", "en", "91", "98", "latin", "USD"),
    ("VN", "Asia/Ho_Chi_Minh", "en", "84", "90", "latin", "USD"),
    ("NG", "Africa/Lagos", "en", "234", "80", "latin", "USD"),
    ("US", "", "en", "1", "646", "latin", "USD"),  # no time zone: the company default
]
NAMES = {
    "hangul": (
        ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오"],
        [
            "민준",
            "서연",
            "지호",
            "하은",
            "도윤",
            "서윤",
            "예준",
            "지우",
            "길동",
            "수빈",
        ],
    ),
    "latin": (
        [
            "Smith",
            "García",
            "Müller",
            "Dubois",
            "Nguyễn",
            "Silva",
            "O'Brien",
            "Kowalski",
        ],
        ["Olivia", "Liam", "Zoë", "José", "Søren", "Amélie", "Noah", "Chloé", "Ana"],
    ),
    "kanji": (
        ["佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤"],
        ["太郎", "花子", "翔太", "陽菜", "蓮", "結衣"],
    ),
    "cyrillic": (
        ["Иванов", "Смирнова", "Кузнецов", "Попова"],
        ["Анна", "Иван", "Мария"],
    ),
    "greek": (["Παπαδόπουλος", "Γεωργίου", "Νικολάου"], ["Ελένη", "Γιώργος", "Μαρία"]),
}
ASCII = {"hangul": "kim", "kanji": "sato", "cyrillic": "ivanov", "greek": "papa"}
STAGES = ["subscriber", "lead", "opportunity", "other"]
SOURCES = ["manual", "import", "api", "website", "referral", "portal"]
KINDS = ["call", "email", "meeting", "chat", "sms", "note", "social"]
DIRECTIONS = ["inbound", "outbound", "internal"]
SUBJECTS = ["Follow-up", "Order question", "Renewal", "배송 문의", "Demo", "Feedback"]
CHANNELS = ["email", "phone", "chat", "portal", "social"]
PRIORITIES = ["urgent", "high", "normal", "low"]
ACCOUNT_COLUMNS = [
    "id", "created_at", "updated_at", "balance", "tier_grace_until", "referral_code",
    "contact_id", "tier_id",
]  # fmt: skip
ENTRY_COLUMNS = [
    "id", "kind", "points", "balance_after", "key", "source_type", "source_id", "reason",
    "created_at", "expires_at", "remaining", "account_id",
]  # fmt: skip
LOT_USE_COLUMNS = ["id", "points", "entry_id", "lot_id"]


def copy_rows(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    total: int,
    label: str | None = None,
) -> int:
    """COPY ``rows`` into ``table`` in chunks of CHUNK rows (one transaction per chunk)."""
    written = 0
    iterator = iter(rows)
    with progress(label or table, total) as bar:
        while True:
            chunk = [row for _i, row in zip(range(CHUNK), iterator, strict=False)]
            if not chunk:
                break
            written += copy_chunk(conn, table, columns, chunk)
            bar.advance(len(chunk))
    return written


def copy_chunk(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: list[Any]
) -> int:
    """COPY one chunk of rows in its own transaction."""
    if not rows:
        return 0
    cols = ", ".join(f'"{c}"' for c in columns)
    with (
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return len(rows)


def _day(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    span = max(int((end - start).total_seconds()), 1)
    return start + dt.timedelta(seconds=rng.randrange(span))


def _spread(rng: random.Random, total: int, buckets: int, share: float) -> list[int]:
    """``total`` items over ``buckets``: a ``share`` of buckets get some, unevenly."""
    counts = [0] * buckets
    chosen = [i for i in range(buckets) if rng.random() < share] or [0]
    for _i in range(total):
        counts[rng.choice(chosen)] += 1
    return counts


class Generator:
    """Builds each table's rows in memory-bounded streams and COPYs them in."""

    def __init__(self, scale: Scale, conn: psycopg.Connection[Any]) -> None:
        self.scale, self.conn = scale, conn
        self.rng = random.Random(SEED)
        self.counts: dict[str, int] = {}
        self.phone_pool: dict[str, list[str]] = {}

    # --- reference rows ---------------------------------------------------------------
    def staff(self) -> None:
        from crm.models import User
        from crm.roles import Role
        from crm.services import api_token_get_or_create, user_create

        for email, role in [
            (MANAGER_EMAIL, Role.MANAGER),
            *((e, Role.AGENT) for e in AGENT_EMAILS),
        ]:
            user = User.objects.filter(email=email).first() or user_create(
                email=email, password=None, role=role, given_name="Bench"
            )
            api_token_get_or_create(user=user)
        self.agents = list(
            User.objects.filter(email__in=AGENT_EMAILS).values_list("pk", flat=True)
        )

    def exchange_rates(self) -> None:
        self.rates: dict[tuple[str, dt.date], Decimal] = {}
        rows = []
        day, rid = START.date(), 0
        while day <= NOW.date():
            for currency, base in CURRENCIES.items():
                if currency == BASE_CURRENCY:
                    continue
                rate = (base * Decimal(1 + self.rng.uniform(-0.05, 0.05))).quantize(
                    Decimal("0.0000000001")
                )
                self.rates[(currency, day)] = rate
                rid += 1
                rows.append((rid, NOW, NOW, currency, day, rate))
            day += dt.timedelta(days=1)
        cols = ["id", "created_at", "updated_at", "currency", "date", "rate"]
        self.counts["exchange_rates"] = copy_rows(
            self.conn, "crm_exchangerate", cols, rows, total=len(rows)
        )

    def companies(self) -> None:
        from crm.models import Company

        self.company_objs: list[Company] = []
        rows = []
        for i in range(1, self.scale.companies + 1):
            place = self.rng.choice(PLACES)
            name = f"{self.rng.choice(['Acme', '한빛', 'Nordwind', 'Sakura', 'Atlas'])} {i}"
            self.company_objs.append(Company(id=i, name=name))
            rows.append(
                (i, NOW, NOW, name, f"c{i}.example.com", place[0], "", self.agents[0])
            )
        cols = ["id", "created_at", "updated_at", "name", "domain", "country", "phone"]
        self.counts["companies"] = copy_rows(
            self.conn, "crm_company", [*cols, "owner_id"], rows, total=len(rows)
        )

    # --- contacts -------------------------------------------------------------------
    def _phones(self, region: str) -> list[str]:
        """Valid mobile numbers of ``region``: its example number with other last digits."""
        import phonenumbers

        pool = self.phone_pool.get(region)
        if pool is None:
            example = phonenumbers.example_number_for_type(
                region, phonenumbers.PhoneNumberType.MOBILE
            )
            if example is None:
                raise SystemExit(f"bench: no example phone number for {region}")
            national = str(example.national_number)
            pool = []
            for _i in range(2000):
                number = phonenumbers.PhoneNumber(
                    country_code=example.country_code,
                    national_number=int(
                        national[:-4] + f"{self.rng.randrange(10**4):04d}"
                    ),
                )
                if phonenumbers.is_valid_number(number):
                    pool.append(
                        phonenumbers.format_number(
                            number, phonenumbers.PhoneNumberFormat.E164
                        )
                    )
                if len(pool) >= 200:
                    break
            self.phone_pool[region] = pool
        return pool

    def _contact_rows(self) -> Iterator[tuple[Any, ...]]:
        from phonenumber_field.phonenumber import PhoneNumber

        from crm.models import Contact

        rng = self.rng
        for cid in range(1, self.scale.contacts + 1):
            country, tz, lang, _code, _prefix, script, _cur = rng.choice(PLACES)
            if script == "hangul" and rng.random() < 0.1:
                lang = "en"
            families, givens = NAMES[script]
            family, given = rng.choice(families), rng.choice(givens)
            local = (
                ASCII.get(script) or given.encode("ascii", "ignore").decode().lower()
            )
            email = f"{local or 'c'}.{cid}@{rng.choice(['example.com', 'example.org', 'example.net'])}"
            phone = PhoneNumber.from_string(rng.choice(self._phones(country)))
            company = (
                self.company_objs[rng.randrange(len(self.company_objs))]
                if rng.random() < 0.4
                else None
            )
            by = bm = bd = None
            if rng.random() < 0.85:
                day = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(366))
                bm, bd = day.month, day.day
                if rng.random() < 0.7:
                    by = rng.randrange(1950, 2006)
                    if (bm, bd) == (2, 29):
                        by -= by % 4  # a leap year (2000 is one; 1900 is not in range)
            created = _day(rng, START, NOW)
            contact = Contact(
                given_name=given,
                family_name=family,
                email=email,
                phone=phone,
                company=company,
            )
            first, last = self.purchase_span.get(cid, (None, None))
            yield (
                cid,
                min(created, first) if first else created,
                NOW,
                given,
                family,
                email,
                str(phone),
                country,
                lang,
                tz or None,
                by,
                bm,
                bd,
                "customer" if first else rng.choice(STAGES),
                rng.choice(SOURCES),
                json.dumps(
                    {"plan": rng.choice(["basic", "plus"])}
                    if rng.random() < 0.3
                    else {}
                ),
                first,
                last,
                None,
                company.pk if company else None,
                rng.choice(self.agents),
                None,
                contact.build_search_text(),
                None,
            )

    def contacts(self) -> None:
        cols = [
            "id", "created_at", "updated_at", "given_name", "family_name", "email",
            "phone", "country", "language", "timezone", "birth_year", "birth_month",
            "birth_day", "lifecycle_stage", "source", "attributes", "customer_since",
            "last_purchase_at", "churned_at", "company_id", "owner_id", "user_id",
            "search_text", "erased_at",
        ]  # fmt: skip
        self.counts["contacts"] = copy_rows(
            self.conn,
            "crm_contact",
            cols,
            self._contact_rows(),
            total=self.scale.contacts,
        )

    def consents(self) -> None:
        def rows() -> Iterator[tuple[Any, ...]]:
            cid_rng = random.Random(SEED + 1)
            rid = 0
            for cid in range(1, self.scale.contacts + 1):
                for purpose, share in (("marketing_email", 0.7), ("surveys", 0.5)):
                    if cid_rng.random() < share:
                        rid += 1
                        yield (
                            rid,
                            purpose,
                            True,
                            "import",
                            _day(cid_rng, START, NOW),
                            cid,
                            "",
                        )

        cols = [
            "id",
            "purpose",
            "granted",
            "source",
            "changed_at",
            "contact_id",
            "wording_version",
        ]
        self.counts["consents"] = copy_rows(
            self.conn, "crm_consent", cols, rows(), total=int(self.scale.contacts * 1.2)
        )

    # --- purchases and the ledger ---------------------------------------------------
    def plan_purchases(self) -> None:
        """Which contact buys when: decided first, so contacts get customer_since/last purchase."""
        rng = random.Random(SEED + 2)
        per_contact = _spread(rng, self.scale.purchases, self.scale.contacts, 0.6)
        self.purchase_plan: list[tuple[int, dt.datetime]] = []
        self.purchase_span: dict[int, tuple[dt.datetime, dt.datetime]] = {}
        for index, count in enumerate(per_contact):
            cid = index + 1
            moments = sorted(
                _day(rng, START, NOW - dt.timedelta(hours=1)) for _i in range(count)
            )
            self.purchase_plan.extend((cid, moment) for moment in moments)
            if moments:
                self.purchase_span[cid] = (moments[0], moments[-1])

    def purchases(self) -> None:
        rng = random.Random(SEED + 3)
        places = {cid: rng.choice(PLACES)[6] for cid in self.purchase_span}
        self.earned: dict[int, list[tuple[int, dt.datetime, int]]] = {}

        def rows() -> Iterator[tuple[Any, ...]]:
            for pid, (cid, moment) in enumerate(self.purchase_plan, start=1):
                currency = (
                    places[cid] if rng.random() < 0.8 else rng.choice(list(CURRENCIES))
                )
                rate = self.rates.get((currency, moment.date()), Decimal(1))
                if currency == "KRW":
                    amount = Decimal(rng.randrange(5_000, 500_000, 100))
                elif currency == "JPY":
                    amount = Decimal(rng.randrange(500, 50_000, 10))
                else:
                    amount = Decimal(rng.randrange(500, 50_000)) / 100
                base = (amount * rate).quantize(Q4)
                self.earned.setdefault(cid, []).append((pid, moment, int(base)))
                yield (
                    pid, moment, moment, amount, currency, base, BASE_CURRENCY, rate,
                    Decimal(0), moment, f"bench-{pid}" if rng.random() < 0.9 else "",
                    cid, None,
                )  # fmt: skip

        cols = [
            "id", "created_at", "updated_at", "amount", "currency", "amount_base",
            "base_currency", "exchange_rate", "refunded_amount", "occurred_at",
            "external_id", "contact_id", "recorded_by_id",
        ]  # fmt: skip
        self.counts["purchases"] = copy_rows(
            self.conn, "crm_purchase", cols, rows(), total=len(self.purchase_plan)
        )

    def ledger(self) -> None:
        """Accounts for buyers (and some others); earn lots per purchase, then redemptions
        and expiries that consume lots nearest-expiry-first, recorded as lot uses."""
        from loyalty.models import Tier
        from loyalty.services.earning import earn_key
        from loyalty.services.expiry import expire_key

        rng = random.Random(SEED + 4)
        tiers = list(Tier.objects.order_by("threshold").values_list("pk", "threshold"))
        members = sorted(
            set(self.earned)
            | {c for c in range(1, self.scale.contacts + 1) if rng.random() < 0.1}
        )
        accounts: list[tuple[Any, ...]] = []
        entries: list[list[Any]] = []
        uses: list[tuple[int, int, int, int]] = []
        totals = {"loyalty_accounts": 0, "points_entries": 0, "lot_uses": 0}
        state = {"eid": 0, "uid": 0}

        def flush() -> None:
            for name, table, cols, rows in (
                (
                    "loyalty_accounts",
                    "loyalty_loyaltyaccount",
                    ACCOUNT_COLUMNS,
                    accounts,
                ),
                ("points_entries", "loyalty_pointsentry", ENTRY_COLUMNS, entries),
                ("lot_uses", "loyalty_lotuse", LOT_USE_COLUMNS, uses),
            ):
                totals[name] += copy_chunk(self.conn, table, cols, rows)
                rows.clear()

        def consume(lots: list[list[Any]], entry_id: int, amount: int) -> None:
            for lot in sorted(lots, key=lambda lot: lot[3]):
                if amount == 0:
                    break
                take = min(lot[2], amount)
                if take:
                    lot[2] -= take
                    amount -= take
                    state["uid"] += 1
                    uses.append((state["uid"], take, entry_id, lot[0]))

        def post(aid: int, *values: Any) -> int:
            state["eid"] += 1
            entries.append([state["eid"], *values, aid])
            return state["eid"]

        with progress("loyalty ledger", len(members)) as bar:
            for aid, cid in enumerate(members, start=1):
                events = [
                    (moment, "earn", points, earn_key(pid), "crm.purchase", str(pid))
                    for pid, moment, points in self.earned.get(cid, [])
                    if points > 0
                ] or [
                    (
                        _day(rng, START, NOW),
                        "bonus",
                        100,
                        f"welcome:{aid}",
                        "loyalty.welcome",
                        "",
                    )
                ]
                events.sort()
                lots: list[
                    list[Any]
                ] = []  # [entry id, points, remaining, expires, entry]
                balance = 0

                def expire_until(
                    moment: dt.datetime, aid: int = aid, lots: list[list[Any]] = lots
                ) -> None:
                    nonlocal balance
                    for lot in sorted(lots, key=lambda lot: lot[3]):
                        if lot[2] and lot[3] <= moment:
                            points = lot[2]
                            balance -= points
                            eid = post(
                                aid, "expire", -points, balance, expire_key(lot[0]),
                                "loyalty.lot", str(lot[0]), "", lot[3], None, 0,
                            )  # fmt: skip
                            consume(lots, eid, points)

                for moment, kind, points, key, source_type, source_id in events:
                    expire_until(moment)
                    balance += points
                    expires = moment + dt.timedelta(days=365)
                    eid = post(
                        aid, kind, points, balance, key, source_type, source_id, "",
                        moment, expires, points,
                    )  # fmt: skip
                    lots.append([eid, points, points, expires, entries[-1]])
                    if balance >= 200 and rng.random() < 0.3:
                        spend = rng.randrange(100, balance + 1)
                        balance -= spend
                        eid = post(
                            aid, "redeem", -spend, balance, f"bench-redeem:{state['eid'] + 1}",
                            "loyalty.redemption", "", "", moment + dt.timedelta(hours=1),
                            None, 0,
                        )  # fmt: skip
                        consume(lots, eid, spend)
                expire_until(NOW)
                for lot in lots:
                    lot[4][10] = lot[2]  # the lot's unspent remainder
                tier = next((pk for pk, t in reversed(tiers) if balance >= t), None)
                accounts.append(
                    (
                        aid,
                        events[0][0],
                        NOW,
                        balance,
                        None,
                        _referral_code(aid),
                        cid,
                        tier,
                    )
                )
                if len(accounts) >= CHUNK // 2:
                    flush()
                bar.advance(1)
            flush()
        self.counts.update(totals)

    # --- activity and feedback ------------------------------------------------------
    def interactions(self) -> None:
        rng = random.Random(SEED + 5)
        contacts = self.scale.contacts

        def rows() -> Iterator[tuple[Any, ...]]:
            for iid in range(1, self.scale.interactions + 1):
                moment = _day(rng, START, NOW)
                kind = rng.choice(KINDS)
                yield (
                    iid, moment, moment, kind, rng.choice(DIRECTIONS), rng.choice(SUBJECTS),
                    "Talked about the order and next steps.", moment,
                    rng.randrange(30, 3600) if kind in ("call", "meeting") else None,
                    rng.choice(self.agents), rng.randrange(1, contacts + 1),
                )  # fmt: skip

        cols = [
            "id", "created_at", "updated_at", "kind", "direction", "subject", "body",
            "occurred_at", "duration_seconds", "author_id", "contact_id",
        ]  # fmt: skip
        self.counts["interactions"] = copy_rows(
            self.conn, "crm_interaction", cols, rows(), total=self.scale.interactions
        )

    def surveys(self) -> None:
        from feedback.models import Question, Survey

        rng = random.Random(SEED + 6)
        nps = Survey.objects.create(
            title="How likely are you to recommend us?", kind="nps"
        )
        q = Question.objects.create(
            survey=nps, order=0, type="rating_scale", text="Recommend us?",
            min_value=0, max_value=10, is_score=True,
        )  # fmt: skip
        languages = dict(
            self.conn.execute("SELECT id, language FROM crm_contact").fetchall()
        )
        picks = rng.sample(
            range(1, self.scale.contacts + 1),
            min(self.scale.survey_responses, self.scale.contacts),
        )
        invitations, responses, answers = [], [], []
        for rid, cid in enumerate(picks, start=1):
            sent = _day(rng, START, NOW - dt.timedelta(days=1))
            answered = sent + dt.timedelta(hours=rng.randrange(1, 24))
            score = rng.choices(
                range(11), weights=[1, 1, 1, 1, 2, 3, 4, 8, 12, 14, 12]
            )[0]
            invitations.append(
                (rid, sent, answered, uuid.uuid4().hex + uuid.uuid4().hex[:20],
                 sent + dt.timedelta(days=14), sent, sent, 0, None, answered, "email",
                 "segment", cid, nps.pk)
            )  # fmt: skip
            responses.append(
                (rid, answered, languages[cid], score, cid, None, rid, nps.pk)
            )
            answers.append((rid, json.dumps(score), q.pk, rid))
        self.counts["invitations"] = copy_rows(
            self.conn, "feedback_invitation",
            ["id", "created_at", "updated_at", "token", "expires_at", "send_at", "sent_at",
             "reminders_sent", "last_reminded_at", "responded_at", "channel", "source",
             "contact_id", "survey_id"],
            invitations, total=len(invitations),
        )  # fmt: skip
        self.counts["survey_responses"] = copy_rows(
            self.conn, "feedback_response",
            ["id", "submitted_at", "language", "score", "contact_id", "follow_up_task_id",
             "invitation_id", "survey_id"],
            responses, total=len(responses),
        )  # fmt: skip
        self.counts["answers"] = copy_rows(
            self.conn, "feedback_answer", ["id", "value", "question_id", "response_id"],
            answers, total=len(answers),
        )  # fmt: skip

    def tickets(self) -> None:
        rng = random.Random(SEED + 7)
        targets = dict(
            (p, (f, r))
            for p, f, r in self.conn.execute(
                "SELECT priority, first_response_minutes, resolution_minutes FROM feedback_slatarget"
            ).fetchall()
        )

        def rows() -> Iterator[tuple[Any, ...]]:
            for tid in range(1, self.scale.tickets + 1):
                created = _day(rng, START, NOW - dt.timedelta(days=10))
                priority = rng.choice(PRIORITIES)
                first_t, res_t = targets.get(priority, (480, 2880))
                first_due = created + dt.timedelta(minutes=first_t)
                res_due = created + dt.timedelta(minutes=res_t)
                status = rng.choices(
                    ["new", "open", "pending_customer", "resolved", "closed"],
                    [1, 2, 1, 3, 6],
                )[0]
                done = status in ("resolved", "closed")
                first_at = (
                    created + dt.timedelta(minutes=rng.randrange(5, first_t * 2))
                    if status != "new"
                    else None
                )
                resolved = (
                    (first_at or created)
                    + dt.timedelta(minutes=rng.randrange(10, res_t))
                    if done
                    else None
                )
                closed = (
                    resolved + dt.timedelta(days=3)
                    if status == "closed" and resolved
                    else None
                )
                paused = (
                    created + dt.timedelta(hours=2)
                    if status == "pending_customer"
                    else None
                )
                due = None if done or paused else (res_due if first_at else first_due)
                yield (
                    tid, uuid.UUID(int=rng.getrandbits(128), version=4),
                    rng.choice(["Order not arrived", "환불 요청", "Login problem", "Points missing"]),
                    "Customer wrote in.", rng.choice(CHANNELS), priority, status, created,
                    resolved or first_at or created, first_at, resolved, closed, first_t, res_t,
                    first_due, res_due, due, paused, 0,
                    int((first_at - created).total_seconds() // 60) if first_at else None,
                    int((resolved - created).total_seconds() // 60) if resolved else None,
                    rng.choice(self.agents) if status != "new" else None,
                    rng.randrange(1, self.scale.contacts + 1), None,
                )  # fmt: skip

        cols = [
            "id", "public_id", "subject", "description", "channel", "priority", "status",
            "created_at", "updated_at", "first_response_at", "resolved_at", "closed_at",
            "first_response_target_minutes", "resolution_target_minutes",
            "first_response_due_at", "resolution_due_at", "sla_due_at", "paused_at",
            "sla_paused_minutes", "first_response_minutes", "resolution_minutes",
            "assignee_id", "contact_id", "created_by_id",
        ]  # fmt: skip
        self.counts["tickets"] = copy_rows(
            self.conn, "feedback_ticket", cols, rows(), total=self.scale.tickets
        )

    # --- the whole set --------------------------------------------------------------
    def run(self) -> dict[str, int]:
        self.staff()
        self.exchange_rates()
        self.companies()
        self.plan_purchases()
        self.contacts()
        self.consents()
        self.purchases()
        self.ledger()
        self.interactions()
        self.surveys()
        self.tickets()
        return self.counts


def _referral_code(number: int) -> str:
    from loyalty.services.ledger import CODE_ALPHABET

    digits = []
    while True:
        number, rest = divmod(number, len(CODE_ALPHABET))
        digits.append(CODE_ALPHABET[rest])
        if not number:
            break
    return "B" + "".join(reversed(digits)).rjust(9, "2")


DATA_TABLES = [
    "crm_contact",
    "crm_company",
    "crm_exchangerate",
    "crm_importjob",
    "feedback_survey",
]
# Tables whose identity sequences must move past the ids written by COPY.
SEQUENCED = [
    "crm_contact",
    "crm_company",
    "crm_exchangerate",
    "crm_consent",
    "crm_purchase",
    "crm_interaction",
    "loyalty_loyaltyaccount",
    "loyalty_pointsentry",
    "loyalty_lotuse",
    "feedback_invitation",
    "feedback_response",
    "feedback_answer",
    "feedback_ticket",
]
# What the measurements count and check; generate records each table's figure.
COUNTED = {
    "contacts": "crm_contact",
    "interactions": "crm_interaction",
    "purchases": "crm_purchase",
    "exchange_rates": "crm_exchangerate",
    "loyalty_accounts": "loyalty_loyaltyaccount",
    "survey_responses": "feedback_response",
    "tickets": "feedback_ticket",
}


def table_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts = {}
    for name, table in COUNTED.items():
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def _truncate(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute(f"DROP TABLE IF EXISTS {MARKER_TABLE}")
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")


def _finish(
    conn: psycopg.Connection[Any], scale: Scale, counts: dict[str, int]
) -> None:
    with conn.transaction():
        for table in SEQUENCED:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        conn.execute(
            f"CREATE TABLE {MARKER_TABLE} (id int PRIMARY KEY, scale text NOT NULL, "
            "counts jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            f"INSERT INTO {MARKER_TABLE} (id, scale, counts) VALUES (1, %s, %s)",
            [scale.name, json.dumps(counts)],
        )
    with progress("analyze", 1) as bar:
        conn.execute("ANALYZE")
        bar.advance(1)


def generate(scale: Scale, *, force: bool = False) -> dict[str, int]:
    """Make sure the database holds the data set of ``scale``; its recorded table counts."""
    ensure_database()
    manage("migrate", "--noinput", "-v", "0")
    setup_django()
    with connect(autocommit=True) as conn:
        marker = read_marker(conn)
        if marker and marker["scale"] == scale.name and not force:
            print(f"bench: reusing the {scale.name} data set", file=sys.stderr)
            return dict(marker["counts"])
        started = time.monotonic()
        _truncate(conn)
        counts = Generator(scale, conn).run()
        _finish(conn, scale, counts)
        print(
            f"bench: generated the {scale.name} data set in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
        return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="small")
    parser.add_argument(
        "--force", action="store_true", help="rebuild even at the same scale"
    )
    args = parser.parse_args(argv)
    counts = generate(scale_named(args.scale), force=args.force)
    print(json.dumps(counts, indent=2))


if __name__ == "__main__":
    main()
