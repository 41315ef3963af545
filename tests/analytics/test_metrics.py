"""Each formula against a hand-computed fixture (DESIGN §5), from the rollups and live alike.

The period is March 2025 in Asia/Seoul: moments from 2025-03-01 00:00 KST to 2025-04-01
00:00 KST. Every number in the assertions is worked out in the comments beside it.
"""

import datetime as dt
from decimal import Decimal

import pytest

from analytics.metrics import Filters, live_inputs, metrics_for, rollup_inputs
from analytics.periods import Period
from analytics.services import rollups_rebuild
from crm.models import OutboundMessage
from crm.services import purchase_refund
from feedback.models import Survey
from loyalty.models import PointsEntry
from tests.analytics.factories import (
    at,
    buy,
    customer,
    message,
    points,
    rate,
    respond,
    set_dates,
    ticket,
    unsubscribe,
)
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

MARCH = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
NOW = at("2025-06-01")


@pytest.fixture(autouse=True)
def _seoul(settings):
    settings.TIME_ZONE = "Asia/Seoul"
    settings.BASE_CURRENCY = "USD"
    settings.CHURN_WINDOW_DAYS = 365


ALL = Filters()


def both(period=MARCH, filters=ALL):
    """The period's metrics from the rollups, after checking live computation agrees."""
    rollups_rebuild(now=NOW)
    (rolled,) = rollup_inputs([period], filters)
    live = live_inputs(period, filters, now=NOW)
    rolled.tiers = live.tiers = []  # tiers are a snapshot of "now": tested elsewhere
    assert rolled == live
    return metrics_for(rolled, period.days)


def test_retention_and_churn_count_explicit_implicit_and_reactivated_customers():
    customer(since=at("2024-01-10"), last_purchase=at("2025-02-01"))  # A: S, E
    customer(since=at("2024-02-01"), churned=at("2025-03-15"))  # B: S, lost
    # C: churned_at empty but its last purchase + 365 days = 2025-03-10: S and lost.
    customer(since=at("2023-06-01"), last_purchase=at("2024-03-10"))
    # D: inactive since 2024-01-15, so gone on 2025-01-14, before the period: nowhere.
    customer(since=at("2023-01-01"), last_purchase=at("2024-01-15"))
    customer(since=at("2025-03-05"), last_purchase=at("2025-03-05"))  # E: N, E
    # F: churned in 2024, buys again on 2025-03-20: a new customer period (N, E).
    reactivated = customer(
        since=at("2023-01-01"), last_purchase=at("2023-05-01"), churned=at("2024-05-01")
    )
    buy(reactivated, "20.00", "USD", at("2025-03-20"))
    customer(since=at("2024-12-01"))  # G: staff-set customer with no purchase: S, E
    customer(since=None)  # a lead: nowhere

    metrics = both()

    # S = A, B, C, G = 4; E = A, E, F, G = 4; N = E, F = 2; lost = B, C = 2.
    retention = metrics["retention_rate"]
    assert retention.inputs == {"E": 4, "N": 2, "S": 4}
    assert retention.value == Decimal("50.0")  # (4 - 2) / 4 x 100
    assert retention.expression == "(4 - 2) / 4 \u00d7 100"
    churn = metrics["churn_rate"]
    assert churn.inputs == {"lost": 2, "S": 4}
    assert churn.value == Decimal("50.0")


