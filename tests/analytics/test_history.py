"""Issue 7 follow-ups: tier distribution of past periods from the tier history, deleted,
merged and erased contacts, reactivated customers in the cohort matrix, and the owner filter.

Hand-computed fixtures; every number is worked out in the comments beside it.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics.metrics import Filters, live_inputs, metrics_for, rollup_inputs
from analytics.metrics.live import live_cohorts
from analytics.models import (
    ContactDay,
    CustomerPeriod,
    CustomerSpan,
    SegmentMember,
    TicketFact,
    TierDay,
)
from analytics.periods import Period
from analytics.selectors import cohorts
from analytics.services import rollups_rebuild, rollups_refresh
from crm.models import Contact, Segment
from crm.services.merge import contact_merge
from feedback.models import Survey
from loyalty.models import Tier, TierChange
from tests.analytics.factories import account, at, buy, customer, respond, ticket
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

ALL = Filters()


def month(year: int, number: int) -> Period:
    first = dt.date(year, number, 1)
    following = dt.date(year + number // 12, number % 12 + 1, 1)
    return Period(first, following - dt.timedelta(days=1))


def _csv(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- 1. Tier distribution of past periods ---------------------------------------------------


def _move(member, to_tier, when, reason=TierChange.Reason.UPGRADE):
    TierChange.objects.create(
        account=member,
        from_tier=member.tier,
        to_tier=to_tier,
        reason=reason,
        created_at=when,
    )
    member.tier = to_tier
    member.save()


def test_past_periods_show_the_tier_distribution_rebuilt_from_the_history(
    settings, agent
):
    settings.TIME_ZONE = "Asia/Seoul"
    Tier.objects.all().delete()
    bronze, gold = (
        Tier.objects.create(
            name_en=name, threshold=Decimal(threshold), multiplier=Decimal(1)
        )
        for name, threshold in (("Bronze", "0"), ("Gold", "1000"))
    )
    initial = TierChange.Reason.INITIAL
    a = account(ContactFactory(country="KR", owner=agent))
    _move(a, bronze, at("2025-01-10"), initial)  # A: Bronze from Jan 10
    _move(a, gold, at("2025-03-15"))  # … Gold from Mar 15
    b = account(ContactFactory(country="US"))
    _move(b, bronze, at("2025-02-20"), initial)  # B: Bronze from Feb 20
    _move(b, gold, at("2025-02-28", "23:59"))  # … Gold at the last minute of Feb
    _move(b, bronze, at("2025-03-01", "00:00"))  # … and back down at midnight
    account(ContactFactory())  # C: no history: in its tier from today only
    rollups_rebuild()

    def tiers(period, filters=ALL):
        (rolled,) = rollup_inputs([period], filters)
        live = live_inputs(period, filters, now=at("2026-01-01"))
        assert dict(rolled.tiers) == dict(live.tiers)
        return dict(rolled.tiers)

    assert tiers(month(2024, 12)) == {}  # nobody yet: "not enough data"
    assert (
        metrics_for(rollup_inputs([month(2024, 12)], ALL)[0], 31)[
            "tier_distribution"
        ].value
        is None
    )
    assert tiers(month(2025, 1)) == {bronze.pk: 1}  # A
    assert tiers(month(2025, 2)) == {bronze.pk: 1, gold.pk: 1}  # A Bronze, B Gold
    assert tiers(month(2025, 3)) == {bronze.pk: 1, gold.pk: 1}  # A Gold, B Bronze
    assert tiers(month(2025, 3), Filters(country="KR")) == {gold.pk: 1}
    assert tiers(month(2025, 3), Filters(owner_id=agent.pk)) == {gold.pk: 1}
    # A period that ends on Jan 9 has no member yet; one ending Jan 10 has A.
    assert tiers(Period(dt.date(2025, 1, 1), dt.date(2025, 1, 9))) == {}
    assert tiers(Period(dt.date(2025, 1, 1), dt.date(2025, 1, 10))) == {bronze.pk: 1}
    # Rows are moves per day, not a snapshot per day: B's two moves on Feb 28/Mar 1.
    assert TierDay.objects.filter(day="2025-02-28").count() == 2  # -Bronze, +Gold


def test_the_refresh_rebuilds_the_tier_history_with_back_dated_changes():
    tier = Tier.objects.order_by("threshold").first() or Tier.objects.create(
        name_en="Entry", threshold=Decimal(0), multiplier=Decimal(1)
    )
    rollups_rebuild()
    member = account(ContactFactory())
    _move(member, tier, at("2024-05-05"), TierChange.Reason.INITIAL)

    rollups_refresh()

    (rolled,) = rollup_inputs([month(2024, 5)], ALL)
    assert dict(rolled.tiers) == {tier.pk: 1}


# --- 2. Deleted, merged and erased contacts ------------------------------------------------


def _rows(contact_id):
    return {
        model.__name__: model.objects.filter(contact_id=contact_id).count()
        for model in (
            ContactDay,
            CustomerSpan,
            CustomerPeriod,
            TicketFact,
            SegmentMember,
        )
    }


def test_a_deleted_contact_leaves_the_rollups_at_the_next_refresh():
    # Purchases protect a contact from deletion: this one is a customer set by staff.
    gone = customer(since=at("2025-01-03"), country="KR")
    respond(gone, Survey.Kind.NPS, 10, at("2025-01-05"))
    ticket(gone, opened=at("2025-01-06"), first_response_minutes=5)
    Segment.objects.create(name="Koreans", filters={"country": ["KR"]})
    rollups_rebuild()
    assert all(_rows(gone.pk).values())
    contact_id = gone.pk

    gone.delete()
    rollups_refresh()

    assert not any(_rows(contact_id).values())
    (rolled,) = rollup_inputs([month(2025, 1)], ALL)
    assert (rolled.nps_promoters, rolled.customers_new, rolled.tickets) == (0, 0, 0)


def test_a_merge_drops_the_merged_contact_at_once_and_the_refresh_moves_its_numbers(
    manager,
):
    survivor, merged = ContactFactory(), ContactFactory()
    buy(survivor, "10.00", "USD", at("2025-01-05"))
    buy(merged, "30.00", "USD", at("2025-01-07"))
    respond(merged, Survey.Kind.NPS, 2, at("2025-01-08"))
    rollups_rebuild()

    contact_merge(survivor=survivor, merged=merged, actor=manager)

    # In the merge transaction: no row of the merged contact is left to be counted twice.
    assert not any(_rows(merged.pk).values())
    rollups_refresh()
    (rolled,) = rollup_inputs([month(2025, 1)], ALL)
    assert rolled == live_inputs(month(2025, 1), ALL, now=at("2026-01-01"))
    assert (rolled.orders, rolled.revenue, rolled.nps_detractors) == (
        2,
        Decimal("40.0000"),
        1,
    )
    assert rolled.customers_new == 1  # one customer now, since Jan 5
    days = ContactDay.objects.filter(contact_id=survivor.pk).values_list(
        "day", flat=True
    )
    assert {"2025-01-05", "2025-01-07", "2025-01-08"} <= {str(d) for d in days}


def test_erased_contacts_stay_in_the_numbers_but_show_no_name_or_email(client, manager):
    erased = customer(
        since=at("2024-01-01"),
        churned=at("2025-03-10"),
        given_name="Secret",
        family_name="Person",
        email="secret.person@test.example",
    )
    Contact.objects.filter(pk=erased.pk).update(
        given_name="", family_name="", email="", erased_at=at("2025-04-01")
    )
    customer(since=at("2024-01-01"), churned=at("2025-03-12"), given_name="Known")
    rollups_rebuild()
    client.force_login(manager)
    march = {"period": "custom", "start": "2025-03-01", "end": "2025-03-31"}

    (rolled,) = rollup_inputs([month(2025, 3)], ALL)
    assert rolled.customers_lost == 2  # the erased contact still counts, anonymously
    html = client.get(reverse("analytics:drilldown", args=["lost"]), march).content
    page = html.decode()
    assert "Erased contact" in page
    assert "Known" in page
    assert "Secret" not in page
    assert "secret.person" not in page
    rows = _csv(client.get(reverse("analytics:drilldown-csv", args=["lost"]), march))
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[str(erased.pk)][1:4] == ["Erased contact", "", ""]
    assert by_id[str(erased.pk)][0] == str(erased.pk)


# --- 3. Reactivated customers in the cohort matrix -----------------------------------------


def test_a_reactivated_customer_stays_in_their_first_cohort_and_counts_again(
    settings,
):
    """Churn window 30 days. Cohort January 2025 (3 customers):

    R buys Jan 5 (customer until Feb 4 by the window), is marked churned Feb 10, buys again
    Apr 3 (a new customer period: customer_since Apr 3, churn May 3).
    K buys Jan 20 once: churned Feb 19.
    L buys Jan 15, Feb 10, Mar 8, Apr 1, Apr 25: churned May 25.

    End of   Jan  Feb  Mar  Apr  May
    R        yes  no   no   yes  no
    K        yes  no   no   no   no
    L        yes  yes  yes  yes  no
    %        100  33.3 33.3 66.7 0
    April's cohort stays empty: R first became a customer in January.
    """
    settings.CHURN_WINDOW_DAYS = 30
    r, k, lasting = ContactFactory(), ContactFactory(), ContactFactory()
    buy(r, "10.00", "USD", at("2025-01-05"))
    Contact.objects.filter(pk=r.pk).update(churned_at=at("2025-02-10"))
    r.refresh_from_db()
    buy(r, "10.00", "USD", at("2025-04-03"))
    buy(k, "10.00", "USD", at("2025-01-20"))
    for day in ("2025-01-15", "2025-02-10", "2025-03-08", "2025-04-01", "2025-04-25"):
        buy(lasting, "10.00", "USD", at(day))
    r.refresh_from_db()
    assert r.customer_since == at("2025-04-03")  # crm keeps only the current period
    rollups_rebuild()
    may = month(2025, 5)

    matrix = cohorts(period=may, filters=ALL)

    assert matrix == live_cohorts(ALL, end=may.end)
    rows = {row.month: row for row in matrix}
    january = rows[dt.date(2025, 1, 1)]
    assert january.customers == 3
    assert january.cells[:5] == [
        Decimal("100.0"),
        Decimal("33.3"),
        Decimal("33.3"),
        Decimal("66.7"),
        Decimal("0.0"),
    ]
    assert january.cells[5] is None  # June is not known yet
    assert rows[dt.date(2025, 4, 1)].customers == 0
    # Retention (DESIGN §5) still uses the current customer_since: R is new in April.
    (april,) = rollup_inputs([month(2025, 4)], ALL)
    assert april.customers_new == 1


# --- 4. The owner filter -------------------------------------------------------------------


@pytest.fixture
def books(agent, manager):
    """March 2025: the agent's book loses one of two customers; the manager's loses none."""
    mine = customer(
        since=at("2024-01-01"), churned=at("2025-03-10"), owner=agent, given_name="A1"
    )
    customer(since=at("2024-01-01"), owner=agent, given_name="A2")
    customer(since=at("2024-01-01"), owner=manager, given_name="M1")
    customer(since=at("2024-01-01"), churned=at("2025-03-11"), given_name="Nobody")
    rollups_rebuild()
    return mine


MARCH = {"period": "custom", "start": "2025-03-01", "end": "2025-03-31"}


def test_the_owner_filter_narrows_metrics_drilldowns_and_exports(
    client, agent, manager, books
):
    client.force_login(agent)
    mine = {**MARCH, "owner": "me"}

    page = client.get(reverse("analytics:dashboard"), mine)
    assert page.context["data"].filters.owner_id == agent.pk
    churn = page.context["data"].metrics["churn_rate"]
    assert churn.value == Decimal("50.0")  # 1 lost of the agent's 2
    lost = client.get(reverse("analytics:drilldown", args=["lost"]), mine).content
    assert "A1" in lost.decode()
    assert "Nobody" not in lost.decode()
    rows = _csv(client.get(reverse("analytics:drilldown-csv", args=["lost"]), mine))
    assert [row[0] for row in rows[1:]] == [str(books.pk)]
    spans = _csv(client.get(reverse("analytics:export-csv", args=["customers"]), mine))
    assert len(spans) == 3  # header + the agent's two customers

    client.force_login(manager)
    theirs = {**MARCH, "owner": str(agent.pk)}
    assert client.get(reverse("analytics:dashboard"), theirs).context["data"].metrics[
        "churn_rate"
    ].value == Decimal("50.0")
    everyone = client.get(reverse("analytics:dashboard"), MARCH).context["data"]
    assert everyone.metrics["churn_rate"].value == Decimal("50.0")  # 2 of 4
    own = client.get(reverse("analytics:dashboard"), {**MARCH, "owner": "me"})
    assert own.context["data"].metrics["churn_rate"].value == Decimal("0.0")


def test_the_api_takes_owner_me_or_a_staff_id_and_refuses_anything_else(
    api_client, agent, manager, customer_a, books
):
    url = reverse("api:analytics-metrics")
    query = {"start": "2025-03-01", "end": "2025-03-31"}
    api_client.force_authenticate(agent)

    data = api_client.get(url, {**query, "owner": "me"}).json()
    assert data["filters"]["owner"] == agent.pk
    assert data["metrics"]["churn_rate"]["inputs"] == {"lost": 1, "S": 2}

    api_client.force_authenticate(manager)
    data = api_client.get(url, {**query, "owner": agent.pk}).json()
    assert data["metrics"]["churn_rate"]["inputs"] == {"lost": 1, "S": 2}
    for bad in ("someone", str(customer_a.pk)):
        response = api_client.get(url, {**query, "owner": bad})
        assert response.status_code == 400
        assert "owner" in response.json()