def test_money_metrics_convert_currencies_with_dated_rates_and_net_refunds():
    rate("KRW", "2025-03-01", "0.00075")
    rate("KRW", "2025-03-10", "0.0008")
    rate("EUR", "2025-02-01", "1.10")
    a = ContactFactory()
    e = ContactFactory()
    f = ContactFactory()
    buy(a, "200.00", "USD", at("2025-02-28", "23:59"))  # February in Seoul: outside
    buy(a, "100.00", "USD", at("2025-03-02"))
    refunded = buy(a, "40.00", "USD", at("2025-03-03"))
    purchase_refund(purchase=refunded, amount="40.00", occurred_at=at("2025-03-04"))
    buy(a, "50.00", "USD", at("2025-03-25"))
    buy(e, "10000", "KRW", at("2025-03-05"))  # x 0.00075 = 7.50
    euro = buy(e, "30.00", "EUR", at("2025-03-06"))  # x 1.10 = 33.00
    purchase_refund(
        purchase=euro, amount="10.00", occurred_at=at("2025-03-07")
    )  # -11.00
    buy(f, "20000", "KRW", at("2025-03-20"))  # the 03-10 rate: x 0.0008 = 16.00
    buy(f, "5.00", "USD", at("2025-04-01", "00:00"))  # April in Seoul: outside
    # Customers for the lifespan: S = 4 at the start, 2 of them lost in March.
    for since, churned in (
        ("2024-01-01", None),
        ("2024-01-01", None),
        ("2024-01-01", "2025-03-12"),
        ("2024-01-01", "2025-03-13"),
    ):
        customer(since=at(since), churned=at(churned) if churned else None)
    for contact in (
        a,
        e,
        f,
    ):  # keep the buyers out of S: they became customers in March
        set_dates(contact, since=at("2025-03-02"), last_purchase=at("2025-03-25"))

    metrics = both()

    # 100 + 50 + 7.50 + (33.00 - 11.00) + 16.00; the fully refunded order is no order.
    assert metrics["revenue"].value == Decimal("195.50")
    assert metrics["revenue"].inputs["orders"] == 5
    assert metrics["average_order_value"].value == Decimal("39.10")  # 195.50 / 5
    # Buyers a, e, f; a and e ordered twice.
    assert metrics["repeat_purchase_rate"].inputs == {"repeat_buyers": 2, "buyers": 3}
    assert metrics["repeat_purchase_rate"].value == Decimal("66.7")
    # CLTV = 39.10 x (5 / 3 x 365 / 31) x 1 / (2 / 4 x 365 / 31) = 39.10 x 5/3 x 2
    assert metrics["cltv"].value == Decimal("130.33")


def test_nps_csat_and_ces_count_only_responses_inside_the_period():
    contact = ContactFactory()
    for score in (10, 9, 7, 3, 0):
        respond(contact, Survey.Kind.NPS, score, at("2025-03-10"))
    respond(contact, Survey.Kind.NPS, 10, at("2025-02-28", "23:59"))  # before
    respond(contact, Survey.Kind.NPS, 0, at("2025-04-01", "00:00"))  # after
    for score in (5, 4, 2):
        respond(contact, Survey.Kind.CSAT, score, at("2025-03-01", "00:00"))
    for score in (3, 6):
        respond(contact, Survey.Kind.CES, score, at("2025-03-31", "23:59"))

    metrics = both()

    nps = metrics["nps"]
    assert nps.inputs == {
        "promoters": 2,
        "passives": 1,
        "detractors": 2,
        "responses": 5,
    }
    assert nps.value == Decimal("0.0")  # (2 - 2) / 5 x 100
    assert metrics["csat"].value == Decimal("66.7")  # 2 / 3 x 100
    assert metrics["ces"].value == Decimal("4.50")  # (3 + 6) / 2


def test_support_loyalty_and_outreach_numbers():
    contact, other = ContactFactory(), ContactFactory()
    ticket(
        contact,
        opened=at("2025-03-02"),
        first_response_minutes=30,
        resolution_minutes=120,
    )
    ticket(contact, opened=at("2025-03-03"), first_response_minutes=90, breached=True)
    ticket(contact, opened=at("2025-03-04"))  # unanswered, deadline far away
    ticket(contact, opened=at("2025-02-10"), first_response_minutes=5)  # outside
    kind = PointsEntry.Kind
    points(other, kind.EARN, 200, at("2025-02-10"))  # before: outstanding only
    points(contact, kind.EARN, 100, at("2025-03-02"))
    points(contact, kind.BONUS, 50, at("2025-03-03"))
    points(contact, kind.REDEEM, -30, at("2025-03-04"))
    points(contact, kind.EXPIRE, -20, at("2025-03-05"))
    points(contact, kind.ADJUST, -10, at("2025-03-06"))
    points(contact, kind.EARN, 999, at("2025-04-02"))  # after
    status = OutboundMessage.Status
    message(contact, status.SENT, at("2025-03-02"))
    message(other, status.SENT, at("2025-03-09"))
    message(contact, status.FAILED, at("2025-03-03"))
    message(contact, status.PLANNED, at("2025-03-04"))
    message(contact, status.SENT, at("2025-04-03"))
    unsubscribe(other, at("2025-03-20"))

    metrics = both()

    assert metrics["tickets"].value == 3
    assert metrics["first_response_time"].value == Decimal("60.0")  # median of 30, 90
    assert metrics["resolution_time"].value == Decimal("120.0")
    assert metrics["sla_breach_rate"].value == Decimal("33.3")  # 1 / 3 x 100
    assert metrics["points_issued"].value == 140  # 100 + 50 - 10 (adjustments count)
    assert metrics["points_redeemed"].value == 30
    assert metrics["points_expired"].value == 20
    assert metrics["points_outstanding"].value == 290  # 200 + 100 + 50 - 30 - 20 - 10
    assert metrics["active_members"].value == 1
    assert metrics["outreach_sent"].value == 2
    assert metrics["outreach_failed"].value == 1
    assert metrics["outreach_unsubscribed"].value == 1


def test_a_zero_denominator_is_not_available_never_zero():
    metrics = both()

    for key in (
        "retention_rate",
        "churn_rate",
        "repeat_purchase_rate",
        "nps",
        "csat",
        "ces",
        "average_order_value",
        "cltv",
        "first_response_time",
        "resolution_time",
        "sla_breach_rate",
    ):
        assert metrics[key].value is None, key
        assert metrics[key].as_api()["value"] is None
    assert metrics["revenue"].value == Decimal("0.00")  # a true zero: nothing was sold
    assert metrics["tickets"].value == 0


def test_no_churn_means_no_lifespan_so_cltv_is_not_available():
    buyer = ContactFactory()
    buy(buyer, "10.00", "USD", at("2025-03-02"))
    customer(since=at("2024-01-01"))

    metrics = both()

    assert metrics["churn_rate"].value == Decimal("0.0")  # 0 / 1: a real zero
    assert metrics["cltv"].value is None  # lifespan 1 / 0


def test_filters_narrow_to_a_country_and_language():
    kr = customer(since=at("2024-01-01"), country="KR", language="ko")
    customer(since=at("2024-01-01"), country="US", language="en")
    respond(kr, Survey.Kind.NPS, 10, at("2025-03-10"))

    metrics = both(filters=Filters(country="KR"))

    assert metrics["retention_rate"].inputs["S"] == 1
    assert metrics["nps"].value == Decimal("100.0")
    metrics = both(filters=Filters(language="en"))
    assert metrics["nps"].value is None


def test_previous_equal_period_and_change():
    customer(since=at("2024-01-01"))
    customer(since=at("2024-01-01"), churned=at("2025-02-10"))
    rollups_rebuild(now=NOW)

    current, previous = rollup_inputs([MARCH, MARCH.previous()], Filters())
    metrics = metrics_for(current, MARCH.days, previous)

    assert MARCH.previous() == Period(dt.date(2025, 1, 29), dt.date(2025, 2, 28))
    churn = metrics["churn_rate"]
    assert churn.value == Decimal("0.0")
    assert churn.previous == Decimal("50.0")
    assert churn.change == Decimal("-50.0")


def test_tier_distribution_is_todays_snapshot_with_tier_names(manager):
    from analytics.periods import preset_period
    from analytics.selectors import period_metrics
    from loyalty.models import Tier
    from tests.analytics.factories import account

    Tier.objects.all().delete()  # the programme's default tiers, if migrated
    tiers = [
        Tier.objects.create(
            name_en=name, threshold=Decimal(threshold), multiplier=Decimal(1)
        )
        for name, threshold in (("Bronze", "0"), ("Gold", "1000"))
    ]
    for tier, count in ((tiers[0], 2), (tiers[1], 1)):
        for _ in range(count):
            member = account(ContactFactory())
            member.tier = tier
            member.save()
    rollups_rebuild()
    today = preset_period("this_month")

    (rolled,) = rollup_inputs([today], ALL)

    assert sorted(rolled.tiers) == sorted(live_inputs(today, ALL, now=NOW).tiers)
    metric = period_metrics(user=manager, period=today, filters=ALL)[
        "tier_distribution"
    ]
    assert metric.value == 3
    assert dict(metric.details) == {str(tiers[0].name): 2, str(tiers[1].name): 1}
    # Before the first snapshot there is no distribution to show: not enough data.
    assert (
        metrics_for(rollup_inputs([MARCH], ALL)[0], 31)["tier_distribution"].value
        is None
    )
